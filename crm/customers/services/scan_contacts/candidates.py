"""The candidate pairs of a contact scan, found and deduplicated by the database in
temporary tables of the scan's connection (``dupscan_*``), and the watermarks an
incremental scan starts from."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import connection
from django.db.models import Max

from crm.customers.choices import ContactPointKind
from crm.customers.models import Contact, ContactPoint, MatchKey

# A key or contact detail shared by more contacts than this is too common to mean "the same
# client" (a switchboard number, a frequent name) and would explode into thousands of pairs.
MAX_GROUP_MEMBERS = 50
# A one-word name is paired with the contacts holding its word when they are at most this many.
MAX_ONE_WORD_GROUP = 200
PHONE_SUFFIX = 7

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


def drop_tables() -> None:
    with connection.cursor() as cursor:
        for table in _TABLES:
            cursor.execute(f"DROP TABLE IF EXISTS {table}")


def changed_contacts(cursor: Any, since: Watermarks) -> int:
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


def involves(*columns: str) -> str:
    """A condition: one of ``columns`` is a changed contact."""
    return " OR ".join(f"{column} IN (SELECT id FROM dupscan_changed)" for column in columns)  # noqa: S608


def _ordered(first: str, second: str) -> str:
    """The two ids of a pair as ``a, b`` with ``a < b``."""
    return (
        f"CASE WHEN {first} < {second} THEN {first} ELSE {second} END AS a, "
        f"CASE WHEN {first} < {second} THEN {second} ELSE {first} END AS b"
    )


def collect(cursor: Any, *, incremental: bool) -> int:
    """``dupscan_pairs`` (a < b, distinct): the candidate pairs of the four sources, each
    involving a changed contact when ``incremental``. Answers their number."""
    # Keys of 2..MAX holders: of all keys, grouped; when incremental, of the changed
    # contacts' keys, each counted up to MAX + 1 through the index.
    if incremental:
        cursor.execute(
            f"CREATE TEMP TABLE dupscan_keys AS SELECT own.key FROM (SELECT DISTINCT key "  # noqa: S608
            f"FROM {_KEYS} WHERE {involves('contact_id')} AND key NOT LIKE %s "
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
            f"WHERE {involves('contact_id')} AND (key LIKE %s OR key LIKE %s)) own "
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
            f"WHERE {involves('contact_id')})"
        )
        own_points = (
            f" AND (kind, value) IN (SELECT kind, value FROM {_POINTS} "  # noqa: S608
            f"WHERE {involves('contact_id')})"
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
