"""What the matcher compares of the contacts of a scan's candidate pairs, read once into
a compact table in memory."""

from __future__ import annotations

import datetime as dt
import sys
from typing import Any

from django.db import connection

from crm.core.person_match import PersonFacts
from crm.customers.choices import ContactPointKind
from crm.customers.models import Address, Contact, ContactPoint, Employment

# Contacts read per step.
PAGE = 20_000
_CONTACTS, _POINTS = Contact._meta.db_table, ContactPoint._meta.db_table

# (last, first, middle, birthday, phones, emails, handles, addresses, companies): tuples, not
# frozensets, which take four times the memory (a million contacts are read at once).
Compact = tuple[str, str, str, dt.date | None, tuple[str, ...], tuple[str, ...], tuple[str, ...], tuple[str, ...], tuple[int, ...]]  # fmt: skip


def read_facts() -> dict[int, Compact]:
    """What the matcher compares of every live contact of a candidate pair, read in pages
    by id: the contacts, then their points, addresses and employers in one statement per
    page."""
    facts: dict[int, Compact] = {}
    last = 0
    intern = sys.intern
    while True:
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT c.id, c.last_name, c.first_name, c.middle_name, c.birthday "  # noqa: S608
                f"FROM {_CONTACTS} c INNER JOIN dupscan_ids i ON i.id = c.id "
                f"WHERE c.merged_into_id IS NULL AND c.id > %s ORDER BY c.id LIMIT %s",
                [last, PAGE],
            )
            rows = cursor.fetchall()
        if not rows:
            return facts
        details = _details(last, rows[-1][0])
        for pk, last_name, first_name, middle_name, birthday in rows:
            phones, emails, handles, addresses, companies = details.get(pk, _NO_DETAILS)
            facts[pk] = (
                intern(last_name),
                intern(first_name),
                intern(middle_name),
                _as_date(birthday),
                phones,
                emails,
                handles,
                addresses,
                companies,
            )
        last = rows[-1][0]


Details = tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...], tuple[str, ...], tuple[int, ...]]
_NO_DETAILS: Details = ((), (), (), (), ())


def _details(after: int, upto: int) -> dict[int, Details]:
    """(phones, e-mails, handles, addresses, employer ids) of the candidates with ids in
    ``(after, upto]``."""
    rows_sql = (
        f"SELECT contact_id, kind, value FROM {_POINTS} "  # noqa: S608
        "WHERE contact_id > %s AND contact_id <= %s AND contact_id IN (SELECT id FROM dupscan_ids) "
        f"UNION ALL SELECT contact_id, %s, text FROM {Address._meta.db_table} "
        "WHERE contact_id > %s AND contact_id <= %s AND contact_id IN (SELECT id FROM dupscan_ids) "
        f"UNION ALL SELECT contact_id, %s, CAST(company_id AS TEXT) FROM {Employment._meta.db_table} "
        "WHERE contact_id > %s AND contact_id <= %s AND contact_id IN (SELECT id FROM dupscan_ids)"
    )
    with connection.cursor() as cursor:
        cursor.execute(rows_sql, [after, upto, "_address", after, upto, "_company", after, upto])
        rows = cursor.fetchall()
    grouped: dict[int, dict[str, list[Any]]] = {}
    for contact_id, kind, value in rows:
        grouped.setdefault(contact_id, {}).setdefault(kind, []).append(value)
    details: dict[int, Details] = {}
    for contact_id, by_kind in grouped.items():
        details[contact_id] = (
            tuple(by_kind.get(ContactPointKind.PHONE, ())),
            tuple(by_kind.get(ContactPointKind.EMAIL, ())),
            tuple(by_kind.get(ContactPointKind.MESSENGER, ())),
            tuple(by_kind.get("_address", ())),
            tuple(int(value) for value in by_kind.get("_company", ())),
        )
    return details


def _as_date(value: Any) -> dt.date | None:
    """A date column read through a raw cursor (SQLite gives the ISO text)."""
    if value is None or isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value))


def person(row: Compact) -> PersonFacts:
    last, first, middle, birthday, phones, emails, handles, addresses, companies = row
    return PersonFacts(
        last_name=last,
        first_name=first,
        middle_name=middle,
        birthday=birthday,
        phones=frozenset(phones),
        emails=frozenset(emails),
        handles=frozenset(handles),
        addresses=addresses,
        companies=frozenset(companies),
    )
