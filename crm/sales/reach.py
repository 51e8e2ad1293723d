"""How far deals got through a pipeline in a period, from their stage visits: the one
definition the funnel report counts with and the deal list filters by, so a funnel's figure
and the list behind it are the same SQL.

- The deals counted are those of the pipeline that entered any of its stages in the period
  (``start_at <= entered_at < end_at``).
- A deal's *reach* is the furthest open stage (by position) it entered in the period
  (``NO_REACH`` when it entered only closing stages); a deal *sitting* in a won stage it
  entered in the period reached every open stage.
- ``won`` and ``lost`` (1 or 0): the deal sits (its stay has not ended) in a won or lost
  stage it entered in the period; a reopened deal left its closing stage and is open again.
- *Reached* a stage: the deal's reach is that stage's position or further, or it is won; so
  a deal that skipped a stage still passed it, and one that moved back counts once.
- *Lost here*: a lost deal whose reach is that stage.

Each deal's row is computed from its own visits with one ``GROUP BY deal`` (no correlated
subquery per deal): at 1,000,000 deals the per-deal subqueries were most of the funnel's
time (bench/RESULTS.md). The period's deals are found from the deals' side first
(``period_deals``), so a head of sales' funnel reads the visits of their own few deals of
the period, not every deal's visit of the period.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import Case, Max, Q, QuerySet, When
from django.db.models.functions import Coalesce

from crm.sales.choices import StageKind
from crm.sales.models import Deal, StageVisit

NO_REACH = -1
WON_REACH = 2**15
CLOCK_MARGIN = dt.timedelta(days=1)
"""How far a server's clock may have stepped back between two moves of a deal (see
``period_deals``)."""


def period_deals(
    deals: QuerySet[Deal], *, pipeline_id: int, start_at: dt.datetime, end_at: dt.datetime
) -> QuerySet[Deal]:
    """Of ``deals``, those of the pipeline that may have entered one of its stages in
    ``[start_at, end_at)``: every deal that did, and a few more the visits then leave out.

    The two conditions are implied, not rules of the report: a deal's services
    (``deal_create`` and every move, reopening included) write the visit and the deal's
    ``stage_entered_at`` with the same moment under the deal's lock, the first visit at the
    deal's creation, and moving a stage's deals away (``stage_delete``) changes neither; so
    no visit of a deal begins after its ``stage_entered_at`` or before its ``created_at``,
    and a deal with a visit in the period has ``stage_entered_at >= start_at`` and
    ``created_at < end_at`` (``test_funnel_invariant`` checks every writer).
    ``CLOCK_MARGIN`` keeps it true if a clock stepped back between two writes. With them,
    the database reaches a period's deals through an index that starts with the owner and
    the pipeline (``deal_owner_pipeline_entered``, carrying ``created_at``) instead of
    reading every deal's visit of the period; the upper bound leaves out the deals made
    since the period ended (the period before a report's: a third to a half of those that
    moved since it began)."""
    return deals.filter(
        pipeline_id=pipeline_id,
        stage_entered_at__gte=start_at - CLOCK_MARGIN,
        created_at__lt=end_at + CLOCK_MARGIN,
    )


def period_visits(
    deals: QuerySet[Deal], *, pipeline_id: int, start_at: dt.datetime, end_at: dt.datetime
) -> QuerySet[StageVisit]:
    """The visits of the pipeline's stages entered in ``[start_at, end_at)`` by ``deals``
    (already scoped): a deal is counted exactly when it has one of them."""
    candidates = period_deals(deals, pipeline_id=pipeline_id, start_at=start_at, end_at=end_at)
    return StageVisit.objects.filter(
        stage__pipeline_id=pipeline_id,
        entered_at__gte=start_at,
        entered_at__lt=end_at,
        deal__in=candidates.values("pk"),
    ).order_by()


def deals_with_period_visits(
    deals: QuerySet[Deal],
    *,
    pipeline_id: int,
    start_at: dt.datetime,
    end_at: dt.datetime,
    visits: Q | None = None,
) -> QuerySet[Deal]:
    """``deals`` (already scoped, not multiplied by a join) joined to their visits of
    ``period_visits``: one row per visit, the deal's columns and the visit's
    (``visits__…``, the same join in later ``values`` and ``annotate``) side by side, so a
    report reads each deal once from the deals' side.

    ``visits`` is the same scope as ``deals``' written on the visits (``visit_scope`` with
    the ``visits__`` prefix): it changes no row, and lets the database read the period's
    visits from the index that starts with the visit's copy of the owner, and hash them
    with the deals, instead of probing each deal's visits."""
    candidates = period_deals(deals, pipeline_id=pipeline_id, start_at=start_at, end_at=end_at)
    return candidates.filter(
        visits or Q(),
        visits__stage__pipeline_id=pipeline_id,
        visits__entered_at__gte=start_at,
        visits__entered_at__lt=end_at,
    ).order_by()


def _reach(visit: str) -> dict[str, Any]:
    """The ``reach``, ``won`` and ``lost`` of a deal as aggregates over its visits (the
    ``visit`` prefix: ``""`` from the visits, ``"visits__"`` from the deals)."""
    sitting = Q(**{f"{visit}left_at__isnull": True})
    kind = f"{visit}stage__kind"
    return {
        "reach": Coalesce(
            Max(f"{visit}stage__position", filter=Q(**{kind: StageKind.OPEN})), NO_REACH
        ),
        "won": Max(Case(When(sitting & Q(**{kind: StageKind.WON}), then=1), default=0)),
        "lost": Max(Case(When(sitting & Q(**{kind: StageKind.LOST}), then=1), default=0)),
    }


def reach_per_deal(visits: QuerySet[StageVisit], **values: Any) -> QuerySet[Any]:
    """One row per deal of ``visits`` (``period_visits``) with its ``reach``, ``won`` and
    ``lost``, and the ``values`` asked for (expressions on the visit)."""
    return visits.values("deal_id", **values).annotate(**_reach(""))


def deal_reach(deals: QuerySet[Deal], *fields: str, **values: Any) -> QuerySet[Any]:
    """One row per deal of ``deals`` (``deals_with_period_visits``) with its ``pk``,
    ``reach``, ``won`` and ``lost`` (the same as ``reach_per_deal``), its ``fields`` and the
    ``values`` asked for (expressions on the deal)."""
    rows: QuerySet[Any] = deals.values("pk", *fields, **values).annotate(**_reach("visits__"))
    return rows


def reached(position: int) -> Q:
    """Of the rows ``reach_per_deal`` or ``deal_reach`` gives: the deals that reached the
    open stage at ``position``."""
    return Q(won=1) | Q(reach__gte=position)


def lost_at(position: int) -> Q:
    """Of the rows ``reach_per_deal`` or ``deal_reach`` gives: the lost deals whose
    furthest open stage is the one at ``position``."""
    return Q(lost=1, won=0, reach=position)
