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

from django.db import connection

from crm.customers.models import DuplicatePair
from crm.customers.services.scan_contacts.candidates import (
    MAX_GROUP_MEMBERS,
    MAX_ONE_WORD_GROUP,
    PHONE_SUFFIX,
    Watermarks,
    changed_contacts,
    collect,
    drop_tables,
    scan_watermarks,
)
from crm.customers.services.scan_contacts.facts import read_facts
from crm.customers.services.scan_contacts.pairs import (
    ContactScan,
    Progress,
    resolve,
    score_pages,
)


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
        drop_tables()
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                # The pairs' deduplication hashes millions of rows: in memory, not on disk.
                cursor.execute("SET work_mem = '256MB'")
            if since is not None:
                result.looked_at = changed_contacts(cursor, since)
            progress("collect", 0, 0)
            result.candidates = collect(cursor, incremental=since is not None)
        facts = read_facts()
        score_pages(result, facts, started, progress)
        del facts
        resolve(result, started, incremental=since is not None)
        if connection.vendor == "postgresql" and since is None:
            # A full scan rewrote most pairs: plan the page's and the next scan's reads of
            # them with statistics of what is there now.
            with connection.cursor() as cursor:
                cursor.execute(f"ANALYZE {DuplicatePair._meta.db_table}")
    finally:
        drop_tables()
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("RESET work_mem")
    return result


__all__ = [
    "MAX_GROUP_MEMBERS",
    "MAX_ONE_WORD_GROUP",
    "PHONE_SUFFIX",
    "ContactScan",
    "Watermarks",
    "contacts_scan",
    "scan_watermarks",
]
