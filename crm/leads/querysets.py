"""The row-level scope of leads: the foundation's rule on the lead's responsible; a lead
nobody has yet is seen by the administrator and the heads of the team it was routed to."""

from __future__ import annotations

from typing import Any

from django.db import models

from crm.core.permissions import ScopedUser, owner_scope, sees_everything


class LeadQuerySet(models.QuerySet[Any]):
    def visible_to(self, user: ScopedUser) -> LeadQuerySet:
        if not user.is_active:
            return self.none()
        if sees_everything(user):
            return self.all()
        scope = owner_scope(user, shared_field=None)
        unassigned = models.Q(owner__isnull=True, team__heads=user.pk)
        return self.filter(scope | unassigned)

    def open(self) -> LeadQuerySet:
        return self.filter(status__in=["new", "in_progress", "qualified"])
