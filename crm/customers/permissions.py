"""The access policies of the customer base: contacts and companies follow the owner rule;
custom fields are the administrator's."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from crm.core.policies import AdminOnlyPolicy, OwnedRecordPolicy
from crm.planner.permissions import covered_owner_ids

CUSTOMER = OwnedRecordPolicy(cover=covered_owner_ids)
"""Contacts and companies: owner, the heads of the owner's teams, administrators, the
owner's substitute while they are away, and the users a record is shared with."""

CUSTOM_FIELDS = AdminOnlyPolicy(_("Only an administrator may manage custom fields."))
"""The definitions of custom fields."""
