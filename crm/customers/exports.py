"""How the contact and company lists are exported (the registry's ``Exporter``, declared in
``records.py``): their columns, custom fields included, and their rows read in chunks as
plain dictionaries — one query per chunk for each kind of related row (phones and e-mails,
places of work, tags, addresses), never one per record and never a model instance.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
from operator import itemgetter
from typing import Any

from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from crm.accounts.selectors import user_names
from crm.core.permissions import ScopedUser
from crm.core.records import Card, ExportColumn, Exporter, keyset_chunks
from crm.core.spreadsheets import FORMULA_STARTS
from crm.customers.choices import (
    AddressKind,
    ClientType,
    ConsentSource,
    ContactPointKind,
    ContactPointLabel,
    FieldEntity,
    LegalForm,
    Source,
)
from crm.customers.kinds import COMPANY, CONTACT
from crm.customers.models import (
    Address,
    Company,
    Contact,
    ContactPoint,
    CustomField,
    Employment,
    Tag,
    company_display_name,
)
from crm.customers.selectors import CustomerFilters, custom_field_columns, customer_queryset

Row = dict[str, Any]

CONTACT_FIELDS = (
    "last_name",
    "first_name",
    "middle_name",
    "client_type",
    "owner_id",
    "source",
    "birthday",
    "consent_at",
    "consent_source",
    "notes",
    "custom",
    "created_at",
)
COMPANY_FIELDS = (
    "legal_name",
    "short_name",
    "legal_form",
    "kind",
    "inn",
    "kpp",
    "ogrn",
    "website",
    "industry",
    "owner_id",
    "source",
    "notes",
    "custom",
    "created_at",
)


# --- rows ------------------------------------------------------------------------------------


CLIENT_FIELDS = (
    "contact__last_name",
    "contact__first_name",
    "contact__middle_name",
    "company__legal_name",
    "company__short_name",
    "company__legal_form",
)
"""The columns another kind's export reads of its client (a deal's, a lead's contact and
company) for ``client_names_fill``."""


def client_names_fill(row: Row) -> None:
    """Set ``row["contact"]`` and ``row["company"]``, the names of a record's client as the
    lists show them, from the ``CLIENT_FIELDS`` read with it."""
    row["contact"] = " ".join(
        part
        for part in (
            row["contact__last_name"],
            row["contact__first_name"],
            row["contact__middle_name"],
        )
        if part
    )
    row["company"] = (
        company_display_name(
            row["company__legal_name"],
            row["company__short_name"] or "",
            row["company__legal_form"] or "",
        )
        if row["company__legal_name"] is not None
        else ""
    )


def _choice_labels(choices: Any) -> dict[str, str]:
    return {value: str(label) for value, label in choices}


def _related_order(model: Any) -> list[str]:
    """The order of a record's related rows of ``model``: the model's own, else by id
    (the same in both writers of the CSV file)."""
    return list(model._meta.ordering) or ["id"]


def _related(
    model: Any, owner: str, chunk: QuerySet[Any], bounds: tuple[int, int], *fields: str
) -> dict[int, list[tuple[Any, ...]]]:
    """``fields`` of the rows of ``model`` whose ``owner`` is a record of ``chunk``, by
    owner id, in the model's order (else by id).

    The chunk is named by its id range and the list's own condition as a subquery, not by
    a list of its ids: 2,000 parameters per query cost more to bind than the query itself.
    """
    first, last = bounds
    found: dict[int, list[tuple[Any, ...]]] = defaultdict(list)
    rows = model.objects.filter(
        **{f"{owner}__gte": first, f"{owner}__lte": last, f"{owner}__in": chunk}
    )
    for values in rows.order_by(*_related_order(model)).values_list(owner, *fields):
        found[values[0]].append(values[1:])
    return found


def _customer_chunks(
    rows: QuerySet[Any], size: int, owner: str, fields: Sequence[str]
) -> Iterator[list[Row]]:
    """Chunks of contacts or companies (``owner``: ``contact_id``/``company_id``) with
    their phones, e-mails, tags, addresses and responsible's name; contacts also with their
    places of work."""
    names = user_names()
    sources = _choice_labels(Source.choices)
    types = _choice_labels(ClientType.choices)
    consents = _choice_labels(ConsentSource.choices)
    model = Contact if owner == "contact_id" else Company
    tag_model = model.tags.through
    entity = FieldEntity.CONTACT if model is Contact else FieldEntity.COMPANY
    if not CustomField.objects.filter(entity=entity, is_active=True).exists():
        # decoding the JSON of every row costs a fifth of the export: only when needed
        fields = [name for name in fields if name != "custom"]
    for chunk in keyset_chunks(rows, fields, size):
        bounds = (chunk[0]["id"], chunk[-1]["id"])
        these = rows.filter(pk__gte=bounds[0], pk__lte=bounds[1]).values("pk")
        points = _related(
            ContactPoint, owner, these, bounds, "kind", "value", "label", "unsubscribed_at"
        )
        tags = _related(tag_model, owner, these, bounds, "tag__name")
        addresses = _related(Address, owner, these, bounds, "kind", "text")
        jobs = (
            _related(
                Employment,
                owner,
                these,
                bounds,
                "company__legal_name",
                "company__short_name",
                "company__legal_form",
                "position",
            )
            if owner == "contact_id"
            else {}
        )
        for row in chunk:
            pk = row["id"]
            own = points.get(pk, ())
            row["phones"] = [(value, label) for kind, value, label, _stop in own if kind == "phone"]
            row["emails"] = [(value, label) for kind, value, label, _stop in own if kind == "email"]
            row["unsubscribed"] = ", ".join(
                value for kind, value, _label, stop in own if kind == "email" and stop
            )
            row["tags"] = ", ".join(sorted(name for (name,) in tags.get(pk, ())))
            row["addresses"] = addresses.get(pk, [])
            row["jobs"] = [
                (company_display_name(legal, short, form), position)
                for legal, short, form, position in jobs.get(pk, ())
            ]
            row["owner"] = names.get(row["owner_id"], "")
            row["source_label"] = sources.get(row["source"], row["source"])
            row["type_label"] = types.get(row.get("client_type") or row.get("kind") or "", "")
            if owner == "contact_id":
                row["consent_label"] = consents.get(row["consent_source"], "")
        yield chunk


def _values(key: str) -> Any:
    return lambda row: ", ".join(value for value, _label in row[key])


def _filters(params: Mapping[str, str], *, of_contacts: bool) -> CustomerFilters:
    filters = CustomerFilters.from_params(params)
    if not of_contacts:
        filters.company_id = None  # as the company list: the filter is the contacts'
    return filters


# --- contacts --------------------------------------------------------------------------------


def _contact_columns() -> list[ExportColumn]:
    return [
        ExportColumn(_("ID"), itemgetter("id")),
        ExportColumn(_("Last name"), itemgetter("last_name")),
        ExportColumn(_("First name"), itemgetter("first_name")),
        ExportColumn(_("Patronymic"), itemgetter("middle_name")),
        ExportColumn(_("Client type"), itemgetter("type_label")),
        ExportColumn(_("Phones"), _values("phones")),
        ExportColumn(_("E-mails"), _values("emails")),
        ExportColumn(_("Companies"), lambda row: "; ".join(name for name, _ in row["jobs"])),
        ExportColumn(_("Position"), lambda row: "; ".join(job for _, job in row["jobs"] if job)),
        ExportColumn(_("Tags"), itemgetter("tags")),
        ExportColumn(_("Responsible"), itemgetter("owner")),
        ExportColumn(_("Source"), itemgetter("source_label")),
        ExportColumn(_("Birthday"), itemgetter("birthday")),
        ExportColumn(_("Consent to mailings"), itemgetter("consent_at")),
        ExportColumn(_("Consent source"), itemgetter("consent_label")),
        ExportColumn(_("Unsubscribed e-mails"), itemgetter("unsubscribed")),
        ExportColumn(_("Created"), itemgetter("created_at")),
        *custom_field_columns(FieldEntity.CONTACT),
    ]


_PHONE_TYPES = {
    ContactPointLabel.WORK: "work",
    ContactPointLabel.MOBILE: "cell",
    ContactPointLabel.HOME: "home",
}
_ADDRESS_TYPES = {
    AddressKind.HOME: "home",
    AddressKind.POSTAL: "postal",
    AddressKind.LEGAL: "work",
    AddressKind.ACTUAL: "work",
    AddressKind.DELIVERY: "parcel",
}


def contact_card(row: Row) -> Card:
    """A contact row (as the contact export reads it) as an address book entry."""
    organization, title = row["jobs"][0] if row["jobs"] else ("", "")
    return Card(
        family=row["last_name"],
        given=row["first_name"],
        additional=row["middle_name"],
        organization=organization,
        title=title,
        phones=tuple((_PHONE_TYPES.get(label, ""), value) for value, label in row["phones"]),
        emails=tuple(
            ("home" if label == ContactPointLabel.HOME else "work", value)
            for value, label in row["emails"]
        ),
        addresses=tuple((_ADDRESS_TYPES.get(kind, ""), text) for kind, text in row["addresses"]),
        birthday=row["birthday"],
        note=row["notes"],
    )


def _contacts(user: ScopedUser, params: Mapping[str, str]) -> QuerySet[Contact]:
    return customer_queryset(kind=CONTACT, user=user, filters=_filters(params, of_contacts=True))


def _contact_chunks(rows: QuerySet[Any], size: int) -> Iterator[list[Row]]:
    return _customer_chunks(rows, size, "contact_id", CONTACT_FIELDS)


# --- companies -------------------------------------------------------------------------------


def _company_columns() -> list[ExportColumn]:
    return [
        ExportColumn(_("ID"), itemgetter("id")),
        ExportColumn(_("Legal name"), itemgetter("legal_name")),
        ExportColumn(_("Short name"), itemgetter("short_name")),
        ExportColumn(_("Legal form"), itemgetter("legal_form")),
        ExportColumn(_("Client type"), itemgetter("type_label")),
        ExportColumn(_("ИНН"), itemgetter("inn")),
        ExportColumn(_("КПП"), itemgetter("kpp")),
        ExportColumn(_("ОГРН"), itemgetter("ogrn")),
        ExportColumn(_("Phones"), _values("phones")),
        ExportColumn(_("E-mails"), _values("emails")),
        ExportColumn(_("Website"), itemgetter("website")),
        ExportColumn(_("Industry"), itemgetter("industry")),
        ExportColumn(
            _("Addresses"), lambda row: "; ".join(text for _kind, text in row["addresses"])
        ),
        ExportColumn(_("Tags"), itemgetter("tags")),
        ExportColumn(_("Responsible"), itemgetter("owner")),
        ExportColumn(_("Source"), itemgetter("source_label")),
        ExportColumn(_("Created"), itemgetter("created_at")),
        *custom_field_columns(FieldEntity.COMPANY),
    ]


def _companies(user: ScopedUser, params: Mapping[str, str]) -> QuerySet[Company]:
    return customer_queryset(kind=COMPANY, user=user, filters=_filters(params, of_contacts=False))


def _company_chunks(rows: QuerySet[Any], size: int) -> Iterator[list[Row]]:
    return _customer_chunks(rows, size, "company_id", COMPANY_FIELDS)


# --- the same rows written by PostgreSQL (COPY) ----------------------------------------------
#
# ``copy_sql`` answers one SELECT whose columns are the text the Python path writes for the
# columns above, cell for cell (the CSV writer's ``csv_text``): related rows aggregated in
# the same order with the same separators, choices and users by their labels, moments in
# the current time zone to the minute, custom fields as ``_custom_cell`` writes them, and
# text that a spreadsheet would read as a formula neutralised as ``csv_text`` does it. An
# empty cell is NULL, which COPY writes as nothing (it quotes an empty string).


def _text(expression: str) -> tuple[str, list[Any]]:
    """``expression`` (text, a column) as ``csv_text`` writes it: with a leading apostrophe
    when it starts as a formula and is not a plain number; NULL when empty."""
    sql = (
        f"NULLIF(CASE WHEN left({expression}, 1) = ANY(%s) AND {expression} !~ %s"
        f" THEN '''' || {expression} ELSE {expression} END, '')"
    )
    plain_number = r"^\+?[0-9 ,()-]+$"  # exports_formats' _PLAIN_NUMBER
    return sql, [list(FORMULA_STARTS), plain_number]


def _labels(expression: str, choices: Any, *, fallback: bool) -> tuple[str, list[Any]]:
    """``expression`` replaced by its choice label (else itself or nothing)."""
    params: list[Any] = []
    whens = []
    for value, label in choices:
        whens.append("WHEN %s THEN %s")
        params += [value, str(label)]
    other = expression if fallback else "''"
    return f"(CASE {expression} {' '.join(whens)} ELSE {other} END)", params


class _Select:
    """A SELECT list being built in two levels: the inner query reads each cell's raw text
    once (``c0``, ``c1`` …: aggregates, labels), the outer one writes it as ``csv_text``
    does. An expression used several times in the outer level (the neutralisation reads a
    cell four times) is then a column, not a subquery run four times per row."""

    def __init__(self) -> None:
        self.inner: list[str] = []
        self.inner_params: list[Any] = []
        self.outer: list[str] = []
        self.outer_params: list[Any] = []

    def _column(self, sql: str, params: Sequence[Any]) -> str:
        name = f"c{len(self.inner)}"
        self.inner.append(f"{sql} AS {name}")
        self.inner_params += params
        return f"v.{name}"

    def plain(self, sql: str, *params: Any) -> None:
        """A cell written as it is (numbers, dates: never a formula)."""
        self.outer.append(self._column(sql, params))

    def text(self, sql: str, params: Sequence[Any] = ()) -> None:
        """A text cell, neutralised."""
        cell, cell_params = _text(self._column(f"({sql})", params))
        self.outer.append(cell)
        self.outer_params += cell_params

    def text_unless(
        self, sql: str, params: Sequence[Any], plain: str, plain_params: Sequence[Any]
    ) -> None:
        """A text cell, neutralised unless the boolean ``plain`` is true."""
        column = self._column(f"({sql})", params)
        flag = self._column(f"({plain})", plain_params)
        cell, cell_params = _text(column)
        self.outer.append(f"(CASE WHEN {flag} THEN {column} ELSE {cell} END)")
        self.outer_params += cell_params


def _q(name: str) -> str:
    return connection.ops.quote_name(name)


def _agg(
    model: Any, owner: str, value: str, separator: str, where: str = "", ordering: str = ""
) -> str:
    table = _q(model._meta.db_table)
    ordering = ordering or ", ".join(_q(name) for name in _order(model))
    return (
        f"(SELECT string_agg({value}, '{separator}' ORDER BY {ordering}) FROM {table}"  # noqa: S608
        f" WHERE {table}.{_q(owner)} = r.id{where})"
    )


def _order(model: Any) -> list[str]:
    """The columns ``_related`` orders the rows of ``model`` by."""
    return [model._meta.get_field(name).column for name in _related_order(model)]


def _owner_name() -> str:
    users = _q(get_user_model()._meta.db_table)
    return (
        f"(SELECT COALESCE(NULLIF(concat_ws(' ', NULLIF(u.first_name, ''),"  # noqa: S608
        f" NULLIF(u.last_name, '')), ''), u.username) FROM {users} u WHERE u.id = r.owner_id)"
    )


_NUMBER = (
    "(SELECT CASE WHEN x.n <> 0 AND abs(x.n) < 0.0001"
    " THEN trim_scale(x.n / power(10::numeric, x.e))::text || 'e-' || lpad((-x.e)::text, 2, '0')"
    " ELSE x.n::text END"
    " FROM (SELECT y.n, floor(log(abs(NULLIF(y.n, 0))))::int AS e"
    " FROM (SELECT {value}::numeric AS n) y) x)"
)
"""A stored number as Python writes it (``str``): an integer or a float's shortest form as
JSON keeps it, which PostgreSQL's numeric text keeps too, except a float under 1e-4, which
Python writes in exponent form (``1.5e-05``). (Numbers are stored under 1e15, where
Python's form has no exponent.)"""


def _custom(select: _Select, entity: str) -> None:
    """The active custom fields of ``entity`` as ``_custom_cell`` and ``csv_text`` write
    them: text neutralised, options joined, yes/no in words, numbers as stored."""
    yes, no = str(_("Yes")), str(_("No"))
    for key in (
        CustomField.objects.filter(entity=entity, is_active=True)
        .order_by("position", "id")
        .values_list("key", flat=True)
    ):
        value = "(r.custom -> %s::text)"
        kind = f"jsonb_typeof{value}"
        joined = (
            f"(SELECT string_agg(item, ', ' ORDER BY n)"  # noqa: S608
            f" FROM jsonb_array_elements_text{value} WITH ORDINALITY AS a(item, n))"
        )
        cell = (
            f"CASE {kind} WHEN 'string' THEN (r.custom ->> %s::text)"
            f" WHEN 'number' THEN {_NUMBER.format(value=value)} WHEN 'array' THEN {joined}"
            f" WHEN 'boolean' THEN (CASE WHEN {value}::boolean THEN %s ELSE %s END) END"
        )
        # numbers are not text: csv_text writes them as they are, never neutralised
        select.text_unless(cell, [key, key, key, key, key, yes, no], f"{kind} = 'number'", [key])


def _common_tail(select: _Select) -> None:
    select.text(_owner_name())
    source, params = _labels("r.source", Source.choices, fallback=True)
    select.text(source, params)


def _copy_sql(model: Any, rows: QuerySet[Any], select: _Select) -> tuple[str, list[Any]]:
    ids, id_params = rows.order_by().values("pk").query.sql_with_params()
    table = _q(model._meta.db_table)
    # OFFSET 0 keeps the inner query whole (not merged into the outer one, which would
    # copy its subqueries into every place a column is read)
    sql = (
        f"SELECT {', '.join(select.outer)} FROM (SELECT {', '.join(select.inner)}"  # noqa: S608 (names from the models, values as parameters)
        f" FROM {table} r WHERE r.id IN ({ids}) ORDER BY r.id OFFSET 0) v"
    )
    return sql, [*select.outer_params, *select.inner_params, *id_params]


def _local_minute(column: str) -> tuple[str, str]:
    """A moment as ``csv_text`` writes it: local time to the minute (NULL stays empty)."""
    return (
        f"to_char({column} AT TIME ZONE %s, 'YYYY-MM-DD HH24:MI')",
        timezone.get_current_timezone_name(),
    )


def _created(select: _Select) -> None:
    select.plain(*_local_minute("r.created_at"))


def _points(select: _Select, owner: str) -> None:
    for kind in (ContactPointKind.PHONE, ContactPointKind.EMAIL):
        select.text(
            _agg(ContactPoint, owner, "value", ", ", f" AND {_q('kind')} = %s"), [kind.value]
        )


def _tags(select: _Select, model: Any, owner: str) -> None:
    """The record's tag names in code-point order (``COLLATE "C"``: Python's ``sorted``)."""
    through = model.tags.through
    tags = _q(Tag._meta.db_table)
    name = f"(SELECT t.name FROM {tags} t WHERE t.id = {_q(through._meta.db_table)}.tag_id)"  # noqa: S608
    select.text(_agg(through, owner, name, ", ", ordering=f'{name} COLLATE "C"'))


def _contact_copy_sql(rows: QuerySet[Any]) -> tuple[str, list[Any]]:
    select = _Select()
    select.plain("r.id")
    for name in ("last_name", "first_name", "middle_name"):
        select.text(f"r.{_q(name)}")
    select.text(*_labels("r.client_type", ClientType.choices, fallback=False))
    _points(select, "contact_id")
    companies = _q(Company._meta.db_table)
    employments = _q(Employment._meta.db_table)
    name = "COALESCE(NULLIF(c.short_name, ''), c.legal_name)"
    display = (
        f"(SELECT CASE WHEN c.legal_form <> '' AND c.legal_form <> ALL(%s)"  # noqa: S608
        f" THEN c.legal_form || ' «' || {name} || '»' ELSE {name} END"
        f" FROM {companies} c WHERE c.id = {employments}.company_id)"
    )
    plain_forms = [[LegalForm.OTHER.value, LegalForm.GOV.value]]
    select.text(_agg(Employment, "contact_id", display, "; "), plain_forms)
    select.text(_agg(Employment, "contact_id", f"NULLIF({employments}.position, '')", "; "))
    _tags(select, Contact, "contact_id")
    _common_tail(select)
    select.plain("to_char(r.birthday, 'YYYY-MM-DD')")
    select.plain(*_local_minute("r.consent_at"))
    select.text(*_labels("r.consent_source", ConsentSource.choices, fallback=False))
    select.text(
        _agg(
            ContactPoint,
            "contact_id",
            "value",
            ", ",
            f" AND {_q('kind')} = %s AND {_q('unsubscribed_at')} IS NOT NULL",
        ),
        [ContactPointKind.EMAIL.value],
    )
    _created(select)
    _custom(select, FieldEntity.CONTACT)
    return _copy_sql(Contact, rows, select)


def _company_copy_sql(rows: QuerySet[Any]) -> tuple[str, list[Any]]:
    select = _Select()
    select.plain("r.id")
    for name in ("legal_name", "short_name", "legal_form"):
        select.text(f"r.{_q(name)}")
    select.text(*_labels("r.kind", ClientType.choices, fallback=False))
    for name in ("inn", "kpp", "ogrn"):
        select.text(f"r.{_q(name)}")
    _points(select, "company_id")
    for name in ("website", "industry"):
        select.text(f"r.{_q(name)}")
    select.text(_agg(Address, "company_id", "text", "; "))
    _tags(select, Company, "company_id")
    _common_tail(select)
    _created(select)
    _custom(select, FieldEntity.COMPANY)
    return _copy_sql(Company, rows, select)


CONTACT_EXPORT = Exporter(
    kind="contact",
    name="contacts",
    select=_contacts,
    columns=_contact_columns,
    chunks=_contact_chunks,
    card=contact_card,
    copy_sql=_contact_copy_sql,
)
COMPANY_EXPORT = Exporter(
    kind="company",
    name="companies",
    select=_companies,
    columns=_company_columns,
    chunks=_company_chunks,
    copy_sql=_company_copy_sql,
)
