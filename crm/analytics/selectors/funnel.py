"""The funnel of one pipeline over a period, from the deals' stage visits.

Definitions (what each figure counts):

- The deals counted are the viewer's deals of the pipeline (``Deal.objects.visible_to``
  and the report filters) that entered any of its stages in the period.
- A deal's *reach* is the furthest open stage (by position) it entered in the period; a
  deal that sits in a won stage reached every open stage. *Reached* at a stage counts the
  deals whose reach is that stage or further, so a deal that skipped a stage still passed
  it, and a deal that moved back and forth counts once.
- *Entered* counts the distinct deals that entered the stage in the period, *returns* the
  entries beyond the first (moves back into it); *skipped* is reached minus entered.
- Won and lost count the deals sitting in a won or lost stage that they entered in the
  period: a reopened deal left its closing stage and counts as open again.
- Conversion to the next stage is its reached over this stage's; first to won is won over
  the first stage's reached. Amounts are the deals' amounts per currency.
- Time in a stage (median, 90th percentile) is over the stays that began in the period
  and have ended. Lost reasons are grouped by the furthest open stage the lost deal reached.

The counted deals, their reach and outcome come from ``crm.sales.reach``, which the deal
list's ``reached_stage`` filter uses too: each stage's figure links to exactly its deals.
"""

from __future__ import annotations

import decimal
from collections.abc import Hashable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db import connection
from django.db.models import Count, F, Q, QuerySet
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from crm.accounts.models import User
from crm.analytics.filters import ReportFilters
from crm.analytics.periods import Period
from crm.core.errors import ValidationFailed
from crm.core.percentiles import percentiles, seconds_between
from crm.core.sql import compiled
from crm.sales.choices import StageKind
from crm.sales.models import Deal, Pipeline, Stage, StageVisit
from crm.sales.querysets import visit_scope
from crm.sales.reach import WON_REACH, deal_reach, deals_with_period_visits

Money = dict[str, Decimal]
DECIMAL_FROM_FLOAT = decimal.Context(prec=15).create_decimal_from_float  # as Django on SQLite


@dataclass
class FunnelStage:
    """One stage's figures."""

    stage: Stage
    reached: int = 0
    entered: int = 0
    returns: int = 0
    amount: Money = field(default_factory=dict)
    conversion: float | None = None  # to the next open stage, or to won from the last
    median_seconds: float | None = None
    p90_seconds: float | None = None
    lost_reasons: list[tuple[str, int]] = field(default_factory=list)

    @property
    def skipped(self) -> int:
        return max(self.reached - self.entered, 0)

    @property
    def lost(self) -> int:
        """The lost deals whose furthest stage this was (``reach.lost_at``)."""
        return sum(count for _name, count in self.lost_reasons)


@dataclass
class Funnel:
    pipeline: Pipeline
    period: Period
    stages: list[FunnelStage]
    deals: int
    won: int
    lost: int
    won_amount: Money
    lost_amount: Money
    lost_without_stage: list[tuple[str, int]]

    @property
    def first_to_won(self) -> float | None:
        first = self.stages[0].reached if self.stages else 0
        return self.won / first if first else None


def funnel_pipeline(filters: ReportFilters) -> Pipeline:
    """The pipeline of the funnel: the filter's, or the first live one."""
    if filters.pipeline is not None:
        return filters.pipeline
    pipeline = Pipeline.objects.filter(archived=False).order_by("position", "id").first()
    if pipeline is None:
        raise ValidationFailed(field_errors={"pipeline": [_("There is no pipeline.")]})
    return pipeline


def _visits(
    viewer: User, pipeline: Pipeline, period: Period, filters: ReportFilters
) -> QuerySet[Deal]:
    """The counted deals joined to their visits of the period
    (``reach.deals_with_period_visits``), one row per visit. The viewer's scope is read once
    (``visible_to_resolved``): the owners and shared ids as values, applied to the deals and
    again to the visits' copy of the owner (``visit_scope``), so both sides of the join come
    from an index that starts with the owner."""
    deals = filters.deals(viewer, Deal.objects.visible_to_resolved(viewer))
    return deals_with_period_visits(
        deals,
        pipeline_id=pipeline.pk,
        start_at=period.start_at,
        end_at=period.end_at,
        visits=visit_scope(viewer, prefix="visits__"),
    )


def _stays(
    viewer: User, pipeline: Pipeline, period: Period, filters: ReportFilters
) -> QuerySet[StageVisit]:
    """The visits of the period the stays' percentiles are over: every visit of the
    pipeline's stages that began in the period, of a deal the viewer sees (the visit's copy
    of the owner: ``StageVisit.objects.visible_to_resolved``) and the filters leave. Each
    is a visit of a counted deal, and every counted deal's visits of the period are here,
    with no join to the deals unless a filter needs one."""
    visits = filters.visits(viewer, StageVisit.objects.visible_to_resolved(viewer))
    return visits.filter(
        stage__pipeline_id=pipeline.pk,
        entered_at__gte=period.start_at,
        entered_at__lt=period.end_at,
    )


def _outcomes(visits: QuerySet[Deal], opens: list[FunnelStage]) -> list[dict[str, Any]]:
    """The counted deals grouped by reach, outcome, currency and lost reason (the name), with
    their number and amount, and per open stage the group's entries into it and deals that
    entered it: one query, ``GROUP BY`` over one row per deal computed from its visits (no
    correlated subquery per deal), so the period's visits are read once for both."""
    entries = {
        f"entries_{index}": Count("visits__stage_id", filter=Q(visits__stage_id=row.stage.pk))
        for index, row in enumerate(opens)
    }
    per_deal = deal_reach(visits, "currency", "amount", reason=F("lost_reason__name")).annotate(
        **entries
    )
    query = compiled(per_deal)
    if query is None:  # the filters leave no deal (a team without members)
        return []
    sql, params = query
    # The per-deal query is the ORM's, compiled with its parameters apart (no value in
    # the text); only the outer grouping is written here, its column names our own.
    per_stage = "".join(
        f", SUM({name}), SUM(CASE WHEN {name} > 0 THEN 1 ELSE 0 END)" for name in entries
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT reach, won, lost, currency, reason, COUNT(*), SUM(amount){per_stage} "  # noqa: S608
            f"FROM ({sql}) per_deal GROUP BY reach, won, lost, currency, reason",
            params,
        )
        return [
            {
                "reach": reach,
                "won": bool(won),
                "lost": bool(lost),
                "currency": currency,
                "reason": reason,
                "count": count,
                "amount": _decimal(amount),
                "entries": [(int(rest[i]), int(rest[i + 1])) for i in range(0, len(rest), 2)],
            }
            for reach, won, lost, currency, reason, count, amount, *rest in cursor.fetchall()
        ]


def _decimal(value: Any) -> Decimal | None:
    """A sum of amounts as the ORM's ``Sum("amount")`` gives it: SQLite sums to a float or
    an integer, which Django's SQLite backend turns into a ``Decimal`` this way."""
    if value is None or isinstance(value, Decimal):
        return value
    return DECIMAL_FROM_FLOAT(value)


def _reason_order(item: tuple[tuple[int, str | None], int]) -> tuple[Any, ...]:
    """``ORDER BY reach, count DESC, name`` with the database's place for no name (last on
    PostgreSQL, first on SQLite), as the query before this grouping in Python sorted."""
    (reach, name), count = item
    missing_last = connection.vendor == "postgresql"
    return (reach, -count, (name is None) == missing_last, name or "")


def funnel_report(
    *, viewer: User, period: Period, filters: ReportFilters, stays: bool = True
) -> Funnel:
    """The funnel of ``filters``' pipeline (or the first live one) for ``period``, counting
    only the deals ``viewer`` may see. A fixed number of queries: the groups of deals by
    reach, outcome, currency and lost reason, with their entries per stage; unless
    ``stays`` is false (the period before, shown for its counts only), the stays'
    percentiles. Both read the viewer's visits of the period from the index that starts
    with the visit's copy of the owner and hash them with the period's deals, read from the
    deals' owner index (``_visits``). The cumulative sums run over those few groups, not
    over deals."""
    pipeline = funnel_pipeline(filters)
    stages = list(pipeline.stages.filter(archived=False).order_by("position", "id"))
    visits = _visits(viewer, pipeline, period, filters)
    opens = [FunnelStage(stage) for stage in stages if stage.kind == StageKind.OPEN]
    funnel = Funnel(pipeline, period, opens, 0, 0, 0, {}, {}, [])

    groups = _outcomes(visits, opens)
    spread: dict[Hashable, dict[float, float]] = {}
    if stays:
        spread = percentiles(
            _stays(viewer, pipeline, period, filters).annotate(
                stay=seconds_between("entered_at", "left_at")
            ),
            value="stay",
            fractions=(0.5, 0.9),
            group="stage_id",
        )
    for group in groups:
        for row, (entries, entered) in zip(opens, group["entries"], strict=True):
            row.entered += entered
            row.returns += entries - entered
        reach = WON_REACH if group["won"] else group["reach"]
        amount = group["amount"] or Decimal(0)
        funnel.deals += group["count"]
        for row in opens:
            if reach >= row.stage.position:
                row.reached += group["count"]
                _add(row.amount, group["currency"], amount)
        if group["won"]:
            funnel.won += group["count"]
            _add(funnel.won_amount, group["currency"], amount)
        elif group["lost"]:
            funnel.lost += group["count"]
            _add(funnel.lost_amount, group["currency"], amount)

    by_stage = {row.stage.pk: row for row in opens}
    for stage_id, values in spread.items():
        if (stayed := by_stage.get(int(str(stage_id)))) is not None:
            stayed.median_seconds, stayed.p90_seconds = values[0.5], values[0.9]

    by_position = {row.stage.position: row for row in opens}
    reasons: dict[tuple[int, str | None], int] = {}
    for group in groups:
        if group["lost"] and not group["won"]:
            key = (group["reach"], group["reason"])
            reasons[key] = reasons.get(key, 0) + group["count"]
    for (reach, reason), count in sorted(reasons.items(), key=_reason_order):
        target = by_position.get(reach)
        (target.lost_reasons if target else funnel.lost_without_stage).append(
            (reason or str(_("No reason given")), count)
        )

    for index, row in enumerate(opens):
        following = opens[index + 1].reached if index + 1 < len(opens) else funnel.won
        row.conversion = following / row.reached if row.reached else None
    return funnel


def _add(money: Money, currency: str, amount: Decimal) -> None:
    money[currency] = money.get(currency, Decimal(0)) + amount


def funnel_chart(funnel: Funnel) -> dict[str, Any]:
    """The figures the page's chart draws (passed as JSON, drawn by a static script)."""
    steps = [{"name": row.stage.name, "value": row.reached} for row in funnel.stages]
    steps.append({"name": str(pgettext("funnel", "Won")), "value": funnel.won})
    return {"steps": steps, "title": funnel.pipeline.name}
