"""The row-level scope of leads: the foundation's rule on the lead's responsible; a lead
nobody has yet is seen by the administrator and the heads of the team it was routed to."""

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
        return self.filter(scope | unassigned)

    def open(self) -> Self:
        return self.filter(status__in=["new", "in_progress", "qualified"])
