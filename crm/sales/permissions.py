"""The access policies of sales: deals follow the owner rule; pipelines, stages, lost
reasons, the seller's details and document templates are the administrator's."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from crm.core.policies import AdminOnlyPolicy, OwnedRecordPolicy
from crm.planner.permissions import covered_owner_ids

DEAL = OwnedRecordPolicy(
    cover=covered_owner_ids,
    role_denied=_("Your role may not change deals."),
    record_denied=_("You may not change this deal."),
)
"""Deals: owner, the heads of the owner's teams, administrators, the owner's substitute
while they are away, and the users a deal is shared with."""

PIPELINES = AdminOnlyPolicy(_("Only an administrator may configure pipelines."))
"""Writes to pipelines, stages, stage actions and lost reasons."""

SALES_SETTINGS = AdminOnlyPolicy(_("Only an administrator may configure sales."))
"""The sales settings pages (pipelines, stages, lost reasons, the seller's details)."""

DOCUMENT_TEMPLATES = AdminOnlyPolicy(_("Only an administrator may manage document templates."))
"""The templates of invoices, contracts and acts."""
