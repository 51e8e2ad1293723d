"""The row-level scope of deals: the foundation's rule, applied to the deal's owner, and
to their stage visits through the visit's copy of it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Self

from django.db import models
from django.db.models import Q

from crm.core.permissions import ScopedUser
from crm.sales.permissions import DEAL

if TYPE_CHECKING:
    from crm.sales.models import Deal, StageVisit  # noqa: F401


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


class StageVisitQuerySet(models.QuerySet["StageVisit"]):
    def visible_to_resolved(self, user: ScopedUser) -> Self:
        """The visits of the deals ``user`` may see, by the visit's copy of the deal's
        owner (``OwnedRecordPolicy.resolved_owner_condition``): read from an index that
        starts with the owner, with no join to the deals."""
        return self.filter(visit_scope(user))


def visit_scope(user: ScopedUser, prefix: str = "") -> Q:
    """The condition on a visit (reached by ``prefix``: ``"visits__"`` from the deals) that
    it belongs to a deal ``user`` may see; exact, since the visit's owner is its deal's."""
    from crm.sales.models import Deal  # the models import this module

    condition = DEAL.resolved_owner_condition(Deal, user, record="deal_id", prefix=prefix)
    assert condition is not None, "the deal policy reads the owner and the sharing alone"
    return condition
