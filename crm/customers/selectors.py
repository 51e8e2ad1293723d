"""Reads of the customer base, always through the viewer's row-level scope.

Each selector owns its ``select_related``/``prefetch_related`` so a list costs the same
number of queries for one row and for fifty.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.db.models import Prefetch, Q, QuerySet
from django.http import Http404
from django.utils.translation import gettext as _

from crm.accounts.models import User
from crm.activities.models import TimelineEntry
from crm.activities.selectors import timeline_for
from crm.core.normalize import format_phone
from crm.core.pagination import Page, keyset_page, keyset_values_page
from crm.core.permissions import ScopedUser
from crm.core.records import ExportColumn
from crm.core.search import filter_by_words, words_rank
from crm.customers.choices import ClientType, ContactPointKind, Entity
from crm.customers.kinds import COMPANY, CONTACT, CustomerKind, RecordT
from crm.customers.models import (
    Company,
    Contact,
    ContactPoint,
    CustomField,
    Employment,
    Tag,
    company_display_name,
)
from crm.customers.permissions import owners_in_scope
from crm.customers.querysets import CustomerT

CONTACT_ORDERS = CONTACT.orders
COMPANY_ORDERS = COMPANY.orders
PHONE_SUFFIX_MIN = 4


@dataclass
class CustomerFilters:
    """Filters shared by the list pages, the API and the bulk reassignment."""

    q: str = ""
    owner_id: int | None = None
    client_type: str = ""
    tag: str = ""
    source: str = ""
    company_id: int | None = None

    @classmethod
    def from_params(cls, params: Any) -> CustomerFilters:
        """Read filters from a query dict (GET parameters); malformed ids are ignored."""

        def as_id(name: str) -> int | None:
            value = str(params.get(name) or "")
            return int(value) if value.isdigit() and len(value) < 19 else None

        return cls(
            q=str(params.get("q") or "")[:100],
            owner_id=as_id("owner"),
            client_type=str(params.get("client_type") or "")[:16],
            tag=str(params.get("tag") or "")[:50],
            source=str(params.get("source") or "")[:20],
            company_id=as_id("company"),
        )


def _digits(text: str) -> str:
    return "".join(ch for ch in text if ch.isdigit())


def _looks_like_phone(text: str) -> bool:
    digits = _digits(text)
    return len(digits) >= PHONE_SUFFIX_MIN and len(digits) >= len(text.replace(" ", "")) * 0.6


def _digits_prefix_range(prefix: str) -> dict[str, str]:
    """``startswith`` for a string of digits as a range, which any B-tree index serves.

    SQLite's LIKE is case-insensitive and cannot use the plain index on
    ``digits_reversed`` (a full scan: ~50 ms at 100k contacts); digit strings sort the
    same in every collation, so ``prefix <= value < next prefix`` is the same set.
    """
    condition = {"digits_reversed__gte": prefix}
    stem = prefix.rstrip("9")
    if stem:
        condition["digits_reversed__lt"] = stem[:-1] + str(int(stem[-1]) + 1)
    return condition


_EMAIL_FRAGMENT = re.compile(r"[\w.%+-]+(@[\w.-]*)?")


def _looks_like_email(text: str) -> bool:
    """An e-mail or the start of one: ``ivan@``, ``i.petrov``, ``sales_dept`` (not a bare word)."""
    return "@" in text or (
        bool(_EMAIL_FRAGMENT.fullmatch(text)) and any(ch in text for ch in "._") and " " not in text
    )


def _text_prefix(prefix: str) -> dict[str, str]:
    """``value`` starts with ``prefix``, in the form each database can serve from an index.

    PostgreSQL uses ``LIKE 'prefix%'`` with the ``varchar_pattern_ops`` index of migration
    0003; SQLite compares bytes (BINARY collation), so a range on the plain index is exact.
    """
    if connection.vendor == "postgresql":
        return {"value__startswith": prefix}
    return {"value__gte": prefix, "value__lt": prefix + "\U0010ffff"}


# The contact or company ids of contact points (a flat ``values_list`` of one column).
PointIds = QuerySet[ContactPoint, int]


def _points_suffix(digits: str, owner_field: str) -> PointIds:
    """Ids of contacts/companies with a phone ending in ``digits`` (indexed prefix)."""
    ids: PointIds = ContactPoint.objects.filter(
        kind=ContactPointKind.PHONE,
        **_digits_prefix_range(digits[::-1]),
        **{f"{owner_field}__isnull": False},
    ).values_list(f"{owner_field}_id", flat=True)
    return ids


POINT_IDS_INLINE = 2000


def _few_ids_or_subquery(ids: PointIds) -> PointIds | list[int]:
    """The owner ids of matching contact points, as a list when there are few of them.

    A short list lets the database walk the few matching rows; as a subquery, the planner
    tends to scan the whole table in list order looking for them (hundreds of ms at 1M
    contacts when nothing matches). A broad match stays a subquery, so nothing is cut off.
    """
    column = ids.query.values_select[0]
    found = list(ids.order_by().values_list(column, flat=True)[: POINT_IDS_INLINE + 1])
    return found if len(found) <= POINT_IDS_INLINE else ids


def _apply_query(
    queryset: QuerySet[CustomerT], q: str, kind: CustomerKind[Any]
) -> QuerySet[CustomerT]:
    owner_field = kind.entity
    q = (q or "").strip()[:100]
    if not q:
        return queryset
    if _looks_like_email(q):
        email_ids = ContactPoint.objects.filter(
            kind=ContactPointKind.EMAIL,
            **_text_prefix(q.lower()),
            **{f"{owner_field}__isnull": False},
        ).values_list(f"{owner_field}_id", flat=True)
        return queryset.filter(pk__in=_few_ids_or_subquery(email_ids))
    if _looks_like_phone(q):
        digits = _digits(q)
        if digits.startswith("8") and len(digits) == 11:
            digits = "7" + digits[1:]
        condition = Q(pk__in=_few_ids_or_subquery(_points_suffix(digits, owner_field)))
        for name, lengths in kind.number_fields.items():
            if len(digits) in lengths:
                condition |= Q(**{name: digits})
        return queryset.filter(condition)
    return filter_by_words(queryset, q)


def _filter(
    queryset: QuerySet[CustomerT], filters: CustomerFilters, kind: CustomerKind[Any]
) -> QuerySet[CustomerT]:
    queryset = _apply_query(queryset, filters.q, kind)
    if filters.owner_id:
        queryset = queryset.filter(owner_id=filters.owner_id)
    if filters.client_type:
        queryset = queryset.filter(**{kind.type_field: filters.client_type})
    if filters.tag:
        queryset = queryset.filter(tags__name__iexact=filters.tag)
    if filters.source:
        queryset = queryset.filter(source=filters.source)
    if filters.company_id and kind is CONTACT:
        queryset = queryset.filter(employments__company_id=filters.company_id)
    return queryset


def _list_prefetch() -> list[Any]:
    return [
        Prefetch("points", queryset=ContactPoint.objects.order_by("position", "id")),
        "tags",
    ]


def customer_queryset(
    *, kind: CustomerKind[RecordT], user: ScopedUser, filters: CustomerFilters | None = None
) -> QuerySet[RecordT]:
    """Records of ``kind`` that ``user`` may see (the customer policy), narrowed by
    ``filters`` (no ordering, no prefetch)."""
    return _filter(kind.model.objects.visible_to(user), filters or CustomerFilters(), kind)


def contact_queryset(
    *, user: ScopedUser, filters: CustomerFilters | None = None
) -> QuerySet[Contact]:
    """Contacts ``user`` may see, narrowed by ``filters`` (no ordering, no prefetch)."""
    return customer_queryset(kind=CONTACT, user=user, filters=filters)


def company_queryset(
    *, user: ScopedUser, filters: CustomerFilters | None = None
) -> QuerySet[Company]:
    """Companies ``user`` may see, narrowed by ``filters`` (no ordering, no prefetch)."""
    return customer_queryset(kind=COMPANY, user=user, filters=filters)


def _links(kind: CustomerKind[Any], user: ScopedUser) -> Prefetch[str, QuerySet[Employment], str]:
    """A record's links to the other kind: a contact's places of work with their companies,
    a company's people — only those ``user`` may see: the card must not leak others."""
    if kind is CONTACT:
        return Prefetch("employments", queryset=Employment.objects.select_related("company"))
    return Prefetch(
        "employments",
        queryset=Employment.objects.filter(
            contact__in=Contact.objects.visible_to(user)
        ).select_related("contact"),
    )


def customer_list(
    *,
    kind: CustomerKind[RecordT],
    user: ScopedUser,
    filters: CustomerFilters | None = None,
    order: str = "new",
    cursor: str | None = None,
    limit: int = 50,
) -> Page[RecordT]:
    """A page of records of ``kind`` for the API and exports: owner, phones, e-mails,
    addresses and tags loaded, and a contact's places of work."""
    queryset = (
        customer_queryset(kind=kind, user=user, filters=filters)
        .select_related("owner")
        .prefetch_related(*_list_prefetch(), "addresses")
    )
    if kind is CONTACT:
        queryset = queryset.prefetch_related(_links(kind, user))
    return keyset_page(
        queryset, order=kind.orders.get(order, kind.orders["new"]), cursor=cursor, limit=limit
    )


def contact_list(*, user: ScopedUser, **page: Any) -> Page[Contact]:
    """A page of contacts: ``customer_list`` of the contact kind."""
    return customer_list(kind=CONTACT, user=user, **page)


def company_list(*, user: ScopedUser, **page: Any) -> Page[Company]:
    """A page of companies: ``customer_list`` of the company kind."""
    return customer_list(kind=COMPANY, user=user, **page)


# --- the list and card pages: only what they show --------------------------------------------
#
# The API's selectors above load whole records. The HTML pages show a few columns of each
# row, and at 50 rows building every field (``search_text``, ``notes``, ``custom``) and
# whole companies and users costs more than the SQL. Related rows of a table go into plain
# lists (``to_attr``): a prefetch into ``.all()`` builds a filtered queryset per row.

USER_NAME_FIELDS = ("username", "first_name", "last_name")  # what ``str(user)`` reads
COMPANY_NAME_FIELDS = ("legal_name", "short_name", "legal_form")  # ``Company.display_name``


def _user_name(relation: str) -> list[str]:
    return [relation, *(f"{relation}__{name}" for name in USER_NAME_FIELDS)]


def _users_by_name() -> QuerySet[User]:
    return User.objects.only("id", *USER_NAME_FIELDS)


def _deferred_user_fields(relation: str) -> list[str]:
    """The fields of a joined user that ``str(user)`` does not read."""
    return [
        f"{relation}__{field.attname}"
        for field in User._meta.concrete_fields
        if field.attname not in ("id", *USER_NAME_FIELDS)
    ]


def _employments_by_company_name() -> QuerySet[Employment]:
    return Employment.objects.select_related("company").only(
        "id",
        "contact",
        "company",
        "position",
        "is_primary",
        *(f"company__{name}" for name in COMPANY_NAME_FIELDS),
    )


@dataclass(slots=True)
class ContactRow:
    """A row of the contact list: the values it shows, without a model instance.

    ``owner`` is the responsible user's name as ``str(user)`` gives it; the lists are
    filled by ``_attach_table_lists``.
    """

    pk: int
    client_type: str
    last_name: str
    first_name: str
    middle_name: str
    owner: str
    created_at: dt.datetime
    phone_list: list[dict[str, str]] = field(default_factory=list)
    email_list: list[str] = field(default_factory=list)
    tag_list: list[str] = field(default_factory=list)
    employment_list: list[dict[str, Any]] = field(default_factory=list)

    @property
    def full_name(self) -> str:
        names = (self.last_name, self.first_name, self.middle_name)
        return " ".join(name for name in names if name)  # ``Contact.full_name``

    def get_client_type_display(self) -> str:
        return str(dict(ClientType.choices).get(self.client_type, self.client_type))


CONTACT_ROW_FIELDS = (
    "id",
    "client_type",
    "last_name",
    "first_name",
    "middle_name",
    "created_at",
    *(f"owner__{name}" for name in USER_NAME_FIELDS),
)


def _contact_row(values: dict[str, Any]) -> ContactRow:
    owner = f"{values['owner__first_name']} {values['owner__last_name']}".strip()
    return ContactRow(
        pk=values["id"],
        client_type=values["client_type"],
        last_name=values["last_name"],
        first_name=values["first_name"],
        middle_name=values["middle_name"],
        owner=owner or values["owner__username"],  # ``str(user)``: the full name or the login
        created_at=values["created_at"],
    )


def contact_table(
    *,
    user: ScopedUser,
    filters: CustomerFilters | None = None,
    order: str = "new",
    cursor: str | None = None,
    limit: int = 50,
) -> Page[ContactRow]:
    """A page of contacts for the list page: the columns it shows and nothing else.

    The rows are ``ContactRow`` values read with the owner's name in one query (fifty
    contacts and their owners as model instances cost more than the query), with plain
    lists: ``phone_list`` (``value`` and ``display`` of the primary phones),
    ``email_list`` (primary e-mails), ``tag_list`` (tag names) and ``employment_list``
    (``company_id`` and the company's display ``name``). Four queries whatever the number
    of rows.
    """
    rows = contact_queryset(user=user, filters=filters).values(*CONTACT_ROW_FIELDS)
    found = keyset_values_page(
        rows, order=CONTACT_ORDERS.get(order, CONTACT_ORDERS["new"]), cursor=cursor, limit=limit
    )
    page = Page([_contact_row(values) for values in found.items], found.next_cursor)
    _attach_table_lists(page.items, CONTACT)
    return page


def _plain_rows(sql: str, ids: list[int], *params: Any) -> list[tuple[Any, ...]]:
    """The rows of ``sql``, whose first placeholder ``{ids}`` takes the list ``ids``."""
    marks = ", ".join(["%s"] * len(ids))
    with connection.cursor() as cursor:
        cursor.execute(sql.format(ids=marks), [*ids, *params])
        rows: list[tuple[Any, ...]] = cursor.fetchall()
    return rows


def _attach_table_lists(records: list[Any], kind: CustomerKind[Any]) -> None:
    """Fill the plain lists of ``contact_table`` and ``company_table`` rows from queries of
    plain values (three for contacts, two for companies).

    Related rows as model instances through ``prefetch_related`` cost more in Python than
    the queries themselves (a fifth of the list page), and building and compiling an ORM
    query costs five times running it (0.8 ms against 0.16 of CPU): these three are plain
    SQL, the same on both databases. A phone is shown in the international form
    (``format_phone``).
    """
    by_id: dict[int, Any] = {}
    for record in records:
        record.phone_list, record.email_list, record.tag_list = [], [], []
        if kind is CONTACT:
            record.employment_list = []
        by_id[record.pk] = record
    if not by_id:
        return
    ids, quote = list(by_id), connection.ops.quote_name
    owner = quote(f"{kind.entity}_id")
    kinds = [ContactPointKind.PHONE, ContactPointKind.EMAIL][: 2 if kind is CONTACT else 1]
    points = _plain_rows(
        f"SELECT {owner}, kind, value FROM {quote(ContactPoint._meta.db_table)}"  # noqa: S608 (names from the models, values as parameters)
        f" WHERE {owner} IN ({{ids}}) AND is_primary = %s"
        f" AND kind IN ({', '.join(['%s'] * len(kinds))}) ORDER BY position, id",
        ids,
        True,
        *kinds,
    )
    for record_id, point_kind, value in points:
        if point_kind == ContactPointKind.PHONE:
            by_id[record_id].phone_list.append({"value": value, "display": format_phone(value)})
        else:
            by_id[record_id].email_list.append(value)
    tags = _plain_rows(
        f"SELECT link.{owner}, tag.name FROM {quote(kind.model.tags.through._meta.db_table)}"  # noqa: S608
        " link"
        f" INNER JOIN {quote(Tag._meta.db_table)} tag ON tag.id = link.tag_id"
        f" WHERE link.{owner} IN ({{ids}}) ORDER BY tag.name, link.tag_id",
        ids,
    )
    for record_id, name in tags:
        by_id[record_id].tag_list.append(name)
    if kind is not CONTACT:
        return
    employments = _plain_rows(
        "SELECT job.contact_id, job.company_id, company.legal_name, company.short_name,"  # noqa: S608
        f" company.legal_form FROM {quote(Employment._meta.db_table)} job"
        f" INNER JOIN {quote(Company._meta.db_table)} company ON company.id = job.company_id"
        " WHERE job.contact_id IN ({ids}) ORDER BY job.id",
        ids,
    )
    for contact_id, company_id, legal_name, short_name, legal_form in employments:
        by_id[contact_id].employment_list.append(
            {
                "company_id": company_id,
                "name": company_display_name(legal_name, short_name, legal_form),
            }
        )


def company_table(
    *,
    user: ScopedUser,
    filters: CustomerFilters | None = None,
    order: str = "new",
    cursor: str | None = None,
    limit: int = 50,
) -> Page[Company]:
    """A page of companies for the list page: the columns it shows and nothing else.

    Each row carries plain lists: ``phone_list`` (``value`` and ``display`` of the primary
    phones) and ``tag_list`` (tag names); the owner is loaded by name only. Three queries
    whatever the number of rows.
    """
    queryset = (
        company_queryset(user=user, filters=filters)
        .select_related("owner")
        .only("id", "kind", "inn", "created_at", *COMPANY_NAME_FIELDS, *_user_name("owner"))
    )
    page = keyset_page(
        queryset, order=COMPANY_ORDERS.get(order, COMPANY_ORDERS["new"]), cursor=cursor, limit=limit
    )
    _attach_table_lists(page.items, COMPANY)
    return page


def customer_get(*, kind: CustomerKind[RecordT], user: ScopedUser, pk: int) -> RecordT:
    """One record of ``kind`` that ``user`` may see, whole, with its contact points,
    addresses, tags, sharing and links (API, edit form, sharing); 404 otherwise."""
    record = (
        kind.model.objects.visible_to(user)
        .select_related("owner", "created_by")
        .prefetch_related(*_list_prefetch(), "addresses", "shared_with", _links(kind, user))
        .filter(pk=pk)
        .first()
    )
    if record is None:
        raise Http404(kind.not_found)
    return record


def contact_get(*, user: ScopedUser, pk: int) -> Contact:
    """One contact ``user`` may see, with everything its card shows; 404 otherwise."""
    return customer_get(kind=CONTACT, user=user, pk=pk)


def company_get(*, user: ScopedUser, pk: int) -> Company:
    """One company ``user`` may see, with its people; 404 otherwise."""
    return customer_get(kind=COMPANY, user=user, pk=pk)


def _card_links(kind: CustomerKind[Any], user: ScopedUser) -> Prefetch[str, Any, str]:
    """``_links`` for a card: companies and people by name only."""
    if kind is CONTACT:
        return Prefetch("employments", queryset=_employments_by_company_name())
    return Prefetch(
        "employments",
        queryset=Employment.objects.filter(contact__in=Contact.objects.visible_to(user))
        .select_related("contact")
        .only(
            "id",
            "contact",
            "contact__last_name",
            "contact__first_name",
            "contact__middle_name",
            "company",
            "position",
            "is_primary",
        ),
    )


def customer_card(*, kind: CustomerKind[RecordT], user: ScopedUser, pk: int) -> RecordT:
    """One record of ``kind`` for its card page; 404 when ``user`` may not see it.

    Like ``customer_get`` but without ``search_text``, with linked records and users by
    name only. ``custom`` stays: the card shows it and its completeness checks it.
    """
    record = (
        kind.model.objects.visible_to(user)
        .select_related("owner", "created_by")
        .defer(
            "search_text",
            "name_words",
            *_deferred_user_fields("owner"),
            *_deferred_user_fields("created_by"),
        )
        .prefetch_related(
            *_list_prefetch(),
            "addresses",
            Prefetch("shared_with", queryset=_users_by_name()),
            _card_links(kind, user),
        )
        .filter(pk=pk)
        .first()
    )
    if record is None:
        raise Http404(kind.not_found)
    return record


def contact_card(*, user: ScopedUser, pk: int) -> Contact:
    """One contact for its card page (``customer_card`` of the contact kind)."""
    return customer_card(kind=CONTACT, user=user, pk=pk)


def company_card(*, user: ScopedUser, pk: int) -> Company:
    """One company for its card page, with the people ``user`` may see."""
    return customer_card(kind=COMPANY, user=user, pk=pk)


def customer_timeline(
    *,
    record: Contact | Company,
    user: ScopedUser,
    cursor: str | None = None,
    limit: int = 50,
    kinds: list[str] | None = None,
) -> Page[TimelineEntry]:
    """A page of a (visible) record's timeline, newest first; a company's shows the
    entries of those of its people whom ``user`` may see too (``via_contact`` set)."""
    subjects: list[tuple[type[Contact] | type[Company], list[int]]] = [(type(record), [record.pk])]
    if isinstance(record, Company):
        people = Employment.objects.filter(
            company=record, contact__in=Contact.objects.visible_to(user)
        ).values_list("contact_id", flat=True)
        subjects.append((Contact, list(people)))
    entries = timeline_for(subjects=subjects, kinds=kinds)
    page = keyset_page(entries, order=["-occurred_at", "-id"], cursor=cursor, limit=limit)
    if isinstance(record, Company):
        timeline_attach_via_contacts(page.items)
    return page


def contact_timeline(
    *, contact: Contact, cursor: str | None = None, limit: int = 50, kinds: list[str] | None = None
) -> Page[TimelineEntry]:
    """A page of a (visible) contact's timeline, newest first."""
    entries = timeline_for(subjects=[(Contact, [contact.pk])], kinds=kinds)
    return keyset_page(entries, order=["-occurred_at", "-id"], cursor=cursor, limit=limit)


def company_timeline(
    *,
    company: Company,
    user: ScopedUser,
    cursor: str | None = None,
    limit: int = 50,
    kinds: list[str] | None = None,
) -> Page[TimelineEntry]:
    """A page of a (visible) company's timeline, with the entries of those of its people
    whom ``user`` may see."""
    return customer_timeline(record=company, user=user, cursor=cursor, limit=limit, kinds=kinds)


def timeline_attach_via_contacts(entries: list[TimelineEntry]) -> None:
    """Set ``entry.via_contact`` (the person, names only) on entries about a contact.

    A company's timeline shows its people's entries; this tells whose they are with one
    query for the whole page instead of one per row.
    """
    contact_type = ContentType.objects.get_for_model(Contact)
    ids = {entry.subject_id for entry in entries if entry.subject_type_id == contact_type.pk}
    people = (
        Contact.objects.filter(pk__in=ids).only("id", "last_name", "first_name", "middle_name")
        if ids
        else []
    )
    by_id = {person.pk: person for person in people}
    for entry in entries:
        entry.via_contact = (  # type: ignore[attr-defined]
            by_id.get(entry.subject_id) if entry.subject_type_id == contact_type.pk else None
        )


RANK_WINDOW = 2000
RANK_NEWEST = 200


def customer_find(
    *, model: type[Contact] | type[Company], user: ScopedUser, q: str, limit: int = 8
) -> list[Any]:
    """Contacts (or companies) ``user`` may see matching ``q`` (name fragment or words in
    any order, phone digits, e-mail, ИНН), newest first — for a name of several words the
    best matches first (``_ranked_ids``); none for an empty query."""
    if not (q or "").strip():
        return []
    queryset: QuerySet[Any] = (contact_queryset if model is Contact else company_queryset)(
        user=user, filters=CustomerFilters(q=q)
    )
    rank = _name_rank(q)
    if rank is None:
        return list(
            queryset.select_related("owner")
            .prefetch_related(*_list_prefetch())
            .order_by("-created_at", "-id")[:limit]
        )
    ids = _ranked_ids(queryset, rank, limit)
    found = model.objects.filter(pk__in=ids).select_related("owner")
    by_id = {record.pk: record for record in found.prefetch_related(*_list_prefetch())}
    return [by_id[pk] for pk in ids]


def _ranked_ids(
    matches: QuerySet[Any], rank: Callable[[str], tuple[int, int]], limit: int
) -> list[int]:
    """The ids of the best ``limit`` matches by ``rank`` of their ``name_words``, newest
    first among equals: of all matches when there are at most ``RANK_WINDOW`` (read with no
    order, which the trigram index serves), else of the newest ``RANK_NEWEST``.

    A common name («Смирнов А») has thousands of matches at 1M contacts; their newest come
    from walking the date index, which is only cheap when matches are many, so the first
    query tells.
    """
    columns = ("pk", "name_words", "created_at")
    rows = list(matches.order_by().values_list(*columns)[: RANK_WINDOW + 1])
    if len(rows) > RANK_WINDOW:
        rows = list(matches.order_by("-created_at", "-id").values_list(*columns)[:RANK_NEWEST])
    rows.sort(key=lambda row: (row[2], row[0]), reverse=True)
    rows.sort(key=lambda row: rank(row[1]))
    return [row[0] for row in rows[:limit]]


def _name_rank(q: str) -> Callable[[str], tuple[int, int]] | None:
    """For a name of several words, how well a record's ``name_words`` match it
    (``words_rank``); none for a phone, an e-mail or one word."""
    q = (q or "").strip()[:100]
    if _looks_like_email(q) or _looks_like_phone(q):
        return None
    return words_rank(q)


def customer_search(
    *, user: ScopedUser, q: str, limit: int = 8
) -> dict[str, list[Contact] | list[Company]]:
    """Contacts and companies matching ``q`` (``customer_find`` of each)."""
    return {
        "contacts": customer_find(model=Contact, user=user, q=q, limit=limit),
        "companies": customer_find(model=Company, user=user, q=q, limit=limit),
    }


@dataclass
class Completeness:
    """What a card lacks: required custom fields and recommended standard ones."""

    missing_required: list[str]
    missing_recommended: list[str]
    percent: int


def custom_fields_for(
    entity: str, client_type: str, definitions: list[CustomField] | None = None
) -> list[CustomField]:
    if definitions is None:
        definitions = list(CustomField.objects.filter(entity=entity, is_active=True))
    return [definition for definition in definitions if definition.applies_to(client_type)]


def customer_completeness(
    record: Contact | Company, *, definitions: list[CustomField] | None = None
) -> Completeness:
    """Which required and recommended fields of ``record`` are empty (points prefetched).

    ``definitions`` are the entity's active custom fields (``custom_fields_active``) when
    the caller already has them; otherwise they are read.
    """
    entity = Entity.CONTACT if isinstance(record, Contact) else Entity.COMPANY
    client_type = record.client_type
    kinds = {point.kind for point in record.points.all()}
    recommended: list[tuple[str, bool]]
    if isinstance(record, Contact):
        recommended = [
            (_("Phone"), ContactPointKind.PHONE in kinds),
            (_("E-mail"), ContactPointKind.EMAIL in kinds),
            (_("Last name"), bool(record.last_name)),
            (_("Source"), bool(record.source)),
        ]
        if client_type == ClientType.PRIVATE:
            recommended.append((_("Birthday"), record.birthday is not None))
        else:
            recommended.append((_("Company"), bool(record.employments.all())))
    else:
        recommended = [
            (_("ИНН"), bool(record.inn)),
            (_("Phone"), ContactPointKind.PHONE in kinds),
            (_("E-mail"), ContactPointKind.EMAIL in kinds),
            (_("Industry"), bool(record.industry)),
            (_("Address"), bool(record.addresses.all())),
        ]
        if record.inn and len(record.inn) == 10:
            recommended.append((_("КПП"), bool(record.kpp)))
    definitions = custom_fields_for(entity, client_type, definitions)
    custom = record.custom or {}
    required = [
        d.label for d in definitions if d.is_required and custom.get(d.key) in (None, "", [])
    ]
    optional = [
        (d.label, custom.get(d.key) not in (None, "", [])) for d in definitions if not d.is_required
    ]
    checks = recommended + optional + [(label, False) for label in required]
    checks += [
        (d.label, True)
        for d in definitions
        if d.is_required and custom.get(d.key) not in (None, "", [])
    ]
    filled = sum(1 for _label, ok in checks if ok)
    percent = round(100 * filled / len(checks)) if checks else 100
    return Completeness(
        required, [str(label) for label, ok in recommended + optional if not ok], percent
    )


# --- choices for the contact and company forms (added with the customer pages) --------------


def users_assignable(*, actor: ScopedUser, include_id: int | None = None) -> list[Any]:
    """Active users ``actor`` may make responsible: admin all, head own teams, else self.

    ``include_id`` (the record's current owner) is always listed so an edit keeps it.
    """
    users = User.objects.filter(is_active=True)
    if (in_scope := owners_in_scope(actor)) is not None:
        users = users.filter(Q(pk__in=sorted(in_scope | {actor.pk})))
    if include_id:
        users = User.objects.filter(Q(pk__in=users.values("pk")) | Q(pk=include_id))
    return list(users.order_by("last_name", "first_name", "username"))


def users_owner_filter(*, user: ScopedUser) -> list[Any]:
    """Users whose records ``user`` may see by ownership: the "responsible" list filter (the
    columns it shows: a name and whether the user is active)."""
    users = User.objects.only("id", "username", "first_name", "last_name", "is_active")
    if (in_scope := owners_in_scope(user)) is not None:
        users = users.filter(pk__in=sorted(in_scope))
    return list(users.order_by("-is_active", "last_name", "first_name", "username"))


def users_shareable(*, actor: ScopedUser) -> list[Any]:
    """Active users a record can be shared with (anyone active but the actor)."""
    return list(
        User.objects.filter(is_active=True)
        .exclude(pk=actor.pk)
        .order_by("last_name", "first_name", "username")
    )


def custom_fields_active(*, entity: str) -> list[CustomField]:
    """Active custom field definitions of ``entity`` in display order, for every client type."""
    return list(CustomField.objects.filter(entity=entity, is_active=True))


def company_choices(
    *, user: ScopedUser, include_ids: list[int] | None = None, limit: int = 500
) -> list[Company]:
    """Visible companies for a "place of work" select, by name; ``include_ids`` always kept."""
    visible = Company.objects.visible_to(user).only("id", "legal_name", "short_name", "legal_form")
    companies = list(visible.order_by("legal_name", "id")[:limit])
    missing = set(include_ids or []) - {company.pk for company in companies}
    if missing:
        companies += list(visible.filter(pk__in=missing))
    return companies


def _custom_cell(value: object) -> object:
    """A custom field's stored value as a cell: options joined, yes/no in words."""
    if isinstance(value, list):
        return ", ".join(str(item) for item in value)
    if isinstance(value, bool):
        return _("Yes") if value else _("No")
    return value


def custom_field_columns(entity: str) -> list[ExportColumn]:
    """The active custom fields of ``entity`` (contacts, companies, deals) as export
    columns, in the forms' order; each reads the ``custom`` dictionary of a row."""

    def column(key: str) -> Callable[[Any], object]:
        return lambda row: _custom_cell((row["custom"] or {}).get(key))

    return [
        ExportColumn(label, column(key))
        for key, label in CustomField.objects.filter(entity=entity, is_active=True)
        .order_by("position", "id")
        .values_list("key", "label")
    ]
