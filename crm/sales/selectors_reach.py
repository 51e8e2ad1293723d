"""How far deals got through a pipeline in a period, from their stage visits: the one
definition the funnel report counts with and the deal list filters by, so a funnel's figure
and the list behind it are the same SQL.

- The deals counted are those of the pipeline that entered any of its stages in the period
  (``start_at <= entered_at < end_at``).
- A deal's *reach* is the furthest open stage (by position) it entered in the period
  (``NO_REACH`` when it entered only closing stages); a deal *sitting* in a won stage it
  entered in the period reached every open stage.
- ``won`` and ``lost``: the deal sits (its stay has not ended) in a won or lost stage it
  entered in the period; a reopened deal left its closing stage and is open again.
- *Reached* a stage: the deal's reach is that stage's position or further, or it is won; so
  a deal that skipped a stage still passed it, and one that moved back counts once.
- *Lost here*: a lost deal whose reach is that stage.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import Exists, Max, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce

from crm.sales.choices import StageKind
from crm.sales.models import Deal, StageVisit

NO_REACH = -1
WON_REACH = 2**15


def deals_reach(
    deals: QuerySet[Deal], *, pipeline_id: int, start_at: dt.datetime, end_at: dt.datetime
) -> tuple[Any, QuerySet[StageVisit]]:
    """The deals of ``deals`` (already scoped) of the pipeline that entered one of its stages
    in ``[start_at, end_at)``, annotated with ``won``, ``lost`` and ``reach`` (typed ``Any``:
    the annotations are unknown to the type checker), and their visits in that time."""
    visits = StageVisit.objects.filter(
        stage__pipeline_id=pipeline_id, entered_at__gte=start_at, entered_at__lt=end_at
    )
    own_visits = visits.filter(deal=OuterRef("pk"))
    reach = (
        own_visits.filter(stage__kind=StageKind.OPEN)
        .order_by()
        .values("deal")
        .annotate(furthest=Max("stage__position"))
        .values("furthest")
    )
    sitting = own_visits.filter(left_at__isnull=True)
    # ``pk IN (the period's visits)`` rather than a correlated ``EXISTS`` per deal of the
    # pipeline: the database reads the period's visits from ``visit_stage_entered`` instead
    # of probing every deal the pipeline ever had (same set of deals).
    counted = (
        deals.filter(pipeline_id=pipeline_id, pk__in=visits.values("deal_id"))
        .annotate(
            won=Exists(sitting.filter(stage__kind=StageKind.WON)),
            lost=Exists(sitting.filter(stage__kind=StageKind.LOST)),
            reach=Coalesce(Subquery(reach), NO_REACH),
        )
        .order_by()
    )
    return counted, visits.filter(deal__in=counted.values("pk"))


def reached(position: int) -> Q:
    """Of the deals ``deals_reach`` gives: those that reached the open stage at
    ``position``."""
    return Q(won=True) | Q(reach__gte=position)


def lost_at(position: int) -> Q:
    """Of the deals ``deals_reach`` gives: the lost ones whose furthest open stage is the one
    at ``position``."""
    return Q(lost=True, won=False, reach=position)
