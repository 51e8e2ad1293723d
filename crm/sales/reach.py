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
time (bench/RESULTS.md).
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


def period_visits(
    deals: QuerySet[Deal], *, pipeline_id: int, start_at: dt.datetime, end_at: dt.datetime
) -> QuerySet[StageVisit]:
    """The visits of the pipeline's stages entered in ``[start_at, end_at)`` by ``deals``
    (already scoped): a deal is counted exactly when it has one of them."""
    return StageVisit.objects.filter(
        stage__pipeline_id=pipeline_id,
        entered_at__gte=start_at,
        entered_at__lt=end_at,
        deal__in=deals.filter(pipeline_id=pipeline_id).values("pk"),
    ).order_by()


def reach_per_deal(visits: QuerySet[StageVisit], **values: Any) -> QuerySet[Any]:
    """One row per deal of ``visits`` (``period_visits``) with its ``reach``, ``won`` and
    ``lost``, and the ``values`` asked for (expressions on the visit, e.g. the deal's
    currency)."""
    sitting = Q(left_at__isnull=True)
    return visits.values("deal_id", **values).annotate(
        reach=Coalesce(Max("stage__position", filter=Q(stage__kind=StageKind.OPEN)), NO_REACH),
        won=Max(Case(When(sitting & Q(stage__kind=StageKind.WON), then=1), default=0)),
        lost=Max(Case(When(sitting & Q(stage__kind=StageKind.LOST), then=1), default=0)),
    )


def reached(position: int) -> Q:
    """Of the rows ``reach_per_deal`` gives: the deals that reached the open stage at
    ``position``."""
    return Q(won=1) | Q(reach__gte=position)


def lost_at(position: int) -> Q:
    """Of the rows ``reach_per_deal`` gives: the lost deals whose furthest open stage is the
    one at ``position``."""
    return Q(lost=1, won=0, reach=position)
