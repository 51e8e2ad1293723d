"""Wrapping an ORM query in SQL of our own (an outer grouping or a window the ORM cannot
express), with the ORM's query compiled apart and its values kept as parameters."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import EmptyResultSet
from django.db.models import QuerySet


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
