"""One search function over PostgreSQL (pg_trgm) and SQLite (FTS5 trigram).

Models that take part keep a ``search_text`` column filled with ``core.text.search_text``.
On PostgreSQL a GIN trigram index serves ``search_text LIKE '%fragment%'``; on SQLite an
FTS5 table with the trigram tokenizer, kept in step by triggers, serves the same question.
Fragments shorter than three characters cannot use trigrams and fall back to a prefix
match on the start of the text.

A name of several words is matched word by word in any order (``filter_by_words``) against
a ``name_words`` column (``core.text.name_words``: `` петров иван petrov ivan ``), indexed
the same way.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from django.db import connection
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import F, Lookup, Model, QuerySet
from django.db.models.expressions import RawSQL
from django.db.models.sql.compiler import SQLCompiler

from crm.core.text import (
    SHARED_PREFIX_MARK,
    SHARED_PREFIX_MIN,
    name_query_words,
    search_query,
)

M = TypeVar("M", bound=Model)

MIN_TRIGRAM = 3


WORDS_COLUMN = "name_words"
WORD_INDEXED_MIN = 3
"""A shorter word (``И`` of «Петров И») is checked on the rows the longer ones found: its
trigrams would match a large part of the table."""


def fts_table(model: type[Model], column: str = "search_text") -> str:
    return _fts_name(model._meta.db_table, column)


def _fts_name(table: str, column: str) -> str:
    return f"{table}_fts" if column == "search_text" else f"{table}_{column}_fts"


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


class Like(Lookup):
    """``lhs LIKE pattern`` with the pattern as built here: its words come from
    ``name_query_words``, which leaves only letters and digits, so ``%`` is the only
    wildcard in it."""

    lookup_name = "like_pattern"
    prepare_rhs = False

    def as_sql(
        self, compiler: SQLCompiler, connection: BaseDatabaseWrapper
    ) -> tuple[str, tuple[Any, ...]]:
        lhs, lhs_params = self.process_lhs(compiler, connection)
        rhs, rhs_params = self.process_rhs(compiler, connection)
        return f"{lhs} LIKE {rhs}", (*lhs_params, *rhs_params)


def word_patterns(words: list[str]) -> list[str]:
    """``LIKE`` patterns over ``name_words`` that hold when each word starts its own word of
    the name, in any order.

    Each distinct word gets ``% w% w%…`` with one `` w`` per typed word starting with ``w``
    (itself included): «Иван Иванов» needs two name words starting with ``иван``, so
    «Иванов Пётр» is no match. Two typed words of which neither starts the other can never
    start the same name word, so these counts are all it takes for a distinct name word per
    typed word. A count of two or more also asks for the name's shared-prefix token.
    """
    distinct = sorted(set(words))
    counts = {word: sum(1 for other in words if other.startswith(word)) for word in distinct}
    patterns = ["%" + f" {word}%" * counts[word] for word in distinct]
    # Implied by the counts, and the trigram index can find it (``core.text.name_words``).
    shared = [
        f"% {SHARED_PREFIX_MARK}{word}%"
        for word in distinct
        if counts[word] > 1 and len(word) >= SHARED_PREFIX_MIN
    ]
    return patterns + shared


def filter_by_words(queryset: QuerySet[M], fragment: str) -> QuerySet[M]:
    """Narrow ``queryset`` to rows whose name has, for every word of ``fragment``, a word of
    its own that starts with it — in any order and either alphabet («Иван Петров», «petrov
    ivan» and «Петров И» find Петров Иван Сергеевич).

    A fragment of fewer than two words is ``filter_by_text`` (a piece of the name or an
    e-mail, as before). Words of three letters or more are looked up in the trigram index of
    ``name_words`` (GIN on PostgreSQL, FTS5 on SQLite); shorter ones join them in the GIN
    scan on PostgreSQL and are checked on the rows found on SQLite, whose trigram index
    cannot take them. Only short words (``И П``) are checked on every row walked.
    """
    words = name_query_words(fragment)
    if len(words) < 2:
        return filter_by_text(queryset, fragment)
    long_words = [word for word in words if len(word) >= WORD_INDEXED_MIN]
    indexed = word_patterns(long_words)
    checked = [pattern for pattern in word_patterns(words) if pattern not in indexed]
    column = F(WORDS_COLUMN)
    if connection.vendor == "sqlite":
        if indexed:
            table = fts_table(queryset.model, WORDS_COLUMN)
            where = " AND ".join([f"{WORDS_COLUMN} LIKE %s"] * len(indexed))
            # Names come from model metadata; the patterns are bound parameters.
            sql = f"SELECT rowid FROM {table} WHERE {where}"  # noqa: S608
            queryset = queryset.filter(pk__in=RawSQL(sql, indexed))  # noqa: S611
        return queryset.filter(*(Like(column, pattern) for pattern in checked))
    # A short word's few common trigrams only skip through their posting lists while the
    # rarer ones drive the GIN scan, and they cut the rows fetched from the table ten-fold
    # («Петров И»: 3,000 instead of 34,000 at 1M contacts).
    return queryset.filter(*(Like(column, pattern) for pattern in word_patterns(words)))


def words_rank(fragment: str) -> Callable[[str], tuple[int, int]] | None:
    """How well a row's ``name_words`` match ``fragment`` (lower is better): every typed
    word a whole word of the name, then the words in the typed order; ``None`` for one
    word. For the rows ``filter_by_words`` found."""
    words = name_query_words(fragment)
    if len(words) < 2:
        return None
    phrase = " " + " ".join(words)

    def rank(stored: str) -> tuple[int, int]:
        whole = all(f" {word} " in stored for word in words)
        return (0 if whole else 1, 0 if phrase in stored else 1)

    return rank


def sqlite_fts_sql(table: str, column: str = "search_text") -> tuple[list[str], list[str]]:
    """SQL that creates (and drops) the FTS5 trigram index of ``column`` with its sync
    triggers."""
    fts = _fts_name(table, column)
    col = column
    # Table and column names come from model metadata, never from input.
    create = [
        f"CREATE VIRTUAL TABLE {fts} USING fts5({col}, content='{table}', "
        f"content_rowid='id', tokenize='trigram')",
        f"CREATE TRIGGER {fts}_ai AFTER INSERT ON {table} BEGIN "  # noqa: S608
        f"INSERT INTO {fts}(rowid, {col}) VALUES (new.id, new.{col}); END",
        f"CREATE TRIGGER {fts}_ad AFTER DELETE ON {table} BEGIN "
        f"INSERT INTO {fts}({fts}, rowid, {col}) VALUES('delete', old.id, old.{col}); END",
        f"CREATE TRIGGER {fts}_au AFTER UPDATE OF {col} ON {table} BEGIN "  # noqa: S608
        f"INSERT INTO {fts}({fts}, rowid, {col}) VALUES('delete', old.id, old.{col}); "
        f"INSERT INTO {fts}(rowid, {col}) VALUES (new.id, new.{col}); END",
        f"INSERT INTO {fts}({fts}) VALUES('rebuild')",
    ]
    drop = [
        f"DROP TRIGGER IF EXISTS {fts}_ai",
        f"DROP TRIGGER IF EXISTS {fts}_ad",
        f"DROP TRIGGER IF EXISTS {fts}_au",
        f"DROP TABLE IF EXISTS {fts}",
    ]
    return create, drop
