"""Finding existing records that a new or edited contact or company would duplicate.

Exact matches block a save unless the user explicitly chooses to save anyway: for a
company the same ИНН (or phone, e-mail), for a contact a shared phone, e-mail or messenger
handle *with* names that agree and birthdays that do not differ (``person_match.is_exact``;
a family mailbox alone is a likely or possible duplicate, not an exact one). Other matches
are warnings with a score, a tier ("likely" or "possible") and reasons in words, from
``core.person_match`` (contacts: every field) and ``core.matching`` (company names). The
search covers the whole base, but a record the actor may not see is reported without its
details.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db import connection
from django.utils.translation import gettext as _

from crm.accounts.models import User
from crm.core.errors import Conflict
from crm.core.matching import (
    BOUNDED_KEY_KINDS,
    NEAR_MATCH_THRESHOLD,
    company_block_keys,
    person_lookup_keys,
    score_company,
)
from crm.core.normalize import format_phone
from crm.core.permissions import ScopedUser
from crm.core.person_match import (
    LIKELY,
    POSSIBLE,
    PersonFacts,
    is_exact,
    reason_texts,
    score_person_facts,
    tier_of,
)
from crm.customers.choices import ContactPointKind, Entity
from crm.customers.models import Address, Company, Contact, ContactPoint, Employment, MatchKey
from crm.customers.permissions import CUSTOMER

# Candidates scored per check: the records sharing the most name keys with the new one.
MAX_CANDIDATES = 30
# Holders read of one common key (``BOUNDED_KEY_KINDS``), the newest first.
MAX_KEY_HOLDERS = 200
# Contact-point rows read for exact matches (a switchboard number may be on many records).
MAX_EXACT_ROWS = 300
MAX_RESULTS = 10


@dataclass
class DuplicateCandidate:
    """An existing record that looks like the one being saved."""

    entity: str
    record_id: int
    name: str
    owner_name: str
    is_visible: bool
    is_exact: bool
    score: int
    reasons: list[str] = field(default_factory=list)
    tier: str = POSSIBLE
    """"likely" (an exact duplicate is likely too) or "possible"."""

    def as_dict(self) -> dict[str, Any]:
        return {
            "entity": self.entity,
            "id": self.record_id,
            "name": self.name if self.is_visible else "",
            "owner": self.owner_name,
            "visible": self.is_visible,
            "exact": self.is_exact,
            "score": self.score,
            "tier": self.tier,
            "reasons": self.reasons,
        }


class DuplicateFound(Conflict):
    """Saving would create an exact duplicate; the candidates travel with the error."""

    def __init__(self, candidates: list[DuplicateCandidate]):
        self.candidates = candidates
        super().__init__(
            _("A record with the same phone, e-mail or ИНН already exists."),
            field_errors=_exact_field_errors(candidates),
            payload={"duplicates": [candidate.as_dict() for candidate in candidates]},
        )


def _exact_field_errors(candidates: list[DuplicateCandidate]) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    for candidate in candidates:
        if candidate.is_exact:
            for reason in candidate.reasons:
                errors.setdefault("duplicate", []).append(reason)
    return errors


def _ranked_ctes(
    own: str, keys: set[str], not_self: str, self_params: list[Any]
) -> tuple[list[str], list[Any]]:
    """``keyed``: each holder read of each of ``keys`` with the key's weight, the inverse of
    its holders read (a birthday key of three people counts more than a surname key of three
    hundred namesakes): every holder of most keys, the newest ``MAX_KEY_HOLDERS`` of the
    common kinds (``BOUNDED_KEY_KINDS``); ``ranked``: the ``MAX_CANDIDATES`` records with the
    highest sum of weights. Answers the CTEs and their parameters.

    On PostgreSQL the keys travel as two arrays (key, how many holders to read) into one
    ``LATERAL`` index scan per key, each key's holders counted in its own window (a window
    over all the rows partitioned by key sorted them all: 27,000 for a common name): the
    statement's text is the same whatever the number of keys, so its plan is small and the
    driver converts it once (with a subquery per key, planning took about 1 ms of a 3–5 ms
    statement). SQLite, which has no ``LATERAL``, gets a
    subquery per key, each counting its own rows without a sort."""
    table = MatchKey._meta.db_table
    ordered = sorted(keys)
    caps = [MAX_KEY_HOLDERS if key.startswith(BOUNDED_KEY_KINDS) else None for key in ordered]
    ranked = (
        "ranked AS (SELECT id FROM keyed GROUP BY id "  # noqa: S608 (a constant)
        f"ORDER BY SUM(weight) DESC, id LIMIT {MAX_CANDIDATES})"
    )
    if connection.vendor == "postgresql":
        keyed = (
            "keyed AS (SELECT held.id, held.weight "  # noqa: S608 (names from the models)
            "FROM unnest(%s::text[], %s::int[]) AS wanted(key, cap) CROSS JOIN LATERAL "
            "(SELECT id, CAST(1 AS REAL) / COUNT(*) OVER () AS weight FROM "
            f"(SELECT {own} AS id FROM {table} WHERE key = wanted.key AND {own} IS NOT NULL"
            f"{not_self} ORDER BY {own} DESC LIMIT wanted.cap) AS holders) AS held)"
        )
        return [keyed, ranked], [ordered, caps, *self_params]
    parts, params = [], []
    for index, (key, cap) in enumerate(zip(ordered, caps, strict=True)):
        newest = f" ORDER BY {own} DESC LIMIT {cap}" if cap else ""
        parts.append(
            f"SELECT id, CAST(1 AS REAL) / COUNT(*) OVER () AS weight FROM (SELECT {own} AS id "  # noqa: S608
            f"FROM {table} WHERE key = %s AND {own} IS NOT NULL{not_self}{newest}) AS holders{index}"
        )
        params += [key, *self_params]
    return [f"keyed AS ({' UNION ALL '.join(parts)})", ranked], params


def _candidate_rows(
    model: type[Contact] | type[Company],
    *,
    points: Iterable[tuple[str, str]],
    keys: set[str],
    listed_ids: Iterable[int] = (),
    exclude_id: int | None,
    fields: list[str],
) -> list[tuple[Any, ...]]:
    """The live records that may duplicate a new one, read in one statement.

    Rows of (pk, *fields, owner's id, first name, last name and username, kind and value of a
    contact point it shares or two ``None``) for:
    the records holding one of ``points`` (one row per shared point), the
    ``MAX_CANDIDATES`` sharing the most of ``keys`` (``_ranked_ctes``; ties to the oldest;
    on PostgreSQL index-only scans of the covering index of ``MatchKey``) and
    ``listed_ids``.

    Plain SQL because through the ORM the same work took three queries whose building and
    compiling in Python (2-3 ms) cost more than running them. Every value is a parameter;
    the names come from the models.
    """
    table, own = model._meta.db_table, f"{model._meta.model_name}_id"
    not_self, self_params = ("", []) if exclude_id is None else (f" AND {own} <> %s", [exclude_id])
    ctes: list[str] = []
    sources: list[str] = []
    params: list[Any] = []
    points = list(dict.fromkeys(points))
    if points:
        match = " OR ".join(["(kind = %s AND value = %s)"] * len(points))
        ctes.append(
            f"exact AS (SELECT {own} AS id, kind, value FROM {ContactPoint._meta.db_table} "  # noqa: S608
            f"WHERE ({match}) AND {own} IS NOT NULL{not_self} LIMIT {MAX_EXACT_ROWS})"
        )
        params += [*(value for point in points for value in point), *self_params]
        sources.append("SELECT id FROM exact")
    if keys:
        ranked, ranked_params = _ranked_ctes(own, keys, not_self, self_params)
        ctes += ranked
        params += ranked_params
        sources.append("SELECT id FROM ranked")
    listed = sorted(set(listed_ids))
    if listed:
        ctes.append(f"listed (id) AS (VALUES {', '.join(['(%s)'] * len(listed))})")
        params += listed
        sources.append("SELECT id FROM listed")
    if not ctes:
        return []
    sql = (
        f"WITH {', '.join(ctes)} "  # noqa: S608 (names from the models, values as parameters)
        f"SELECT cand.id, {', '.join(f'cand.{name}' for name in fields)}, "
        "cand.owner_id, u.first_name, u.last_name, u.username, "
        f"{'exact.kind, exact.value' if points else 'NULL, NULL'} "
        f"FROM {table} cand INNER JOIN {User._meta.db_table} u ON u.id = cand.owner_id "
        f"{'LEFT JOIN exact ON exact.id = cand.id ' if points else ''}"
        # One IN over a UNION: "id IN (a) OR id IN (b)" is a full scan on PostgreSQL.
        f"WHERE cand.merged_into_id IS NULL AND cand.id IN ({' UNION '.join(sources)})"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows: list[tuple[Any, ...]] = cursor.fetchall()
    return rows


def _point_reason(kind: str, value: str) -> str:
    if kind == ContactPointKind.PHONE:
        return _("Same phone %(value)s") % {"value": format_phone(value)}
    if kind == ContactPointKind.EMAIL:
        return _("Same e-mail %(value)s") % {"value": value}
    return _("Same messenger handle %(value)s") % {"value": value.split(":", 1)[-1]}


Owner = tuple[int, str]
"""A record's owner: id and name."""
Record = tuple[tuple[Any, ...], Owner]


def _by_record(rows: list[tuple[Any, ...]], exact: dict[int, list[str]]) -> dict[int, Record]:
    """Rows of ``_candidate_rows`` by record: (field values, owner's name); the reasons of
    the contact points each shares go into ``exact``."""
    records: dict[int, Record] = {}
    for pk, *values, owner_id, owner_first, owner_last, owner_username, kind, value in rows:
        if pk not in records:
            owner = f"{owner_first} {owner_last}".strip() or owner_username
            records[pk] = (tuple(values), (owner_id, owner))
        if kind is not None:
            exact.setdefault(pk, []).append(_point_reason(kind, value))
    return records


# (id, name parts, owner, is exact, score, reasons, tier) of a record that passed.
# The reasons are texts or ``person_match.Reason`` keys, put in words only for the records
# returned (``_candidates``), not for every candidate scored.
Found = tuple[int, tuple[str, ...], Owner, bool, int, list[Any], str]


def _candidates(
    entity: str,
    found: list[Found],
    display: Callable[[tuple[str, ...]], str],
    *,
    actor: ScopedUser,
) -> list[DuplicateCandidate]:
    """The best ``MAX_RESULTS`` of the records that passed (exact ones first), named with
    ``display``, each saying whether ``actor`` may see it."""
    best = sorted(found, key=lambda row: (not row[3], -row[4], row[0]))[:MAX_RESULTS]
    model = Contact if entity == Entity.CONTACT else Company
    # Seen as the customer policy decides, from the owners already read: a query only for
    # a user who does not see all of them by ownership (the ones shared with them).
    visible = CUSTOMER.visible_among(model, actor, {row[0]: row[2][0] for row in best})
    return [
        DuplicateCandidate(
            entity=entity,
            record_id=pk,
            name=display(parts),
            owner_name=owner[1],
            is_visible=pk in visible,
            is_exact=exact,
            score=score,
            reasons=reason_texts(reasons),
            tier=tier,
        )
        for pk, parts, owner, exact, score, reasons, tier in best
    ]


def _person_name(parts: tuple[str, ...]) -> str:
    return " ".join(part for part in parts if part)


def _company_name(parts: tuple[str, ...]) -> str:
    legal_name, short_name, legal_form = parts
    return Company(legal_name=legal_name, short_name=short_name, legal_form=legal_form).display_name


def contact_duplicates_find(
    *,
    actor: ScopedUser,
    last_name: str = "",
    first_name: str = "",
    middle_name: str = "",
    birthday: dt.date | None = None,
    points: Iterable[tuple[str, str]] = (),
    addresses: Iterable[str] = (),
    company_ids: Iterable[int] = (),
    exclude_id: int | None = None,
    lookup_names: bool = True,
) -> list[DuplicateCandidate]:
    """Contacts that a contact with these names, birthday, contact points, addresses and
    employers would duplicate, best first.

    Candidates: the contacts holding one of ``points`` and (unless not ``lookup_names``: an
    import matching by phone, e-mail and handle only) the ``MAX_CANDIDATES`` sharing the
    most blocking keys (``person_lookup_keys``). Each is scored on every field with
    ``score_person_facts``; those reaching a tier are returned. Two queries: the candidates
    with names, birthdays and owners, then their contact points, addresses and employers;
    a third, whether ``actor`` may see them, only when some passed.
    """
    points = list(points)
    rows = _candidate_rows(
        Contact,
        points=points,
        keys=person_lookup_keys(last_name, first_name, middle_name, birthday)
        if lookup_names
        else set(),
        exclude_id=exclude_id,
        fields=["last_name", "first_name", "middle_name", "birthday"],
    )
    records = _by_record(rows, {})
    details = contact_details(list(records))
    new = _facts((last_name, first_name, middle_name, birthday), points, addresses, company_ids)
    found: list[Found] = []
    for pk, ((*names, old_birthday), owner) in records.items():
        old = _facts((*names, _as_date(old_birthday)), *details.get(pk, ((), (), ())))
        match = score_person_facts(new, old)
        tier = tier_of(match)
        if not tier:
            continue
        exact = is_exact(match)
        score = 100 if exact else match.score
        parts = tuple(names)
        found.append((pk, parts, owner, exact, score, match.reason_keys, tier))
    return _candidates(Entity.CONTACT, found, _person_name, actor=actor)


def _as_date(value: Any) -> dt.date | None:
    """A date column read through a raw cursor (SQLite gives the ISO text)."""
    if value is None or isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value))


def _facts(
    person: tuple[Any, ...],
    points: Iterable[tuple[str, str]],
    addresses: Iterable[str],
    company_ids: Iterable[int],
) -> PersonFacts:
    last_name, first_name, middle_name, birthday = person
    by_kind: dict[str, set[str]] = {}
    for kind, value in points:
        by_kind.setdefault(kind, set()).add(value)
    return PersonFacts(
        last_name=last_name or "",
        first_name=first_name or "",
        middle_name=middle_name or "",
        birthday=birthday,
        phones=frozenset(by_kind.get(ContactPointKind.PHONE, ())),
        emails=frozenset(by_kind.get(ContactPointKind.EMAIL, ())),
        handles=frozenset(by_kind.get(ContactPointKind.MESSENGER, ())),
        addresses=tuple(addresses),
        companies=frozenset(company_ids),
    )


Details = tuple[list[tuple[str, str]], list[str], list[int]]


def contact_details(contact_ids: list[int]) -> dict[int, Details]:
    """The contact points (kind, value), address texts and employer ids of these contacts,
    in one statement (a ``UNION ALL`` of the three tables)."""
    if not contact_ids:
        return {}
    params: list[Any]
    if connection.vendor == "postgresql":  # one text whatever the number: converted once
        among, params = "= ANY(%s)", [list(contact_ids)] * 3
    else:
        among, params = f"IN ({', '.join(['%s'] * len(contact_ids))})", list(contact_ids) * 3
    sql = (
        f"SELECT contact_id, kind, value FROM {ContactPoint._meta.db_table} "  # noqa: S608
        f"WHERE contact_id {among} "
        f"UNION ALL SELECT contact_id, '{_ADDRESS}', text FROM {Address._meta.db_table} "
        f"WHERE contact_id {among} "
        f"UNION ALL SELECT contact_id, '{_COMPANY}', CAST(company_id AS TEXT) "
        f"FROM {Employment._meta.db_table} WHERE contact_id {among}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    details: dict[int, Details] = {}
    for contact_id, kind, value in rows:
        points, addresses, companies = details.setdefault(contact_id, ([], [], []))
        if kind == _ADDRESS:
            addresses.append(value)
        elif kind == _COMPANY:
            companies.append(int(value))
        else:
            points.append((kind, value))
    return details


# Row kinds of ``contact_details`` besides the contact-point kinds.
_ADDRESS, _COMPANY = "_address", "_company"


def company_duplicates_find(
    *,
    actor: ScopedUser,
    legal_name: str = "",
    short_name: str = "",
    inn: str = "",
    kpp: str = "",
    points: Iterable[tuple[str, str]] = (),
    exclude_id: int | None = None,
    lookup_names: bool = True,
) -> list[DuplicateCandidate]:
    """Companies that a company with these names, ИНН and contact points would duplicate
    (by ИНН and contact points only, unless ``lookup_names``).

    The same ИНН with a different КПП is a branch of the same organisation, not a
    duplicate; it shows as a near match. Near matches by name are ranked like contacts'.
    Two queries: the ИНН, then the rest as for contacts (and the visibility of those that
    passed).
    """
    same_inn: dict[int, list[str]] = {}
    branches: dict[int, list[str]] = {}
    if inn:
        same_inn_rows = Company.objects.live().filter(inn=inn)
        if exclude_id is not None:
            same_inn_rows = same_inn_rows.exclude(pk=exclude_id)
        for record_id, other_kpp in same_inn_rows.values_list("pk", "kpp")[:50]:
            if kpp and other_kpp and kpp != other_kpp:
                branches.setdefault(record_id, []).append(
                    _("Same ИНН %(inn)s, another КПП (a branch?)") % {"inn": inn}
                )
            else:
                same_inn.setdefault(record_id, []).append(_("Same ИНН %(inn)s") % {"inn": inn})
    rows = _candidate_rows(
        Company,
        points=points,
        keys=company_block_keys(legal_name, short_name) if lookup_names else set(),
        listed_ids=[*same_inn, *branches],
        exclude_id=exclude_id,
        fields=["legal_name", "short_name", "legal_form"],
    )
    exact: dict[int, list[str]] = {}
    records = _by_record(rows, exact)
    for record_id, reasons in same_inn.items():
        exact.setdefault(record_id, []).extend(reasons)
    found: list[Found] = []
    for pk, ((old_legal, old_short, legal_form), owner) in records.items():
        best = max(
            (
                score_company(new, old)
                for new in (legal_name, short_name)
                if new
                for old in (old_legal, old_short)
                if old
            ),
            key=lambda m: m.score,
            default=None,
        )
        score = best.score if best else 0
        reasons = exact.get(pk, [])
        extra = branches.get(pk, [])
        if not reasons and not extra and score < NEAR_MATCH_THRESHOLD:
            continue
        found.append(
            (
                pk,
                (old_legal, old_short, legal_form),
                owner,
                bool(reasons),
                100 if reasons else max(score, 85 if extra else 0),
                [*reasons, *extra, *(best.reasons if best else [])],
                LIKELY if reasons else POSSIBLE,
            )
        )
    return _candidates(Entity.COMPANY, found, _company_name, actor=actor)
