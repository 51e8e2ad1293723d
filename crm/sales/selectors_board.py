"""Reads of the deal board: one pipeline's stages as columns, their counts and sums, and
pages of cards, always through the viewer's row-level scope and the board's filters.

The first screen costs the same number of queries whatever the number of deals: the live
pipelines, the pipeline's stages, one grouped query for every column's count and sums,
one for the ids of the first cards of every open column (``ROW_NUMBER() OVER (PARTITION
BY stage)``, an index-only scan of ``deal_stage_board`` on PostgreSQL), one for those
cards and one for their tags. A column's next page is a keyset query on
``(stage_entered_at desc, id desc)`` over the same index.

Won and lost columns count only the deals closed in the last ``CLOSED_DAYS`` days (a
deal's ``stage_entered_at`` is its closing time there), so their cost does not grow with
the pipeline's history.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db.models import Count, F, Prefetch, Q, QuerySet, Sum, Window
from django.db.models.functions import RowNumber
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import number_format
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from crm.core.errors import NotFound
from crm.core.pagination import Page, encode_cursor, keyset_page
from crm.core.permissions import ScopedUser, can_write
from crm.customers.choices import CustomFieldType, FieldEntity
from crm.customers.models import CustomField, Tag
from crm.customers.selectors import CustomerFilters, company_queryset, contact_queryset
from crm.sales.choices import DealField, DealStatus, StageKind
from crm.sales.models import Deal, LostReason, Pipeline, Stage
from crm.sales.permissions import DEAL
from crm.sales.services.deals import missing_fields, requirement_label

PAGE_SIZE = 20
CLOSED_DAYS = 30
ORDER = ("-stage_entered_at", "-id")
CURRENCY_SIGNS = {"RUB": "₽", "USD": "$", "EUR": "€", "CNY": "¥", "KZT": "₸"}
CARD_FIELDS = (
    "id",
    "title",
    "stage_id",
    "status",
    "amount",
    "currency",
    "expected_close",
    "stage_entered_at",
    "owner_id",
    "owner__username",
    "owner__first_name",
    "owner__last_name",
    "contact_id",
    "contact__first_name",
    "contact__last_name",
    "contact__middle_name",
    "company_id",
    "company__legal_name",
    "company__short_name",
    "company__legal_form",
)
_CLIENT_REF = re.compile(r"^(contact|company):(\d{1,18})$")


def money_display(amount: Decimal | None, currency: str) -> str:
    """``1 250 000 ₽``: grouped digits in the active language, kopecks only when present."""
    if amount is None:
        return ""
    places = 0 if amount == amount.to_integral_value() else 2
    number = number_format(amount, decimal_pos=places, use_l10n=True, force_grouping=True)
    return f"{number}\u00a0{CURRENCY_SIGNS.get(currency, currency)}"


# --- filters ---------------------------------------------------------------------------------


def _as_id(value: Any) -> int | None:
    text = str(value or "")
    return int(text) if text.isdigit() and len(text) < 19 else None


def _as_date(value: Any) -> dt.date | None:
    try:
        return dt.date.fromisoformat(str(value or "")[:10])
    except ValueError:
        return None


@dataclass
class BoardFilters:
    """What the board's filter bar narrows the deals to (every field optional).

    ``client`` is a name, phone, e-mail or ИНН fragment, or ``contact:<id>`` /
    ``company:<id>`` for one client's deals (the link from a client's card).
    """

    pipeline_id: int | None = None
    owner_id: int | None = None
    client: str = ""
    tag: str = ""
    created_from: dt.date | None = None
    created_to: dt.date | None = None
    close_from: dt.date | None = None
    close_to: dt.date | None = None

    @classmethod
    def from_params(cls, params: Any) -> BoardFilters:
        """Read the filters from a query dict; malformed values are ignored."""
        return cls(
            pipeline_id=_as_id(params.get("pipeline")),
            owner_id=_as_id(params.get("owner")),
            client=str(params.get("client") or "").strip()[:100],
            tag=str(params.get("tag") or "").strip()[:50],
            created_from=_as_date(params.get("created_from")),
            created_to=_as_date(params.get("created_to")),
            close_from=_as_date(params.get("close_from")),
            close_to=_as_date(params.get("close_to")),
        )

    def as_params(self, *, pipeline: bool = True) -> dict[str, str]:
        """The non-empty filters as query parameters (for links that keep them)."""
        values: dict[str, Any] = {
            "pipeline": self.pipeline_id if pipeline else None,
            "owner": self.owner_id,
            "client": self.client,
            "tag": self.tag,
            "created_from": self.created_from,
            "created_to": self.created_to,
            "close_from": self.close_from,
            "close_to": self.close_to,
        }
        return {
            key: value.isoformat() if isinstance(value, dt.date) else str(value)
            for key, value in values.items()
            if value not in (None, "")
        }

    @property
    def is_filtered(self) -> bool:
        return bool(self.as_params(pipeline=False))


def _day_start(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


def _client_condition(user: ScopedUser, client: str) -> Q:
    reference = _CLIENT_REF.match(client)
    if reference:
        return Q(**{f"{reference.group(1)}_id": int(reference.group(2))})
    text = CustomerFilters(q=client)
    return Q(contact_id__in=contact_queryset(user=user, filters=text).values("pk")) | Q(
        company_id__in=company_queryset(user=user, filters=text).values("pk")
    )


def board_deals(*, user: ScopedUser, filters: BoardFilters) -> QuerySet[Deal]:
    """Deals ``user`` may see, narrowed by the board's filters (any pipeline, no order)."""
    queryset = Deal.objects.visible_to(user)
    if filters.owner_id:
        queryset = queryset.filter(owner_id=filters.owner_id)
    if filters.client:
        queryset = queryset.filter(_client_condition(user, filters.client))
    if filters.tag:
        tagged = Deal.tags.through.objects.filter(tag__name__iexact=filters.tag).values("deal_id")
        queryset = queryset.filter(pk__in=tagged)
    if filters.created_from:
        queryset = queryset.filter(created_at__gte=_day_start(filters.created_from))
    if filters.created_to:
        next_day = filters.created_to + dt.timedelta(days=1)
        queryset = queryset.filter(created_at__lt=_day_start(next_day))
    if filters.close_from:
        queryset = queryset.filter(expected_close__gte=filters.close_from)
    if filters.close_to:
        queryset = queryset.filter(expected_close__lte=filters.close_to)
    return queryset


# --- the board -------------------------------------------------------------------------------


@dataclass
class Card:
    """What a card on the board shows, computed once per card here rather than by template
    tags (which cost more than the SQL at a few hundred cards)."""

    pk: int
    title: str
    stage_id: int
    stage_entered_at: dt.datetime
    detail_url: str
    move_url: str
    client_name: str
    amount_display: str
    owner_name: str
    days_in_stage: int
    days_label: str
    expected_close: dt.date | None
    is_overdue: bool
    tags: list[str]
    is_movable: bool


@dataclass
class Column:
    """One stage on the board: its count and sums (per currency) and its first cards."""

    stage: Stage
    count: int = 0
    totals: list[tuple[str, Decimal]] = field(default_factory=list)
    cards: list[Card] = field(default_factory=list)
    next_cursor: str | None = None

    @property
    def is_closing(self) -> bool:
        return self.stage.kind != StageKind.OPEN

    @property
    def totals_display(self) -> list[str]:
        return [money_display(total, currency) for currency, total in self.totals]


@dataclass
class Board:
    """The board of one pipeline: open columns in stage order, then won and lost."""

    pipelines: list[Pipeline]
    pipeline: Pipeline | None
    columns: list[Column]
    closing: list[Column]
    filters: BoardFilters
    can_move: bool
    closed_days: int = CLOSED_DAYS


def _stages(pipeline: Pipeline) -> list[Stage]:
    return list(
        Stage.objects.filter(pipeline=pipeline, archived=False)
        .only("id", "pipeline_id", "name", "position", "kind", "color", "required_fields")
        .order_by("position", "id")
    )


def _closed_since() -> dt.datetime:
    return timezone.now() - dt.timedelta(days=CLOSED_DAYS)


def board_totals(
    *, user: ScopedUser, filters: BoardFilters, stages: list[Stage]
) -> dict[int, tuple[int, list[tuple[str, Decimal]]]]:
    """Count and sums per currency of each stage's deals, in one query.

    Won and lost stages count the deals closed in the last ``CLOSED_DAYS`` days.
    """
    deals = board_deals(user=user, filters=filters)

    def grouped(queryset: QuerySet[Deal]) -> QuerySet[Any]:
        return (
            queryset.values("stage_id", "currency")
            .annotate(count=Count("pk"), total=Sum("amount"))
            .order_by()
        )

    open_ids = [stage.pk for stage in stages if stage.kind == StageKind.OPEN]
    closing_ids = [stage.pk for stage in stages if stage.kind != StageKind.OPEN]
    # UNION ALL rather than one WHERE with OR: each half is a range scan of the board index
    # (index-only where it covers amount and currency), the OR is a bitmap heap scan.
    rows = grouped(deals.filter(stage_id__in=open_ids))
    if closing_ids:
        recently_closed = deals.filter(
            stage_id__in=closing_ids, stage_entered_at__gte=_closed_since()
        )
        rows = rows.union(grouped(recently_closed), all=True)
    counts: dict[int, int] = defaultdict(int)
    sums: dict[int, list[tuple[str, Decimal]]] = defaultdict(list)
    for row in rows:
        counts[row["stage_id"]] += row["count"]
        if row["total"]:
            sums[row["stage_id"]].append((row["currency"], row["total"]))
    return {
        stage_id: (count, sorted(sums[stage_id], key=lambda item: -item[1]))
        for stage_id, count in counts.items()
    }


def _with_card_fields(queryset: QuerySet[Deal]) -> QuerySet[Deal]:
    return (
        queryset.select_related("owner", "contact", "company")
        .only(*CARD_FIELDS)
        .prefetch_related(Prefetch("tags", queryset=Tag.objects.only("id", "name")))
    )


_URL_SENTINEL = 4_611_686_018_427_387_904  # an id no deal has: its place in a reversed URL


def _url_maker(name: str) -> Callable[[int], str]:
    """``reverse(name, args=[pk])`` for many cards at the cost of one ``reverse``."""
    pattern = reverse(name, args=[_URL_SENTINEL])
    return lambda pk: pattern.replace(str(_URL_SENTINEL), str(pk))


def _cards(user: ScopedUser, deals: list[Deal]) -> list[Card]:
    today = timezone.localdate()
    detail_url, move_url = _url_maker("sales:deal_detail"), _url_maker("sales:deal_move")
    cards = []
    for deal in deals:
        client = deal.company.display_name if deal.company is not None else ""
        if not client and deal.contact is not None:
            client = deal.contact.full_name
        days = (today - timezone.localdate(deal.stage_entered_at)).days
        cards.append(
            Card(
                pk=deal.pk,
                title=deal.title,
                stage_id=deal.stage_id,
                stage_entered_at=deal.stage_entered_at,
                detail_url=detail_url(deal.pk),
                move_url=move_url(deal.pk),
                client_name=client,
                amount_display=money_display(deal.amount, deal.currency),
                owner_name=str(deal.owner),
                days_in_stage=days,
                days_label=ngettext("%(days)d day", "%(days)d days", days) % {"days": days},
                expected_close=deal.expected_close,
                is_overdue=bool(
                    deal.expected_close
                    and deal.status == DealStatus.OPEN
                    and deal.expected_close < today
                ),
                tags=[tag.name for tag in deal.tags.all()],
                is_movable=DEAL.may_change(user, deal),
            )
        )
    return cards


def _cursor(deal: Deal) -> str:
    return encode_cursor([deal.stage_entered_at, deal.pk])


def _first_cards(
    *, user: ScopedUser, filters: BoardFilters, stage_ids: list[int], limit: int
) -> dict[int, list[Deal]]:
    """Up to ``limit + 1`` newest cards of each stage: their ids in one query, the cards in
    another, their tags in a third."""
    if not stage_ids:
        return {}
    ranked = (
        board_deals(user=user, filters=filters)
        .filter(stage_id__in=stage_ids)
        .annotate(
            board_rank=Window(
                RowNumber(),
                partition_by=[F("stage_id")],
                order_by=[F("stage_entered_at").desc(), F("id").desc()],
            )
        )
        .filter(board_rank__lte=limit + 1)
        .order_by()  # no outer sort: the ranks come straight off the index
        .values_list("pk", flat=True)
    )
    # Two queries, not one with a subquery: PostgreSQL cannot tell that the ranked subquery
    # yields a few hundred rows and would scan the whole table to join it.
    cards = _with_card_fields(Deal.objects.filter(pk__in=list(ranked))).order_by(*ORDER)
    by_stage: dict[int, list[Deal]] = defaultdict(list)
    for deal in cards:
        by_stage[deal.stage_id].append(deal)
    return by_stage


def deal_board(*, user: ScopedUser, filters: BoardFilters, limit: int = PAGE_SIZE) -> Board:
    """The board of the chosen live pipeline (or the first one) under ``filters``."""
    pipelines = list(Pipeline.objects.filter(archived=False).order_by("position", "id"))
    pipeline = next((p for p in pipelines if p.pk == filters.pipeline_id), None)
    if pipeline is None and pipelines:
        pipeline = pipelines[0]
    stages = _stages(pipeline) if pipeline else []
    totals = board_totals(user=user, filters=filters, stages=stages) if stages else {}
    open_ids = [stage.pk for stage in stages if stage.kind == StageKind.OPEN]
    first = _first_cards(user=user, filters=filters, stage_ids=open_ids, limit=limit)
    columns, closing = [], []
    for stage in stages:
        count, sums = totals.get(stage.pk, (0, []))
        column = Column(stage=stage, count=count, totals=sums)
        if stage.kind == StageKind.OPEN:
            deals = first.get(stage.pk, [])
            column.cards = _cards(user, deals[:limit])
            if len(deals) > limit:
                column.next_cursor = _cursor(deals[limit - 1])
            columns.append(column)
        else:
            closing.append(column)
    closing.sort(key=lambda column: column.stage.kind != StageKind.WON)
    return Board(
        pipelines=pipelines,
        pipeline=pipeline,
        columns=columns,
        closing=closing,
        filters=filters,
        can_move=can_write(user),
    )


def board_stage(*, pk: Any) -> Stage:
    """A live stage of a live pipeline, else ``NotFound``."""
    try:
        return Stage.objects.select_related("pipeline").get(
            pk=int(pk), archived=False, pipeline__archived=False
        )
    except (Stage.DoesNotExist, TypeError, ValueError):
        raise NotFound(_("Not found.")) from None


def board_column_page(
    *,
    user: ScopedUser,
    stage: Stage,
    filters: BoardFilters,
    cursor: str | None,
    limit: int = PAGE_SIZE,
) -> Page[Card]:
    """The next ``limit`` cards of one column after ``cursor`` (keyset, no count)."""
    queryset = board_deals(user=user, filters=filters).filter(stage_id=stage.pk)
    if stage.kind != StageKind.OPEN:
        queryset = queryset.filter(stage_entered_at__gte=_closed_since())
    page = keyset_page(_with_card_fields(queryset), order=ORDER, cursor=cursor, limit=limit)
    return Page(_cards(user, page.items), page.next_cursor)


def board_card(*, user: ScopedUser, pk: int) -> Card:
    """One card as the board shows it (after a move), else ``NotFound``."""
    deal = _with_card_fields(Deal.objects.visible_to(user)).filter(pk=pk).first()
    if deal is None:
        raise NotFound(_("Not found."))
    return _cards(user, [deal])[0]


def board_column_heads(
    *, user: ScopedUser, filters: BoardFilters, stages: list[Stage]
) -> list[Column]:
    """Fresh headers (count and sums) of some columns, e.g. the two a move touched."""
    totals = board_totals(user=user, filters=filters, stages=stages)
    columns = []
    for stage in stages:
        count, sums = totals.get(stage.pk, (0, []))
        columns.append(Column(stage=stage, count=count, totals=sums))
    return columns


# --- the "fill in the missing fields" dialog of a refused move -------------------------------


@dataclass
class Requirement:
    """One input of the dialog. ``widget`` is empty for requirements that cannot be typed
    in (products, payments, the client): the dialog sends the user to the deal's card."""

    name: str
    label: str
    widget: str
    choices: list[tuple[str, str]] = field(default_factory=list)
    value: Any = ""
    values: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


TYPED_WIDGETS: dict[str, str] = {
    DealField.AMOUNT: "decimal",
    DealField.EXPECTED_CLOSE: "date",
    DealField.INVOICE_NUMBER: "text",
    DealField.CONTRACT_NUMBER: "text",
}
CUSTOM_WIDGETS: dict[str, str] = {
    CustomFieldType.TEXT: "text",
    CustomFieldType.NUMBER: "decimal",
    CustomFieldType.DATE: "date",
    CustomFieldType.CHOICE: "select",
    CustomFieldType.MULTI_CHOICE: "multiple",
    CustomFieldType.BOOLEAN: "checkbox",
    CustomFieldType.URL: "url",
}
# Inputs of the dialog that become ``updates`` of the move (custom fields come as
# ``custom.<key>``).
UPDATABLE = ("amount", "expected_close", "invoice_number", "contract_number")


def move_requirements(
    *, deal: Deal, stage: Stage, field_errors: dict[str, list[str]], submitted: Any
) -> list[Requirement]:
    """What a refused move to ``stage`` asks for: the reason for a loss, the stage's
    requirements ``deal`` does not meet, and any field the last attempt got wrong.

    ``submitted`` (a query dict) refills what the user already typed.
    """
    names = []
    if stage.kind == StageKind.LOST and LostReason.objects.filter(archived=False).exists():
        names.append("lost_reason_id")
    names += missing_fields(deal, stage)
    names += [name for name in field_errors if name in UPDATABLE or name.startswith("custom.")]
    names = list(dict.fromkeys(names))
    keys = [name.removeprefix("custom.") for name in names if name.startswith("custom.")]
    definitions = {
        definition.key: definition
        for definition in CustomField.objects.filter(entity=FieldEntity.DEAL, key__in=keys)
    }
    labels = {key: definition.label for key, definition in definitions.items()}
    requirements = []
    for name in names:
        requirement = Requirement(
            name=name,
            label=requirement_label(name, labels),
            widget=TYPED_WIDGETS.get(name, ""),
            value=submitted.get(name, ""),
            values=submitted.getlist(name),
            # "Required" is said once above the inputs; an input shows what was wrong with
            # what the user typed into it.
            errors=field_errors.get(name, []) if submitted.get(name) else [],
        )
        if name == "lost_reason_id":
            requirement.label = capfirst(str(Deal._meta.get_field("lost_reason").verbose_name))
            requirement.widget = "select"
            requirement.choices = [
                (str(reason.pk), reason.name)
                for reason in LostReason.objects.filter(archived=False)
            ]
        elif name.startswith("custom."):
            definition = definitions.get(name.removeprefix("custom."))
            if definition is not None and definition.is_active:
                requirement.widget = CUSTOM_WIDGETS.get(definition.field_type, "text")
                requirement.choices = [(str(c), str(c)) for c in definition.choices or []]
        requirements.append(requirement)
    return requirements


def move_updates(submitted: Any) -> dict[str, Any]:
    """The field changes the dialog sends with a retried move (empty inputs left out)."""
    updates: dict[str, Any] = {}
    for name in UPDATABLE:
        value = str(submitted.get(name) or "").strip()
        if value:
            updates[name] = value
    custom: dict[str, Any] = {}
    for name in submitted:
        if not name.startswith("custom.") or len(name) > 60:
            continue
        values = [value for value in submitted.getlist(name) if value != ""]
        if values:
            custom[name.removeprefix("custom.")] = values if len(values) > 1 else values[0]
    if custom:
        updates["custom"] = custom
    return updates
