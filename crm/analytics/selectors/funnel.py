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

The counted deals, their reach and outcome come from ``crm.sales.selectors_reach``, which
the deal list's ``reached_stage`` filter uses too: each stage's figure links to exactly its
deals.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db.models import Count, QuerySet, Sum
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from crm.accounts.models import User
from crm.analytics.filters import ReportFilters
from crm.analytics.periods import Period
from crm.core.errors import ValidationFailed
from crm.core.percentiles import percentiles, seconds_between
from crm.sales.choices import StageKind
from crm.sales.models import Deal, Pipeline, Stage, StageVisit
from crm.sales.selectors_reach import WON_REACH, deals_reach

Money = dict[str, Decimal]


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
        """The lost deals whose furthest stage this was (``selectors_reach.lost_at``)."""
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


def _cohort(
    viewer: User, pipeline: Pipeline, period: Period, filters: ReportFilters
) -> tuple[Any, QuerySet[StageVisit]]:
    """The counted deals annotated with ``won``, ``lost`` and ``reach``, and their visits in
    the period: the deal list's ``reached_stage`` filter reads the same query builder."""
    deals = filters.deals(viewer, Deal.objects.visible_to(viewer))
    return deals_reach(
        deals, pipeline_id=pipeline.pk, start_at=period.start_at, end_at=period.end_at
    )


def funnel_report(*, viewer: User, period: Period, filters: ReportFilters) -> Funnel:
    """The funnel of ``filters``' pipeline (or the first live one) for ``period``, counting
    only the deals ``viewer`` may see. A fixed number of queries: the groups of deals by
    reach, outcome and currency; the visits per stage; the stays' percentiles; the lost
    reasons. The cumulative sums run over those few groups, not over deals."""
    pipeline = funnel_pipeline(filters)
    stages = list(pipeline.stages.filter(archived=False).order_by("position", "id"))
    cohort, visits = _cohort(viewer, pipeline, period, filters)
    opens = [FunnelStage(stage) for stage in stages if stage.kind == StageKind.OPEN]
    funnel = Funnel(pipeline, period, opens, 0, 0, 0, {}, {}, [])

    groups = cohort.values("reach", "won", "lost", "currency").annotate(
        count=Count("pk"), amount=Sum("amount")
    )
    for group in groups:
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
    for visit in visits.values("stage_id").annotate(
        entries=Count("id"), deals=Count("deal", distinct=True)
    ):
        if (visited := by_stage.get(visit["stage_id"])) is not None:
            visited.entered = visit["deals"]
            visited.returns = visit["entries"] - visit["deals"]

    stays = visits.filter(left_at__isnull=False).annotate(
        stay=seconds_between("entered_at", "left_at")
    )
    spread: dict[Hashable, dict[float, float]] = percentiles(
        stays, value="stay", fractions=(0.5, 0.9), group="stage_id"
    )
    for stage_id, values in spread.items():
        if (stayed := by_stage.get(int(str(stage_id)))) is not None:
            stayed.median_seconds, stayed.p90_seconds = values[0.5], values[0.9]

    by_position = {row.stage.position: row for row in opens}
    for reason in (
        cohort.filter(lost=True, won=False)
        .values("reach", "lost_reason__name")
        .annotate(count=Count("pk"))
        .order_by("reach", "-count", "lost_reason__name")
    ):
        name = reason["lost_reason__name"] or str(_("No reason given"))
        target = by_position.get(reason["reach"])
        (target.lost_reasons if target else funnel.lost_without_stage).append(
            (name, reason["count"])
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
