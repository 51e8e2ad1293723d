"""Scoring a contact scan's candidate pairs page by page (in this process or in forked
workers), writing those that reach a tier, and resolving the pairs not found again."""

from __future__ import annotations

import datetime as dt
import gc
import json
import multiprocessing
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from multiprocessing.pool import AsyncResult
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from crm.core.person_match import PersonFacts, is_exact, score_person_facts, tier_of
from crm.customers.choices import DuplicateStatus, Entity
from crm.customers.models import Contact, DuplicatePair
from crm.customers.services.scan_contacts.candidates import involves
from crm.customers.services.scan_contacts.facts import Compact, person

# Pairs scored per step.
PAGE = 20_000
_CONTACTS = Contact._meta.db_table


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


def score_pages(
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
            one = people[a] = person(first)
        other = people.get(b)
        if other is None:
            other = people[b] = person(second)
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


def _of_changed(table: str) -> str:
    """A condition on the pairs: a side is a changed contact. On PostgreSQL through each
    side's index per changed contact (``LATERAL``): under ``a IN (…) OR b IN (…)`` it read
    the whole table (1.6 s at 3.9 million pairs and 10,000 changed contacts; 0.3 s so)."""
    if connection.vendor != "postgresql":
        return f"({involves('contact_a_id', 'contact_b_id')})"
    return (
        "id IN (SELECT mine.id FROM dupscan_changed changed CROSS JOIN LATERAL ("  # noqa: S608
        f"SELECT id FROM {table} WHERE contact_a_id = changed.id "
        f"UNION ALL SELECT id FROM {table} WHERE contact_b_id = changed.id) AS mine)"
    )


def resolve(result: ContactScan, started: dt.datetime, *, incremental: bool) -> None:
    """Count what the scan created; resolve the open pairs of the contacts looked at that it
    did not find again: merged when a side was merged away, else deleted. A merged pair
    found again (both sides live) opens again."""
    table = DuplicatePair._meta.db_table
    # As the ORM writes the column (SQLite: naive UTC text, which compares as text).
    moment = connection.ops.adapt_datetimefield_value(started)
    stale = "entity = %s AND status = %s AND (scanned_at IS NULL OR scanned_at < %s)"
    if incremental:
        stale += f" AND {_of_changed(table)}"
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
