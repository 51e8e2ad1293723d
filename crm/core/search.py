"""One search function over PostgreSQL (pg_trgm) and SQLite (FTS5 trigram).

Models that take part keep a ``search_text`` column filled with ``core.text.search_text``.
On PostgreSQL a GIN trigram index serves ``search_text LIKE '%fragment%'``; on SQLite an
FTS5 table with the trigram tokenizer, kept in step by triggers, serves the same question.
Fragments shorter than three characters cannot use trigrams and fall back to a prefix
match on the start of the text.
"""

from __future__ import annotations

from typing import TypeVar

from django.db import connection
from django.db.models import Model, QuerySet
from django.db.models.expressions import RawSQL

from crm.core.text import search_query

M = TypeVar("M", bound=Model)

MIN_TRIGRAM = 3


def fts_table(model: type[Model]) -> str:
    return f"{model._meta.db_table}_fts"


def filter_by_text(queryset: QuerySet[M], fragment: str) -> QuerySet[M]:
    """Narrow ``queryset`` to rows whose ``search_text`` contains ``fragment`` (folded)."""
    query = search_query(fragment)
    if not query:
        return queryset.none()
    if len(query) < MIN_TRIGRAM:
        return queryset.filter(search_text__startswith=query)
    if connection.vendor == "sqlite":
        table = fts_table(queryset.model)
        phrase = '"' + query.replace('"', '""') + '"'
        # The table name comes from model metadata; the user's text is a bound parameter.
        sql = f"SELECT rowid FROM {table} WHERE {table} MATCH %s"  # noqa: S608
        matching_ids = RawSQL(sql, [phrase])  # noqa: S611
        return queryset.filter(pk__in=matching_ids)
    return queryset.filter(search_text__contains=query)


def sqlite_fts_sql(table: str) -> tuple[list[str], list[str]]:
    """SQL that creates (and drops) the FTS5 trigram index with its sync triggers."""
    fts = f"{table}_fts"
    # Table names come from model metadata, never from input.
    create = [
        f"CREATE VIRTUAL TABLE {fts} USING fts5(search_text, content='{table}', "
        f"content_rowid='id', tokenize='trigram')",
        f"CREATE TRIGGER {fts}_ai AFTER INSERT ON {table} BEGIN "  # noqa: S608
        f"INSERT INTO {fts}(rowid, search_text) VALUES (new.id, new.search_text); END",
        f"CREATE TRIGGER {fts}_ad AFTER DELETE ON {table} BEGIN "
        f"INSERT INTO {fts}({fts}, rowid, search_text) VALUES('delete', old.id, old.search_text); END",
        f"CREATE TRIGGER {fts}_au AFTER UPDATE OF search_text ON {table} BEGIN "  # noqa: S608
        f"INSERT INTO {fts}({fts}, rowid, search_text) VALUES('delete', old.id, old.search_text); "
        f"INSERT INTO {fts}(rowid, search_text) VALUES (new.id, new.search_text); END",
        f"INSERT INTO {fts}({fts}) VALUES('rebuild')",
    ]
    drop = [
        f"DROP TRIGGER IF EXISTS {fts}_ai",
        f"DROP TRIGGER IF EXISTS {fts}_ad",
        f"DROP TRIGGER IF EXISTS {fts}_au",
        f"DROP TABLE IF EXISTS {fts}",
    ]
    return create, drop
