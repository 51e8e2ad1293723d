"""Named filters and the row-level scope of contacts and companies."""

from __future__ import annotations

from typing import TYPE_CHECKING, Self, TypeVar

from django.db import models

from crm.core.permissions import ScopedUser, owner_scope

if TYPE_CHECKING:
    from crm.customers.models import Company, Contact

CustomerT = TypeVar("CustomerT", "Contact", "Company")


class CustomerQuerySet(models.QuerySet[CustomerT]):
    """Shared by ``Contact`` and ``Company``: live rows and what a user may see."""

    def live(self) -> Self:
        """Rows not merged into another record."""
        return self.filter(merged_into__isnull=True)

    def visible_to(self, user: ScopedUser) -> Self:
        """Live rows ``user`` may see: owned within their scope or shared with them.

        The shared-with test is a subquery so a row shared with several users is not
        repeated.
        """
        scope = owner_scope(user, shared_field=None)
        qs = self.live()
        if scope == models.Q():
            return qs
        through = self.model.shared_with.through
        own_field = f"{self.model._meta.model_name}_id"
        shared_ids = through.objects.filter(user_id=user.pk).values(own_field)
        return qs.filter(scope | models.Q(pk__in=shared_ids))

    def owned_by(self, user_id: int) -> Self:
        return self.filter(owner_id=user_id)
