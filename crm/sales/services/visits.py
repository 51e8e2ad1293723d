"""A deal's stage visits: the row each move writes, and the columns that repeat what the deal
and its other visits say (``StageVisit.owner``, ``decided_at``, ``won_at``,
``prior_entered_at``).

Those columns are derived, never typed: ``visits_settle`` recomputes them for whole deals
from the deals' owners and the visits themselves in one ``UPDATE``, so a writer cannot
leave them half right. Every writer calls it inside the transaction that holds the deal's
row lock (``deal_get(for_update=True)``, or a deal it has just made): after every move (the
new visit's earlier entry into its stage; the earlier visits decided by a won or lost one),
after the deal changes hands (every visit takes the new owner) and after a stage's visits
move to another stage (``stage_delete``). A concurrent move of the same deal waits for the lock, so it
writes its visit with the owner the change committed, and a change waiting for a move's
lock settles the visit the move wrote.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from django.db.models import Max, Min, OuterRef, Subquery

from crm.accounts.models import User
from crm.sales.choices import StageKind
from crm.sales.models import Deal, Stage, StageVisit

CHUNK = 500


def visit_begin(*, deal: Deal, stage: Stage, actor: User, now: dt.datetime) -> StageVisit:
    """The visit of ``deal`` to ``stage`` beginning ``now`` (the deal is locked), with the
    deal's owner; a move settles the deal's visits after it (``visits_settle``), a deal's
    first visit has nothing to settle."""
    return StageVisit.objects.create(
        deal=deal, stage=stage, entered_at=now, entered_by=actor, owner_id=deal.owner_id
    )


def _next_entry(kinds: Iterable[str]) -> Subquery:
    """The moment the visit's deal next entered a stage of ``kinds`` after the visit began."""
    return Subquery(
        StageVisit.objects.filter(
            deal_id=OuterRef("deal_id"),
            entered_at__gt=OuterRef("entered_at"),
            stage__kind__in=list(kinds),
        )
        .order_by()
        .values("deal_id")
        .annotate(first=Min("entered_at"))
        .values("first")[:1]
    )


def _prior_entry() -> Subquery:
    """The moment the visit's deal last entered the visit's stage before the visit began."""
    return Subquery(
        StageVisit.objects.filter(
            deal_id=OuterRef("deal_id"),
            stage_id=OuterRef("stage_id"),
            entered_at__lt=OuterRef("entered_at"),
        )
        .order_by()
        .values("deal_id")
        .annotate(last=Max("entered_at"))
        .values("last")[:1]
    )


def visits_settle(deal_ids: Iterable[int]) -> int:
    """Recompute the owner, ``decided_at``, ``won_at`` and ``prior_entered_at`` of every
    visit of ``deal_ids`` (see the module's docstring); one query per ``CHUNK`` deals.
    Returns the number of visits written."""
    ids, written = sorted(set(deal_ids)), 0
    for start in range(0, len(ids), CHUNK):  # one query for a move; chunks for a stage's
        written += StageVisit.objects.filter(deal_id__in=ids[start : start + CHUNK]).update(
            owner_id=Subquery(Deal.objects.filter(pk=OuterRef("deal_id")).values("owner_id")[:1]),
            decided_at=_next_entry([StageKind.WON, StageKind.LOST]),
            won_at=_next_entry([StageKind.WON]),
            prior_entered_at=_prior_entry(),
        )
    return written
