"""The scan of contacts for possible duplicates, streamed so that a base of millions is
scanned in bounded memory.

Candidate pairs come from four sources: a blocking key (``MatchKey``) held by 2 to
``MAX_GROUP_MEMBERS`` contacts (the whole-word keys ``w:`` and ``o:`` apart), a one-word
name with the holders of its word when they are at most ``MAX_ONE_WORD_GROUP``, phones
ending in the same ``PHONE_SUFFIX`` digits, and the same phone, e-mail or handle (each of
the last two in groups of 2 to ``MAX_GROUP_MEMBERS`` contacts). The database finds and
deduplicates them in temporary tables of this connection (``dupscan_*``), so the pairs
never sit in a Python set: at 1,000,000 contacts the keys alone give about 60 million
pair occurrences, 9 million distinct pairs.

What the matcher compares of each contact of a pair is read once, in pages by id, into a
compact table in memory (tuples, names interned); the pairs are then read back in pages by
``(a, b)``, scored with ``core.person_match``, and those reaching a tier are upserted page
by page with ``scanned_at`` set to the scan's start: a pair someone dismissed keeps its
status. Last, the open pairs of the contacts looked at that the scan did not find again
are resolved: marked merged when one side was merged away, deleted otherwise.

An incremental scan looks only at the contacts created or changed since the last scan
started: those holding a blocking key or a contact point with an id above that scan's
``Watermarks`` (each save of a contact writes its keys again, so a changed contact holds
new key ids). Its pairs are every pair involving such a contact, as the full scan would
find them.
"""

from __future__ import annotations

import datetime as dt
import gc
import json
import multiprocessing
import sys
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from multiprocessing.pool import AsyncResult
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Max
from django.utils import timezone

from crm.core.person_match import PersonFacts, is_exact, score_person_facts, tier_of
from crm.customers.choices import ContactPointKind, DuplicateStatus, Entity
from crm.customers.models import (
    Address,
    Contact,
    ContactPoint,
    DuplicatePair,
    Employment,
    MatchKey,
)

# A key or contact detail shared by more contacts than this is too common to mean "the same
# client" (a switchboard number, a frequent name) and would explode into thousands of pairs.
MAX_GROUP_MEMBERS = 50
# A one-word name is paired with the contacts holding its word when they are at most this many.
MAX_ONE_WORD_GROUP = 200
PHONE_SUFFIX = 7
# Pairs scored, and contacts read, per step.
PAGE = 20_000

_KEYS, _CONTACTS, _POINTS = (
    MatchKey._meta.db_table,
    Contact._meta.db_table,
    ContactPoint._meta.db_table,
)
_TABLES = (
    "dupscan_changed",
    "dupscan_keys",
    "dupscan_members",
    "dupscan_words",
    "dupscan_points",
    "dupscan_values",
    "dupscan_pairs",
    "dupscan_ids",
    "dupscan_found",
)


@dataclass(frozen=True)
class Watermarks:
    """The highest ids of blocking keys and of contact points when a scan started: what
    an incremental scan after it starts from."""

    key: int
    point: int


def scan_watermarks() -> Watermarks:
    """The ``Watermarks`` of the base as it is now."""
    return Watermarks(
        key=MatchKey.objects.aggregate(top=Max("id"))["top"] or 0,
        point=ContactPoint.objects.aggregate(top=Max("id"))["top"] or 0,
    )


@dataclass
class ContactScan:
    """What one scan of contacts looked at and changed."""

    looked_at: int | None = None
    """Contacts changed since the last scan (an incremental scan), ``None`` for all."""
    candidates: int = 0
    found: int = 0
    created: int = 0
    updated: int = 0
    merged: int = 0
    removed: int = 0


Progress = Callable[[str, int, int], None]
"""Called with the stage, the pairs done and the pairs in all."""


def contacts_scan(
    *, started: dt.datetime, since: Watermarks | None, progress: Progress
) -> ContactScan:
    """Find, score and store the possible duplicates among live contacts: all of them, or
    with ``since`` only those involving a contact created or changed after those
    watermarks. ``started`` stamps the pairs found (``scanned_at``); open pairs of the
    contacts looked at with an older stamp are resolved at the end. Runs outside a
    transaction of its own (each page commits), and may be run again: the result is the
    same."""
    result = ContactScan()
    try:
        _drop_tables()
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                # The pairs' deduplication hashes millions of rows: in memory, not on disk.
                cursor.execute("SET work_mem = '256MB'")
            if since is not None:
                result.looked_at = _changed(cursor, since)
            progress("collect", 0, 0)
            result.candidates = _collect(cursor, incremental=since is not None)
        facts = _read_facts()
        _score_pages(result, facts, started, progress)
        del facts
        _resolve(result, started, incremental=since is not None)
        if connection.vendor == "postgresql" and since is None:
            # A full scan rewrote most pairs: plan the page's and the next scan's reads of
            # them with statistics of what is there now.
            with connection.cursor() as cursor:
                cursor.execute(f"ANALYZE {DuplicatePair._meta.db_table}")
    finally:
        _drop_tables()
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("RESET work_mem")
    return result


# --- candidates ---------------------------------------------------------------------------------


def _drop_tables() -> None:
    with connection.cursor() as cursor:
        for table in _TABLES:
            cursor.execute(f"DROP TABLE IF EXISTS {table}")


def _changed(cursor: Any, since: Watermarks) -> int:
    """``dupscan_changed``: the live contacts holding a key or a point newer than ``since``."""
    cursor.execute(
        f"CREATE TEMP TABLE dupscan_changed AS SELECT c.id FROM {_CONTACTS} c "  # noqa: S608
        f"WHERE c.merged_into_id IS NULL AND c.id IN ("
        f"SELECT contact_id FROM {_KEYS} WHERE id > %s AND contact_id IS NOT NULL "
        f"UNION SELECT contact_id FROM {_POINTS} WHERE id > %s AND contact_id IS NOT NULL)",
        [since.key, since.point],
    )
    cursor.execute("CREATE UNIQUE INDEX dupscan_changed_id ON dupscan_changed (id)")
    _analyze(cursor, "dupscan_changed")
    cursor.execute("SELECT COUNT(*) FROM dupscan_changed")
    return int(cursor.fetchone()[0])


def _analyze(cursor: Any, table: str) -> None:
    """PostgreSQL plans a temporary table it has not analysed as holding ~2,000 rows."""
    if connection.vendor == "postgresql":
        cursor.execute(f"ANALYZE {table}")


def _involves(*columns: str) -> str:
    """A condition: one of ``columns`` is a changed contact."""
    return " OR ".join(f"{column} IN (SELECT id FROM dupscan_changed)" for column in columns)  # noqa: S608


def _ordered(first: str, second: str) -> str:
    """The two ids of a pair as ``a, b`` with ``a < b``."""
    return (
        f"CASE WHEN {first} < {second} THEN {first} ELSE {second} END AS a, "
        f"CASE WHEN {first} < {second} THEN {second} ELSE {first} END AS b"
    )


def _collect(cursor: Any, *, incremental: bool) -> int:
    """``dupscan_pairs`` (a < b, distinct): the candidate pairs of the four sources, each
    involving a changed contact when ``incremental``. Answers their number."""
    # Keys of 2..MAX holders: of all keys, grouped; when incremental, of the changed
    # contacts' keys, each counted up to MAX + 1 through the index.
    if incremental:
        cursor.execute(
            f"CREATE TEMP TABLE dupscan_keys AS SELECT own.key FROM (SELECT DISTINCT key "  # noqa: S608
            f"FROM {_KEYS} WHERE {_involves('contact_id')} AND key NOT LIKE %s "
            f"AND key NOT LIKE %s) own WHERE (SELECT COUNT(*) FROM (SELECT 1 FROM {_KEYS} h "
            f"WHERE h.key = own.key AND h.contact_id IS NOT NULL LIMIT %s) capped) "
            f"BETWEEN 2 AND %s",
            ["w:%", "o:%", MAX_GROUP_MEMBERS + 1, MAX_GROUP_MEMBERS],
        )
    elif connection.vendor == "postgresql":
        # One key per set of holders: namesakes hold the whole surname's key and its
        # letter-deleted forms alike, so most groups repeat another's pairs (at 1M generated
        # contacts, 58 million pair occurrences came from keys, far fewer from distinct sets).
        cursor.execute(
            f"CREATE TEMP TABLE dupscan_keys AS SELECT MIN(key) AS key FROM ("  # noqa: S608
            f"SELECT key, STRING_AGG(CAST(contact_id AS TEXT), ',' ORDER BY contact_id) AS ids "
            f"FROM {_KEYS} WHERE contact_id IS NOT NULL AND key NOT LIKE %s AND key NOT LIKE %s "
            f"GROUP BY key HAVING COUNT(*) BETWEEN 2 AND %s) sets GROUP BY ids",
            ["w:%", "o:%", MAX_GROUP_MEMBERS],
        )
    else:
        cursor.execute(
            f"CREATE TEMP TABLE dupscan_keys AS SELECT key FROM {_KEYS} "  # noqa: S608
            f"WHERE contact_id IS NOT NULL AND key NOT LIKE %s AND key NOT LIKE %s "
            f"GROUP BY key HAVING COUNT(*) BETWEEN 2 AND %s",
            ["w:%", "o:%", MAX_GROUP_MEMBERS],
        )
    cursor.execute(
        f"CREATE TEMP TABLE dupscan_members AS SELECT m.key, m.contact_id AS id "  # noqa: S608
        f"FROM {_KEYS} m INNER JOIN dupscan_keys k ON k.key = m.key "
        f"WHERE m.contact_id IS NOT NULL"
    )
    cursor.execute("CREATE INDEX dupscan_members_key ON dupscan_members (key, id)")
    _analyze(cursor, "dupscan_members")
    # The words a one-word name meets: held by at most MAX_ONE_WORD_GROUP contacts (when
    # incremental, the words of the changed contacts, each counted up to MAX + 1).
    if incremental:
        cursor.execute(
            f"CREATE TEMP TABLE dupscan_words AS SELECT own.key FROM (SELECT DISTINCT "  # noqa: S608
            f"CASE WHEN key LIKE %s THEN 'w:' || SUBSTR(key, 3) ELSE key END AS key FROM {_KEYS} "
            f"WHERE {_involves('contact_id')} AND (key LIKE %s OR key LIKE %s)) own "
            f"WHERE (SELECT COUNT(*) FROM (SELECT 1 FROM {_KEYS} h WHERE h.key = own.key "
            f"AND h.contact_id IS NOT NULL LIMIT %s) capped) <= %s",
            ["o:%", "o:%", "w:%", MAX_ONE_WORD_GROUP + 1, MAX_ONE_WORD_GROUP],
        )
    else:
        cursor.execute(
            f"CREATE TEMP TABLE dupscan_words AS SELECT key FROM {_KEYS} "  # noqa: S608
            f"WHERE contact_id IS NOT NULL AND key IN (SELECT 'w:' || SUBSTR(key, 3) "
            f"FROM {_KEYS} WHERE key LIKE %s AND contact_id IS NOT NULL) "
            f"GROUP BY key HAVING COUNT(*) <= %s",
            ["o:%", MAX_ONE_WORD_GROUP],
        )
    # Phones by their last digits, and every phone, e-mail and handle: "values" shared by
    # 2..MAX contacts (when incremental, only the values a changed contact holds).
    own_endings, own_points = "", ""
    if incremental:
        own_endings = (
            f" AND SUBSTR(digits_reversed, 1, {PHONE_SUFFIX}) IN (SELECT "  # noqa: S608
            f"SUBSTR(digits_reversed, 1, {PHONE_SUFFIX}) FROM {_POINTS} "
            f"WHERE {_involves('contact_id')})"
        )
        own_points = (
            f" AND (kind, value) IN (SELECT kind, value FROM {_POINTS} "  # noqa: S608
            f"WHERE {_involves('contact_id')})"
        )
    cursor.execute(
        f"CREATE TEMP TABLE dupscan_points AS SELECT "  # noqa: S608
        f"'~' || SUBSTR(digits_reversed, 1, {PHONE_SUFFIX}) AS value, contact_id AS id "
        f"FROM {_POINTS} WHERE kind = %s AND contact_id IS NOT NULL AND digits_reversed <> ''"
        f"{own_endings} UNION SELECT kind || ':' || value, contact_id FROM {_POINTS} "
        f"WHERE contact_id IS NOT NULL{own_points}",
        [ContactPointKind.PHONE],
    )
    cursor.execute(
        "CREATE TEMP TABLE dupscan_values AS SELECT value, id FROM dupscan_points "
        "WHERE value IN (SELECT value FROM dupscan_points GROUP BY value "
        "HAVING COUNT(*) BETWEEN 2 AND %s)",
        [MAX_GROUP_MEMBERS],
    )
    cursor.execute("CREATE INDEX dupscan_values_value ON dupscan_values (value, id)")
    _analyze(cursor, "dupscan_values")
    keyed = (
        "SELECT m1.id AS a, m2.id AS b FROM dupscan_members m1 "
        "INNER JOIN dupscan_members m2 ON m2.key = m1.key AND m2.id > m1.id"
    )
    one_word = (
        f"SELECT {_ordered('o.contact_id', 'w.contact_id')} "  # noqa: S608
        f"FROM {_KEYS} o INNER JOIN {_KEYS} w ON w.key = 'w:' || SUBSTR(o.key, 3) "
        "WHERE o.key LIKE %s AND o.contact_id IS NOT NULL AND w.contact_id IS NOT NULL "
        "AND w.contact_id <> o.contact_id AND w.key IN (SELECT key FROM dupscan_words)"
    )
    by_value = (
        "SELECT v1.id, v2.id FROM dupscan_values v1 "
        "INNER JOIN dupscan_values v2 ON v2.value = v1.value AND v2.id > v1.id"
    )
    params = ["o:%"]
    if incremental:
        # From the changed side: each changed holder with every other holder (a semi-join
        # the planner hashes, where "a changed OR b changed" was two subplans a row).
        keyed = (
            f"SELECT {_ordered('m1.id', 'm2.id')} FROM dupscan_members m1 "  # noqa: S608
            "INNER JOIN dupscan_changed c ON c.id = m1.id "
            "INNER JOIN dupscan_members m2 ON m2.key = m1.key AND m2.id <> m1.id"
        )
        one_word = (
            f"SELECT {_ordered('o.contact_id', 'w.contact_id')} "  # noqa: S608
            f"FROM {_KEYS} o INNER JOIN dupscan_changed c ON c.id = o.contact_id "
            f"INNER JOIN {_KEYS} w ON w.key = 'w:' || SUBSTR(o.key, 3) "
            "WHERE o.key LIKE %s AND w.contact_id IS NOT NULL AND w.contact_id <> o.contact_id "
            "AND w.key IN (SELECT key FROM dupscan_words) "
            f"UNION SELECT {_ordered('o.contact_id', 'w.contact_id')} "
            f"FROM {_KEYS} w INNER JOIN dupscan_changed c ON c.id = w.contact_id "
            f"INNER JOIN {_KEYS} o ON o.key = 'o:' || SUBSTR(w.key, 3) "
            "WHERE w.key IN (SELECT key FROM dupscan_words) AND o.contact_id IS NOT NULL "
            "AND o.contact_id <> w.contact_id"
        )
        by_value = (
            f"SELECT {_ordered('v1.id', 'v2.id')} FROM dupscan_values v1 "  # noqa: S608
            "INNER JOIN dupscan_changed c ON c.id = v1.id "
            "INNER JOIN dupscan_values v2 ON v2.value = v1.value AND v2.id <> v1.id"
        )
    cursor.execute(
        f"CREATE TEMP TABLE dupscan_pairs AS SELECT a, b FROM "  # noqa: S608
        f"({keyed} UNION {one_word} UNION {by_value}) p",
        params,
    )
    cursor.execute("CREATE UNIQUE INDEX dupscan_pairs_ab ON dupscan_pairs (a, b)")
    _analyze(cursor, "dupscan_pairs")
    cursor.execute(
        "CREATE TEMP TABLE dupscan_ids AS SELECT a AS id FROM dupscan_pairs "
        "UNION SELECT b FROM dupscan_pairs"
    )
    cursor.execute("CREATE UNIQUE INDEX dupscan_ids_id ON dupscan_ids (id)")
    _analyze(cursor, "dupscan_ids")
    cursor.execute("SELECT COUNT(*) FROM dupscan_pairs")
    return int(cursor.fetchone()[0])


# --- facts --------------------------------------------------------------------------------------

# (last, first, middle, birthday, phones, emails, handles, addresses, companies): tuples, not
# frozensets, which take four times the memory (a million contacts are read at once).
Compact = tuple[str, str, str, dt.date | None, tuple[str, ...], tuple[str, ...], tuple[str, ...], tuple[str, ...], tuple[int, ...]]  # fmt: skip


def _read_facts() -> dict[int, Compact]:
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


def _person(row: Compact) -> PersonFacts:
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


# --- scoring and writing ------------------------------------------------------------------------


def _pages() -> Iterator[list[tuple[int, int]]]:
    """The candidate pairs, ``PAGE`` at a time, by ``(a, b)``."""
    after = (0, 0)
    while True:
        with connection.cursor() as cursor:
            # A row comparison is one range of the index; "a > x OR (a = x AND b > y)" made
            # PostgreSQL read the index from its start for every page.
            cursor.execute(
                "SELECT a, b FROM dupscan_pairs WHERE (a, b) > (%s, %s) ORDER BY a, b LIMIT %s",
                [after[0], after[1], PAGE],
            )
            pairs: list[tuple[int, int]] = cursor.fetchall()
        if not pairs:
            return
        yield pairs
        after = pairs[-1]


def _score_pages(
    result: ContactScan, facts: dict[int, Compact], started: dt.datetime, progress: Progress
) -> None:
    """Score the pairs a page at a time and upsert those reaching a tier: in this process,
    or, for more than two pages and ``CRM_DUPLICATES_SCAN_PROCESSES`` above 1, in that many
    forked processes while this one reads the next pages and writes the pairs found."""
    processes = settings.CRM_DUPLICATES_SCAN_PROCESSES
    progress("score", 0, result.candidates)
    if processes <= 1 or result.candidates <= 2 * PAGE:
        done = 0
        for pairs in _pages():
            _store(_scored(pairs, facts), started, result)
            done += len(pairs)
            progress("score", done, result.candidates)
        return
    _score_in_processes(result, facts, started, progress, processes)


def _score_in_processes(
    result: ContactScan,
    facts: dict[int, Compact],
    started: dt.datetime,
    progress: Progress,
    processes: int,
) -> None:
    """Each page goes to a worker with the facts of its contacts (never the whole table: a
    worker stays small), at most ``processes`` + 1 pages in flight. The workers only
    compute: they never touch the database connection they inherit."""
    done = 0
    pending: deque[tuple[int, AsyncResult[list[Found]]]] = deque()
    # The workers share this process's memory until they write to it; frozen objects are
    # left alone by their garbage collector, so the table of facts is not copied into each.
    gc.freeze()
    try:
        pool = multiprocessing.get_context("fork").Pool(processes)
    finally:
        gc.unfreeze()
    with pool:
        for pairs in _pages():
            subset = {pk: facts[pk] for pair in pairs for pk in pair if pk in facts}
            pending.append((len(pairs), pool.apply_async(_scored, (pairs, subset))))
            while len(pending) > processes:
                count, job = pending.popleft()
                _store(job.get(), started, result)
                done += count
                progress("score", done, result.candidates)
        while pending:
            count, job = pending.popleft()
            _store(job.get(), started, result)
            done += count
            progress("score", done, result.candidates)


# (a, b, score, tier, reasons as stored) of a pair that reached a tier.
Found = tuple[int, int, int, str, list[Any]]


def _scored(pairs: Iterable[tuple[int, int]], facts: dict[int, Compact]) -> list[Found]:
    people: dict[int, PersonFacts] = {}
    found: list[Found] = []
    for a, b in pairs:
        first, second = facts.get(a), facts.get(b)
        if first is None or second is None:  # merged away since the pairs were collected
            continue
        one = people.get(a)
        if one is None:
            one = people[a] = _person(first)
        other = people.get(b)
        if other is None:
            other = people[b] = _person(second)
        match = score_person_facts(one, other)
        tier = tier_of(match)
        if tier:
            score = 100 if is_exact(match) else match.score
            found.append((a, b, score, tier, match.stored_reasons))
    return found


def _store(found: list[Found], started: dt.datetime, result: ContactScan) -> None:
    """Insert new pairs, update the score, tier, reasons and stamp of known ones (a
    dismissed pair stays dismissed). On PostgreSQL through ``COPY`` into a temporary table
    and one ``INSERT … ON CONFLICT`` (the ORM's bulk upsert cost ten times more a row)."""
    if not found:
        return
    with transaction.atomic():
        if connection.vendor == "postgresql":
            result.created += _copy_upsert(found, started)
        else:
            DuplicatePair.objects.bulk_create(
                [
                    DuplicatePair(
                        entity=Entity.CONTACT,
                        contact_a_id=a,
                        contact_b_id=b,
                        score=score,
                        tier=tier,
                        reasons=reasons,
                        scanned_at=started,
                    )
                    for a, b, score, tier, reasons in found
                ],
                batch_size=2000,
                update_conflicts=True,
                unique_fields=["contact_a", "contact_b"],
                update_fields=["score", "tier", "reasons", "scanned_at"],
            )
    result.found += len(found)


def _copy_upsert(found: list[Found], started: dt.datetime) -> int:
    """Answers how many of the pairs were new (``xmax = 0``: the row was inserted)."""
    table = DuplicatePair._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TEMP TABLE IF NOT EXISTS dupscan_found "
            "(a bigint, b bigint, score smallint, tier text, reasons text)"
        )
        with cursor.cursor.copy(
            "COPY dupscan_found (a, b, score, tier, reasons) FROM STDIN"
        ) as copy:
            for a, b, score, tier, reasons in found:
                copy.write_row((a, b, score, tier, json.dumps(reasons, ensure_ascii=False)))
        cursor.execute(
            f"INSERT INTO {table} (entity, contact_a_id, contact_b_id, score, tier, reasons, "  # noqa: S608
            "status, found_at, scanned_at) "
            "SELECT %s, a, b, score, tier, CAST(reasons AS jsonb), %s, %s, %s FROM dupscan_found "
            "ON CONFLICT (contact_a_id, contact_b_id) DO UPDATE SET score = EXCLUDED.score, "
            "tier = EXCLUDED.tier, reasons = EXCLUDED.reasons, scanned_at = EXCLUDED.scanned_at "
            "RETURNING (xmax = 0)",
            [Entity.CONTACT, DuplicateStatus.OPEN, timezone.now(), started],
        )
        inserted = sum(1 for (is_new,) in cursor.fetchall() if is_new)
        cursor.execute("TRUNCATE dupscan_found")
    return inserted


def _resolve(result: ContactScan, started: dt.datetime, *, incremental: bool) -> None:
    """Count what the scan created; resolve the open pairs of the contacts looked at that it
    did not find again: merged when a side was merged away, else deleted. A merged pair
    found again (both sides live) opens again."""
    table = DuplicatePair._meta.db_table
    # As the ORM writes the column (SQLite: naive UTC text, which compares as text).
    moment = connection.ops.adapt_datetimefield_value(started)
    stale = "entity = %s AND status = %s AND (scanned_at IS NULL OR scanned_at < %s)"
    if incremental:
        stale += f" AND ({_involves('contact_a_id', 'contact_b_id')})"
    gone = (
        f"EXISTS (SELECT 1 FROM {_CONTACTS} c WHERE c.id IN (contact_a_id, contact_b_id) "  # noqa: S608
        f"AND c.merged_into_id IS NOT NULL)"
    )
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor != "postgresql":  # there the upserts counted their inserts
            cursor.execute(
                f"SELECT COUNT(*) FROM {table} WHERE entity = %s AND found_at >= %s "  # noqa: S608
                f"AND scanned_at >= %s",
                [Entity.CONTACT, moment, moment],
            )
            result.created = int(cursor.fetchone()[0])
        result.updated = result.found - result.created
        cursor.execute(
            f"UPDATE {table} SET status = %s WHERE entity = %s AND status = %s "  # noqa: S608
            f"AND scanned_at >= %s",
            [DuplicateStatus.OPEN, Entity.CONTACT, DuplicateStatus.MERGED, moment],
        )
        cursor.execute(
            f"UPDATE {table} SET status = %s WHERE {stale} AND {gone}",  # noqa: S608
            [DuplicateStatus.MERGED, Entity.CONTACT, DuplicateStatus.OPEN, moment],
        )
        result.merged = cursor.rowcount
        cursor.execute(
            f"DELETE FROM {table} WHERE {stale}",  # noqa: S608
            [Entity.CONTACT, DuplicateStatus.OPEN, moment],
        )
        result.removed = cursor.rowcount
