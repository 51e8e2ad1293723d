"""The row-level scope of leads: the foundation's rule on the lead's responsible; a lead
nobody has yet is seen by the administrator and the heads of the team it was routed to; a
lead shared with someone (the colleague an overdue task on it escalated to) by them too."""

from __future__ import annotations

from typing import TYPE_CHECKING, Self

from django.db import models

from crm.core.permissions import ScopedUser
from crm.leads.permissions import LEAD

if TYPE_CHECKING:
    from crm.leads.models import Lead  # noqa: F401


class LeadQuerySet(models.QuerySet["Lead"]):
    def visible_to(self, user: ScopedUser) -> Self:
        """Leads ``user`` may see (the lead policy)."""
        return LEAD.restrict(self, user)

    def visible_to_resolved(self, user: ScopedUser) -> Self:
        """The same rows as ``visible_to``, with the shared ids read first (for reports:
        ``OwnedRecordPolicy.restrict_resolved``)."""
        return LEAD.restrict_resolved(self, user)

    def visible_parts(self, user: ScopedUser) -> list[Self]:
        """The same rows as ``visible_to`` as disjoint parts (the owners', the unassigned of
        the teams the user heads, the shared: ``OwnedRecordPolicy.restrict_resolved_parts``)."""
        return LEAD.restrict_resolved_parts(self, user)

    def open(self) -> Self:
        return self.filter(status__in=["new", "in_progress", "qualified"])
