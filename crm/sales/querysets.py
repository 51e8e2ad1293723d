"""The row-level scope of deals: the foundation's rule, applied to the deal's owner."""

from __future__ import annotations

from typing import TYPE_CHECKING, Self

from django.db import models

from crm.core.permissions import ScopedUser
from crm.sales.permissions import DEAL

if TYPE_CHECKING:
    from crm.sales.models import Deal  # noqa: F401


class DealQuerySet(models.QuerySet["Deal"]):
    def visible_to(self, user: ScopedUser) -> Self:
        """Deals ``user`` may see (the deal policy: owner rule and sharing)."""
        return DEAL.restrict(self, user)

    def visible_to_resolved(self, user: ScopedUser) -> Self:
        """The same rows as ``visible_to``, with the shared ids read first (for reports:
        ``OwnedRecordPolicy.restrict_resolved``)."""
        return DEAL.restrict_resolved(self, user)

    def open(self) -> Self:
        return self.filter(status="open")
