"""The clients report: new clients by type, clients with no touch for N days, top clients
by revenue and the ABC analysis of clients by revenue.

Definitions (what each figure counts):

- Clients are the viewer's live contacts and companies (``visible_to``), limited by the
  report's manager/team (the client's responsible) and client type filters; the pipeline
  and source filters limit the deals behind the revenue figures only.
- *New* counts the clients created in the period (and in the period before), by record
  kind and client type.
- A client's *last touch* is the latest of: its creation, its last timeline entry, the last
  activity on any of its deals — stored on the client (``last_touch_at``, kept exact by
  every write that moves it: ``customers.services.touch``) and read from an index. *No
  touch for N days*: the last touch is more than N days before now; listed oldest first, a
  page at a time.
- *Revenue* is the amount of the viewer's deals won in the period (by closing moment), per
  client (the deal's company, otherwise its contact) and per currency; currencies are never
  added together, so the top and the ABC classes are drawn per currency.
- ABC: clients in descending revenue; a client is in class A while the revenue of the
  clients before it is under 80 % of the currency's total, B under 95 %, C beyond — so the
  first client is always A and the classes hold about 80 %, 15 % and 5 % of the revenue.

Counting and the running totals of the ABC are SQL (``GROUP BY``,
subqueries, window sums); Python only labels the client groups and assigns their class.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.core.paginator import Page, Paginator
from django.db.models import (
    CharField,
    Count,
    DecimalField,
    F,
    Func,
    Min,
    QuerySet,
    Sum,
    Value,
    Window,
)
from django.db.models.functions import Cast, Coalesce, Concat, NullIf, Trim
from django.utils.translation import gettext as _

from crm.accounts.models import User
from crm.analytics.filters import ReportFilters
from crm.analytics.periods import Period
from crm.analytics.selectors import dashboard as dashboard_selectors
from crm.core.errors import ValidationFailed
from crm.customers.choices import ClientType, Entity
from crm.customers.models import Company, Contact
from crm.sales.choices import DealStatus
from crm.sales.models import Deal

Money = dict[str, Decimal]
DEFAULT_DAYS = 30
MAX_DAYS = 3650
PAGE_SIZE = 25
TOP = 10
A_SHARE = Decimal("0.80")
B_SHARE = Decimal("0.95")


@dataclass
class NewClients:
    """Clients created in the period and the period before, of one kind and type."""

    entity: str
    client_type: str
    label: str
    count: int = 0
    before: int = 0


@dataclass
class ClientRevenue:
    """A client's revenue in one currency, its rank and ABC class."""

    entity: str
    pk: int
    name: str
    currency: str
    revenue: Decimal
    deals: int
    share: Decimal
    abc: str

    @property
    def money(self) -> Money:
        return {self.currency: self.revenue}


@dataclass
class AbcClass:
    """One ABC class of one currency."""

    currency: str
    abc: str
    clients: int = 0
    revenue: Decimal = Decimal(0)
    share: Decimal = Decimal(0)

    @property
    def money(self) -> Money:
        return {self.currency: self.revenue}


@dataclass
class ClientsReport:
    period: Period
    days: int
    new: list[NewClients]
    untouched: Page[Any]
    untouched_since: dt.datetime
    top: list[ClientRevenue]
    abc: list[AbcClass]
    currencies: list[str] = field(default_factory=list)

    @property
    def new_total(self) -> int:
        return sum(row.count for row in self.new)

    @property
    def new_total_before(self) -> int:
        return sum(row.before for row in self.new)


class _Total(Func):
    """``SUM`` over a group's aggregate, as a window function (running and grand totals)."""

    function = "SUM"
    window_compatible = True
    output_field = DecimalField(max_digits=20, decimal_places=2)


class _GroupWindow(Window):
    """A window over a grouped query's aggregates: marked as aggregate so Django does not
    add the window itself to the ``GROUP BY`` (it does when the grouping names an
    annotation, as ``entity`` here)."""

    contains_aggregate = True


def days_parse(value: Any) -> int:
    """N of "no touch for N days": ``DEFAULT_DAYS`` when absent, otherwise a whole number
    from 1 to ``MAX_DAYS``."""
    if value in (None, ""):
        return DEFAULT_DAYS
    raw = str(value).strip()
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_DAYS:
        raise ValidationFailed(
            field_errors={
                "days": [_("Enter a whole number of days from 1 to %(most)d.") % {"most": MAX_DAYS}]
            }
        )
    return int(raw)


def page_parse(value: Any) -> int:
    """The page of the untouched clients' list (1 when absent)."""
    if value in (None, ""):
        return 1
    raw = str(value).strip()
    if not raw.isdigit() or int(raw) < 1 or len(raw) > 9:
        raise ValidationFailed(field_errors={"page": [_("Must be a whole number.")]})
    return int(raw)


def client_scopes(viewer: User) -> dict[Any, QuerySet[Any]]:
    """The contacts and companies ``viewer`` may see, each read once per report
    (``visible_to_resolved``: the shared ids as values) and narrowed per figure."""
    return {model: model.objects.visible_to_resolved(viewer) for model in (Contact, Company)}


def _clients(
    viewer: User, filters: ReportFilters, model: Any, scopes: dict[Any, QuerySet[Any]]
) -> QuerySet[Any]:
    clients = scopes[model]
    owners = filters.owner_ids(viewer)
    if owners is not None:
        clients = clients.filter(owner_id__in=sorted(owners))
    if filters.client_type:
        column = "kind" if model is Company else "client_type"
        clients = clients.filter(**{column: filters.client_type})
    return clients.order_by()


def _new(
    viewer: User, filters: ReportFilters, period: Period, scopes: dict[Any, QuerySet[Any]]
) -> list[NewClients]:
    labels = dict(ClientType.choices)
    rows: dict[tuple[str, str], NewClients] = {}
    for entity, model, column in (
        (Entity.CONTACT, Contact, "client_type"),
        (Entity.COMPANY, Company, "kind"),
    ):
        clients = _clients(viewer, filters, model, scopes)
        for attribute, when in (("count", period), ("before", period.previous())):
            for row in (
                clients.filter(created_at__gte=when.start_at, created_at__lt=when.end_at)
                .values(column)
                .annotate(number=Count("*"))
            ):
                key = (str(entity), row[column])
                target = rows.setdefault(
                    key,
                    NewClients(
                        str(entity),
                        row[column],
                        f"{Entity(entity).label}: {labels.get(row[column], row[column])}",
                    ),
                )
                setattr(target, attribute, getattr(target, attribute) + row["number"])
    return sorted(rows.values(), key=lambda row: (row.entity, row.client_type))


# Trimmed: a contact may have only a last name or only a first name.
CONTACT_NAME = Trim(Concat("last_name", Value(" "), "first_name", output_field=CharField()))
COMPANY_NAME = Coalesce(NullIf("short_name", Value("")), "legal_name", output_field=CharField())


def untouched_clients(
    viewer: User,
    filters: ReportFilters,
    *,
    before: dt.datetime,
    scopes: dict[Any, QuerySet[Any]] | None = None,
) -> QuerySet[Any]:
    """The viewer's clients (both kinds, as ``entity``, ``pk``, ``owner_id``,
    ``last_touch`` rows) whose last touch is before ``before``, oldest touch first
    (``scopes``: the report's ``client_scopes``, read here when not given). Unnamed, so
    the count and the page come from an index alone on PostgreSQL (``untouched_named``
    names a page's rows)."""
    scopes = scopes if scopes is not None else client_scopes(viewer)
    both: list[QuerySet[Any]] = [
        _clients(viewer, filters, model, scopes)
        .filter(last_touch_at__lt=before)
        .annotate(
            entity=Value(str(entity), output_field=CharField()), last_touch=F("last_touch_at")
        )
        .values("entity", "pk", "owner_id", "last_touch")
        for entity, model in ((Entity.CONTACT, Contact), (Entity.COMPANY, Company))
    ]
    return both[0].union(both[1], all=True).order_by("last_touch", "entity", "pk")


def untouched_named(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``rows`` of ``untouched_clients`` (a page of them), each with the client's ``name``
    (the contact's "last first", the company's short name or else its legal name): a query
    per kind of client."""
    for entity, model, name in (
        (Entity.CONTACT, Contact, CONTACT_NAME),
        (Entity.COMPANY, Company, COMPANY_NAME),
    ):
        wanted = sorted(row["pk"] for row in rows if row["entity"] == entity)
        if not wanted:
            continue
        names = dict(
            model.objects.filter(pk__in=wanted)
            .order_by()
            .annotate(shown=name)
            .values_list("pk", "shown")
        )
        for row in rows:
            if row["entity"] == entity:
                row["name"] = names.get(row["pk"], "")
    return rows


def _ranked(viewer: User, filters: ReportFilters, period: Period) -> Any:
    """Per currency and client (``client_key``: ``company:<id>`` or ``contact:<id>``): the
        revenue, the running total in descending revenue (ties broken by the client's first
    deal) and the currency's total."""
    deals = (
        filters.deals(viewer, Deal.objects.visible_to_resolved(viewer))
        .filter(
            status=DealStatus.WON,
            closed_at__gte=period.start_at,
            closed_at__lt=period.end_at,
        )
        .exclude(company__isnull=True, contact__isnull=True)
        .annotate(
            entity=Coalesce(
                NullIf(
                    Concat(Value("company:"), Cast("company_id", CharField())),
                    Value("company:"),
                ),
                Concat(Value("contact:"), Cast("contact_id", CharField())),
                output_field=CharField(),
            )
        )
    )
    return (
        deals.filter(amount__isnull=False)
        .order_by()
        .values("currency", "entity")
        .annotate(
            revenue=Sum("amount"),
            deals=Count("pk"),
            running=_GroupWindow(
                _Total(Sum("amount")),
                partition_by=[F("currency")],
                order_by=[Sum("amount").desc(), Min("pk").asc()],
            ),
            total=_GroupWindow(_Total(Sum("amount")), partition_by=[F("currency")]),
        )
        .order_by("currency", "running")
    )


def _abc(
    viewer: User, filters: ReportFilters, period: Period
) -> tuple[list[ClientRevenue], list[AbcClass]]:
    """The clients with revenue, ranked per currency and classed, and the classes' sums;
    unnamed (``_name`` reads the names of those the report shows)."""
    ranked = list(_ranked(viewer, filters, period))
    clients: list[ClientRevenue] = []
    classes: dict[tuple[str, str], AbcClass] = {}
    for row in ranked:
        total = row["total"] or Decimal(0)
        before = row["running"] - row["revenue"]
        share_before = before / total if total else Decimal(0)
        abc = "A" if share_before < A_SHARE else "B" if share_before < B_SHARE else "C"
        kind, number = row["entity"].split(":")
        share = row["revenue"] / total if total else Decimal(0)
        clients.append(
            ClientRevenue(
                kind,
                int(number),
                "",
                row["currency"],
                row["revenue"],
                row["deals"],
                share,
                abc,
            )
        )
        target = classes.setdefault((row["currency"], abc), AbcClass(row["currency"], abc))
        target.clients += 1
        target.revenue += row["revenue"]
        target.share += share
    return clients, [classes[key] for key in sorted(classes)]


def _name(rows: list[ClientRevenue]) -> None:
    """Set the names of ``rows`` (a query per kind of client, whatever their number): only
    the clients shown are read, not every client with revenue."""
    for entity, model in ((Entity.COMPANY, Company), (Entity.CONTACT, Contact)):
        wanted = sorted({row.pk for row in rows if row.entity == entity})
        clients = model.objects.filter(pk__in=wanted).order_by()
        names = {client.pk: str(client) for client in clients}
        for row in rows:
            if row.entity == entity:
                row.name = names.get(row.pk, "")


def clients_report(
    *,
    viewer: User,
    period: Period,
    filters: ReportFilters,
    days: int = DEFAULT_DAYS,
    page: int = 1,
    now: dt.datetime | None = None,
) -> ClientsReport:
    """The clients report of ``period`` for ``viewer`` (see the module's docstring); the
    untouched clients' list is cut in pages of ``PAGE_SIZE``."""
    moment = now or dashboard_selectors.clock()
    since = moment - dt.timedelta(days=days)
    scopes = client_scopes(viewer)
    untouched = Paginator(
        untouched_clients(viewer, filters, before=since, scopes=scopes), PAGE_SIZE
    ).get_page(page)
    untouched.object_list = untouched_named(list(untouched.object_list))
    ranked, abc = _abc(viewer, filters, period)
    top: list[ClientRevenue] = []
    for currency in sorted({row.currency for row in ranked}):
        top += [row for row in ranked if row.currency == currency][:TOP]
    _name(top)
    return ClientsReport(
        period=period,
        days=days,
        new=_new(viewer, filters, period, scopes),
        untouched=untouched,
        untouched_since=since,
        top=top,
        abc=abc,
        currencies=sorted({row.currency for row in ranked}),
    )


def clients_chart(report: ClientsReport) -> dict[str, Any]:
    """The page's charts: new clients by kind and type (this period and the one before),
    and per currency the revenue of the ABC classes."""
    return {
        "labels": [row.label for row in report.new],
        "series": [
            {"name": str(_("This period")), "values": [row.count for row in report.new]},
            {"name": str(_("Previous period")), "values": [row.before for row in report.new]},
        ],
        "abc_labels": ["A", "B", "C"],
        "abc_series": [
            {
                "name": currency,
                "values": [
                    float(
                        sum(
                            (
                                row.revenue
                                for row in report.abc
                                if row.currency == currency and row.abc == abc
                            ),
                            Decimal(0),
                        )
                    )
                    for abc in ("A", "B", "C")
                ],
            }
            for currency in report.currencies
        ],
    }
