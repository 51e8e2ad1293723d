"""The row-level scope of leads: the foundation's rule on the lead's responsible; a lead
nobody has yet is seen by the administrator and the heads of the team it was routed to; a
lead shared with someone (the colleague an overdue task on it escalated to) by them too."""

from __future__ import annotations

from typing import TYPE_CHECKING, Self

from django.db import models

from crm.core.permissions import ScopedUser, owner_scope, sees_everything

if TYPE_CHECKING:
    from crm.leads.models import Lead  # noqa: F401


class LeadQuerySet(models.QuerySet["Lead"]):
    def visible_to(self, user: ScopedUser) -> Self:
        if not user.is_active:
            return self.none()
        if sees_everything(user):
            return self.all()
        scope = owner_scope(user, shared_field=None)
        unassigned = models.Q(owner__isnull=True, team__heads=user.pk)
        # A subquery, so a lead shared with several users is not repeated.
        shared_ids = self.model.shared_with.through.objects.filter(user_id=user.pk).values(
            "lead_id"
        )
        return self.filter(scope | unassigned | models.Q(pk__in=shared_ids))

    def open(self) -> Self:
        return self.filter(status__in=["new", "in_progress", "qualified"])
