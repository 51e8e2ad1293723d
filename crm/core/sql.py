"""Wrapping an ORM query in SQL of our own (an outer grouping or a window the ORM cannot
express), with the ORM's query compiled apart and its values kept as parameters; and
planning a few queries for index pages in memory."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.core.exceptions import EmptyResultSet
from django.db import connection, transaction
from django.db.models import QuerySet

CACHED_RANDOM_PAGE_COST = "1.1"


def compiled(queryset: QuerySet[Any]) -> tuple[str, tuple[Any, ...]] | None:
    """The SQL and parameters of ``queryset``, or ``None`` when it can match no row: Django
    does not compile a condition such as ``IN ()`` (a team without members, a scope with no
    owner) and raises ``EmptyResultSet`` instead, which it handles itself only when it runs
    the query."""
    try:
        sql, params = queryset.query.sql_with_params()
    except EmptyResultSet:
        return None
    return sql, tuple(params)


@contextmanager
def cached_random_reads(*, when: bool = True) -> Iterator[None]:
    """Plan the queries run inside as reading index pages from memory: on PostgreSQL
    ``random_page_cost`` 1.1 instead of the default 4 (a disk's seek), for those queries
    only (``set_config`` local to a transaction, restored on the way out; rolled back with
    it on an error). Nothing on SQLite, nor when ``when`` is false.

    For a query that may either probe an index once per row of a small set (a head's deals
    of a period) or scan a large range (everyone's visits of the period): at 4 the planner
    takes the scan although the probes read a third of the pages (bench/RESULTS.md,
    "funnel: the period's deals from the deals' side"). Not for a large set (everyone's
    deals of a year: the scan is right, and 1.1 made it twice slower), and not set for
    every connection: the sales report's year plans go the other way at 1.1."""
    if not when or connection.vendor != "postgresql":
        yield
        return
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT current_setting('random_page_cost'),"
                " set_config('random_page_cost', %s, true)",
                [CACHED_RANDOM_PAGE_COST],
            )
            previous = cursor.fetchone()[0]
        yield
        with connection.cursor() as cursor:
            cursor.execute("SELECT set_config('random_page_cost', %s, true)", [previous])
