"""Named filters and the row-level scope of contacts and companies."""

from __future__ import annotations

from typing import TYPE_CHECKING, Self, TypeVar

from django.db import models

from crm.core.permissions import ScopedUser
from crm.customers.permissions import CUSTOMER

if TYPE_CHECKING:
    from crm.customers.models import Company, Contact

CustomerT = TypeVar("CustomerT", "Contact", "Company")


class CustomerQuerySet(models.QuerySet[CustomerT]):
    """Shared by ``Contact`` and ``Company``: live rows and what a user may see."""

    def live(self) -> Self:
        """Rows not merged into another record."""
        return self.filter(merged_into__isnull=True)

    def visible_to(self, user: ScopedUser) -> Self:
        """Live rows ``user`` may see (the customer policy: owner rule and sharing)."""
        return CUSTOMER.restrict(self.live(), user)

    def visible_to_resolved(self, user: ScopedUser) -> Self:
        """The same rows as ``visible_to``, with the shared ids read first (for reports:
        ``OwnedRecordPolicy.restrict_resolved``)."""
        return CUSTOMER.restrict_resolved(self.live(), user)

    def owned_by(self, user_id: int) -> Self:
        return self.filter(owner_id=user_id)
