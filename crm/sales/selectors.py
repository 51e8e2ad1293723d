"""Reads of deals for pages and the API, scoped to what the viewer may see."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.apps import apps
from django.db import models
from django.db.models import Count, Prefetch, Q, Sum
from django.db.models.functions import Coalesce
from django.http import QueryDict
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.accounts.models import TeamMembership
from crm.activities.models import TimelineEntry
from crm.activities.selectors import timeline_for
from crm.core.dates import local_dates, query_date
from crm.core.errors import NotFound, ValidationFailed
from crm.core.pagination import Page, keyset_page
from crm.core.permissions import ScopedUser
from crm.core.text import fold
from crm.customers.choices import ClientType
from crm.customers.models import Tag
from crm.sales.choices import DealStatus, StageKind
from crm.sales.models import Deal, DealLine, Pipeline, Stage, StageVisit
from crm.sales.reach import lost_at, period_visits, reach_per_deal, reached

MAX_ID = 2**63 - 1


def _int(value: Any) -> int | None:
    """A database id from a query string, or ``None`` (garbage and overflows are ignored)."""
    try:
        number = int(value)
    except (TypeError, ValueError):
        return None
    return number if 1 <= number <= MAX_ID else None


@dataclass(frozen=True)
class Reached:
    """The deals that reached an open ``stage`` (or were lost there, ``lost_here``) in the
    local days ``date_from``..``date_to`` (see ``crm.sales.reach``): a funnel's figure."""

    stage: Stage
    date_from: dt.date
    date_to: dt.date
    lost_here: bool = False

    def apply(self, qs: models.QuerySet[Deal], zone: dt.tzinfo | None) -> models.QuerySet[Deal]:
        zone = zone or timezone.get_current_timezone()
        visits = period_visits(
            qs,
            pipeline_id=self.stage.pipeline_id,
            start_at=dt.datetime.combine(self.date_from, dt.time.min, zone),
            end_at=dt.datetime.combine(self.date_to + dt.timedelta(days=1), dt.time.min, zone),
        )
        position = self.stage.position
        rule = lost_at(position) if self.lost_here else reached(position)
        chosen: models.QuerySet[Deal] = qs.filter(
            pk__in=reach_per_deal(visits).filter(rule).values("deal_id")
        )
        return chosen


def _strict_date(
    params: QueryDict | dict[str, Any], name: str, errors: dict[str, list[str]]
) -> dt.date | None:
    raw = str(params.get(name) or "").strip()
    if not raw:
        errors[name] = [_("Required with reached_stage.")]
        return None
    day = query_date(raw)
    if day is None:
        errors[name] = [_("Enter a date as YYYY-MM-DD.")]
    return day


def reached_parse(params: QueryDict | dict[str, Any]) -> Reached | None:
    """The funnel filter of ``params`` (``reached_stage``, ``reached_from``, ``reached_to``,
    ``lost_here``), parsed strictly, unlike the list's other filters: a funnel's figure must
    not silently become a list of other deals. Raises ``ValidationFailed`` naming each
    refused parameter; ``None`` when none is given."""
    names = ("reached_stage", "reached_from", "reached_to", "lost_here")
    if not any(params.get(name) for name in names):
        return None
    errors: dict[str, list[str]] = {}
    raw = str(params.get("reached_stage") or "").strip()
    stage = None
    if not raw:
        errors["reached_stage"] = [_("Give the stage the period applies to.")]
    elif (stage_id := _int(raw)) is None or not raw.isdigit():
        errors["reached_stage"] = [_("Must be a whole number.")]
    else:
        stage = Stage.objects.filter(pk=stage_id, kind=StageKind.OPEN).first()
        if stage is None:
            errors["reached_stage"] = [_("No such open stage.")]
    date_from = _strict_date(params, "reached_from", errors)
    date_to = _strict_date(params, "reached_to", errors)
    if date_from and date_to and date_to < date_from:
        errors["reached_to"] = [_("The end is before the start.")]
    lost_here = str(params.get("lost_here") or "")
    if lost_here not in ("", "1", "true", "on"):
        errors["lost_here"] = [_("Must be 1 or empty.")]
    if errors or stage is None or date_from is None or date_to is None:
        raise ValidationFailed(field_errors=errors)
    return Reached(stage, date_from, date_to, bool(lost_here))


@dataclass
class DealFilters:
    """The filters of the deal list (and of the API's list), parsed leniently: a value that
    does not parse is ignored, as a hand-edited URL should not break the page. The funnel
    filter (``reached``) is the exception: see ``reached_parse``."""

    q: str = ""
    pipeline: int | None = None
    stage: int | None = None
    status: str = ""
    owner: int | None = None
    tag: str = ""
    contact: int | None = None
    company: int | None = None
    created_from: dt.date | None = None
    created_to: dt.date | None = None
    close_from: dt.date | None = None
    close_to: dt.date | None = None
    overdue: bool = False
    closed_from: dt.date | None = None
    closed_to: dt.date | None = None
    team: int | None = None
    source: str = ""
    client_type: str = ""
    product: int | None = None
    reached: Reached | None = None
    zone: dt.tzinfo | None = field(default=None, compare=False)

    @classmethod
    def from_params(
        cls,
        params: QueryDict | dict[str, Any],
        *,
        zone: Callable[[], dt.tzinfo] | None = None,
    ) -> DealFilters:
        """The filters of ``params``; the dates of ``closed_from``/``closed_to`` and of the
        funnel filter are days of the zone ``zone()`` answers (the viewer's, so a report's
        period links to exactly its deals), asked only when one of them is given. Raises
        ``ValidationFailed`` for a refused funnel filter (``reached_parse``)."""
        reached = reached_parse(params)
        status = params.get("status") or ""
        closed_from = query_date(params.get("closed_from"))
        closed_to = query_date(params.get("closed_to"))
        client_type = params.get("client_type") or ""
        return cls(
            q=(params.get("q") or "").strip()[:100],
            pipeline=_int(params.get("pipeline")),
            stage=_int(params.get("stage")),
            status=status if status in DealStatus.values else "",
            owner=_int(params.get("owner")),
            tag=(params.get("tag") or "").strip()[:50],
            contact=_int(params.get("contact")),
            company=_int(params.get("company")),
            created_from=query_date(params.get("created_from")),
            created_to=query_date(params.get("created_to")),
            close_from=query_date(params.get("close_from")),
            close_to=query_date(params.get("close_to")),
            overdue=params.get("overdue") in ("1", "true", "on"),
            closed_from=closed_from,
            closed_to=closed_to,
            team=_int(params.get("team")),
            source=(params.get("source") or "").strip()[:20],
            client_type=client_type if client_type in ClientType.values else "",
            product=_int(params.get("product")),
            reached=reached,
            zone=zone() if zone is not None and (closed_from or closed_to or reached) else None,
        )

    def apply(self, qs: models.QuerySet[Deal]) -> models.QuerySet[Deal]:
        if self.q:
            # Folded text (lower case, ё→е) so Cyrillic matches in any case on SQLite too.
            folded = fold(self.q)
            qs = qs.filter(
                Q(search_text__contains=folded)
                | Q(company__search_text__contains=folded)
                | Q(contact__search_text__contains=folded)
                | Q(invoice_number=self.q)
                | Q(contract_number=self.q)
            )
        if self.pipeline:
            qs = qs.filter(pipeline_id=self.pipeline)
        if self.stage:
            qs = qs.filter(stage_id=self.stage)
        if self.status:
            qs = qs.filter(status=self.status)
        if self.owner:
            qs = qs.filter(owner_id=self.owner)
        if self.tag:
            qs = qs.filter(tags__in=Tag.objects.filter(name__iexact=self.tag))
        if self.contact:
            qs = qs.filter(contact_id=self.contact)
        if self.company:
            qs = qs.filter(company_id=self.company)
        if self.created_from or self.created_to:
            qs = qs.filter(local_dates("created_at", self.created_from, self.created_to))
        if self.close_from:
            qs = qs.filter(expected_close__gte=self.close_from)
        if self.close_to:
            qs = qs.filter(expected_close__lte=self.close_to)
        if self.overdue:
            qs = qs.filter(status=DealStatus.OPEN, expected_close__lt=timezone.localdate())
        if self.closed_from or self.closed_to:
            qs = qs.filter(local_dates("closed_at", self.closed_from, self.closed_to, self.zone))
        if self.team:
            members = TeamMembership.objects.filter(team_id=self.team).values("user_id")
            qs = qs.filter(owner_id__in=members)
        if self.source:
            qs = qs.filter(source=self.source)
        if self.client_type:
            qs = qs.annotate(client_kind=Coalesce("company__kind", "contact__client_type")).filter(
                client_kind=self.client_type
            )
        if self.product:
            qs = qs.filter(
                pk__in=DealLine.objects.filter(product_id=self.product).values("deal_id")
            )
        if self.reached is not None:
            qs = self.reached.apply(qs, self.zone)
        return qs

    @property
    def active(self) -> bool:
        return any(
            value not in (None, "", False) for name, value in vars(self).items() if name != "zone"
        )


@dataclass
class Totals:
    count: int = 0
    by_currency: list[tuple[str, Decimal]] = field(default_factory=list)


def deal_queryset(*, user: ScopedUser, filters: DealFilters) -> models.QuerySet[Deal]:
    return filters.apply(Deal.objects.visible_to(user))


def deal_table(
    *, user: ScopedUser, filters: DealFilters, cursor: str | None = None, limit: int = 50
) -> tuple[Page[Deal], Totals]:
    """A page of deals under the filters, newest first, with the totals of all of them."""
    qs = deal_queryset(user=user, filters=filters)
    rows = qs.select_related("stage", "pipeline", "owner", "contact", "company").only(
        "title",
        "status",
        "amount",
        "currency",
        "expected_close",
        "created_at",
        "stage_entered_at",
        "stage__name",
        "stage__color",
        "stage__kind",
        "pipeline__name",
        "owner__first_name",
        "owner__last_name",
        "owner__username",
        "contact__first_name",
        "contact__last_name",
        "contact__middle_name",
        "company__legal_name",
        "company__short_name",
        "company__legal_form",
    )
    page = keyset_page(rows, order=["-created_at", "-id"], cursor=cursor, limit=limit)
    sums = qs.order_by().values("currency").annotate(total=Sum("amount"), n=Count("id"))
    totals = Totals()
    for row in sums:
        totals.count += row["n"]
        totals.by_currency.append((row["currency"], row["total"] or Decimal(0)))
    totals.by_currency.sort()
    return page, totals


def deal_card(*, user: ScopedUser, pk: Any) -> Deal:
    """A deal with everything its card shows, or ``NotFound``."""
    pk = _int(pk)
    deal = (
        Deal.objects.visible_to(user)
        .select_related(
            "stage", "pipeline", "owner", "created_by", "contact", "company", "lost_reason"
        )
        .prefetch_related(
            "tags",
            "shared_with",
            Prefetch("visits", queryset=StageVisit.objects.select_related("stage", "entered_by")),
            Prefetch(
                "pipeline__stages",
                queryset=Stage.objects.filter(archived=False).order_by("position", "id"),
            ),
        )
        .filter(pk=pk)
        .first()
        if pk is not None
        else None
    )
    if deal is None:
        raise NotFound(_("Not found."))
    return deal


def deal_timeline(
    *, deal: Deal, cursor: str | None = None, limit: int = 25, kinds: list[str] | None = None
) -> Page[TimelineEntry]:
    # A deal converted from a lead carries the lead's history: its entries show here too.
    # (Leads sit above sales, so the model is looked up by name, not imported.)
    lead_model = apps.get_model("leads", "Lead")
    lead_ids = list(lead_model.objects.filter(deal_id=deal.pk).values_list("id", flat=True))
    entries = timeline_for(subjects=[(Deal, [deal.pk]), (lead_model, lead_ids)], kinds=kinds)
    return keyset_page(entries, order=["-occurred_at", "-id"], cursor=cursor, limit=limit)


def pipelines_live() -> list[Pipeline]:
    return list(
        Pipeline.objects.filter(archived=False).prefetch_related(
            Prefetch(
                "stages", queryset=Stage.objects.filter(archived=False).order_by("position", "id")
            )
        )
    )


def deals_of_client(
    *, user: ScopedUser, contact_id: int | None = None, company_id: int | None = None
) -> list[Deal]:
    """A client's deals the user may see, open first (the client card's deals panel)."""
    qs = Deal.objects.visible_to(user).select_related("stage", "owner")
    if contact_id:
        qs = qs.filter(contact_id=contact_id)
    elif company_id:
        qs = qs.filter(company_id=company_id)
    else:
        return []
    return list(
        qs.order_by(models.Case(models.When(status="open", then=0), default=1), "-created_at")[:50]
    )
