"""The row-level scope of deals: the foundation's rule, applied to the deal's owner."""

from __future__ import annotations

from typing import TYPE_CHECKING, Self

from django.db import models

from crm.core.permissions import ScopedUser, owner_scope

if TYPE_CHECKING:
    from crm.sales.models import Deal  # noqa: F401


class DealQuerySet(models.QuerySet["Deal"]):
    def visible_to(self, user: ScopedUser) -> Self:
        """Deals ``user`` may see: owned within their scope or shared with them.

        The shared-with test is a subquery so a deal shared with several users is not
        repeated.
        """
        scope = owner_scope(user, shared_field=None)
        if scope == models.Q():
            return self.all()
        shared_ids = self.model.shared_with.through.objects.filter(user_id=user.pk).values(
            "deal_id"
        )
        return self.filter(scope | models.Q(pk__in=shared_ids))

    def open(self) -> Self:
        return self.filter(status="open")
