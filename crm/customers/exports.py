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

from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from crm.accounts.selectors import user_names
from crm.core.permissions import ScopedUser
from crm.core.records import Card, ExportColumn, Exporter, keyset_chunks
from crm.customers.choices import (
    AddressKind,
    ClientType,
    ContactPointLabel,
    FieldEntity,
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


def _related(
    model: Any, owner: str, chunk: QuerySet[Any], bounds: tuple[int, int], *fields: str
) -> dict[int, list[tuple[Any, ...]]]:
    """``fields`` of the rows of ``model`` whose ``owner`` is a record of ``chunk``, by
    owner id, in the model's order.

    The chunk is named by its id range and the list's own condition as a subquery, not by
    a list of its ids: 2,000 parameters per query cost more to bind than the query itself.
    """
    first, last = bounds
    found: dict[int, list[tuple[Any, ...]]] = defaultdict(list)
    rows = model.objects.filter(
        **{f"{owner}__gte": first, f"{owner}__lte": last, f"{owner}__in": chunk}
    )
    for values in rows.values_list(owner, *fields):
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
    model = Contact if owner == "contact_id" else Company
    tag_model = model.tags.through
    entity = FieldEntity.CONTACT if model is Contact else FieldEntity.COMPANY
    if not CustomField.objects.filter(entity=entity, is_active=True).exists():
        # decoding the JSON of every row costs a fifth of the export: only when needed
        fields = [name for name in fields if name != "custom"]
    for chunk in keyset_chunks(rows, fields, size):
        bounds = (chunk[0]["id"], chunk[-1]["id"])
        these = rows.filter(pk__gte=bounds[0], pk__lte=bounds[1]).values("pk")
        points = _related(ContactPoint, owner, these, bounds, "kind", "value", "label")
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
            row["phones"] = [(value, label) for kind, value, label in own if kind == "phone"]
            row["emails"] = [(value, label) for kind, value, label in own if kind == "email"]
            row["tags"] = ", ".join(name for (name,) in tags.get(pk, ()))
            row["addresses"] = addresses.get(pk, [])
            row["jobs"] = [
                (company_display_name(legal, short, form), position)
                for legal, short, form, position in jobs.get(pk, ())
            ]
            row["owner"] = names.get(row["owner_id"], "")
            row["source_label"] = sources.get(row["source"], row["source"])
            row["type_label"] = types.get(row.get("client_type") or row.get("kind") or "", "")
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


CONTACT_EXPORT = Exporter(
    kind="contact",
    name="contacts",
    select=_contacts,
    columns=_contact_columns,
    chunks=_contact_chunks,
    card=contact_card,
)
COMPANY_EXPORT = Exporter(
    kind="company",
    name="companies",
    select=_companies,
    columns=_company_columns,
    chunks=_company_chunks,
)
