"""Keyset (cursor) pagination: pages that cost the same on page 1 and page 10,000.

The cursor is an opaque, URL-safe token holding the sort-key values of the last row of the
previous page. No ``COUNT(*)`` is run.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Model, Q, QuerySet
from django.db.models.constants import LOOKUP_SEP
from django.utils.translation import gettext as _

from crm.core.errors import ValidationFailed

T = TypeVar("T")
M = TypeVar("M", bound=Model)
MAX_LIMIT = 200


@dataclass
class Page(Generic[T]):
    items: list[T]
    next_cursor: str | None


def _encode_value(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return {"dt": value.isoformat()}
    if isinstance(value, dt.date):
        return {"d": value.isoformat()}
    return value


def _decode_value(value: Any) -> Any:
    if isinstance(value, dict) and "dt" in value:
        return dt.datetime.fromisoformat(value["dt"])
    if isinstance(value, dict) and "d" in value:
        return dt.date.fromisoformat(value["d"])
    return value


def encode_cursor(values: Sequence[Any]) -> str:
    raw = json.dumps([_encode_value(v) for v in values], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, size: int) -> list[Any]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values = json.loads(base64.urlsafe_b64decode(padded.encode()))
        if not isinstance(values, list) or len(values) != size:
            raise ValueError
        return [_decode_value(v) for v in values]
    except (ValueError, TypeError, UnicodeDecodeError, json.JSONDecodeError):
        raise ValidationFailed(field_errors={"cursor": [_("Invalid cursor.")]}) from None


# The range of integer columns (a signed 64-bit integer on every database we support).
_INT_RANGE = range(-(2**63), 2**63)


def _cursor_values(
    queryset: QuerySet[Any], fields: list[tuple[str, bool]], values: list[Any]
) -> list[Any]:
    """Coerce decoded cursor values to the order fields' types; a forged cursor is refused.

    A cursor comes from the URL, so its values may be of any JSON type: without this a
    string where a date belongs, or an integer wider than the column, would fail in the
    database instead of answering "invalid cursor".
    """
    coerced = []
    try:
        for (name, _descending), value in zip(fields, values, strict=True):
            if value is None or isinstance(value, dict | list):
                raise ValueError
            if LOOKUP_SEP in name:  # a related field: leave the value to the database
                coerced.append(value)
                continue
            python_value = queryset.model._meta.get_field(name).to_python(value)
            if isinstance(python_value, int) and python_value not in _INT_RANGE:
                raise ValueError
            if isinstance(python_value, dt.datetime) and python_value.tzinfo is None:
                raise ValueError
            coerced.append(python_value)
    except (ValueError, TypeError, OverflowError, DjangoValidationError):
        raise ValidationFailed(field_errors={"cursor": [_("Invalid cursor.")]}) from None
    return coerced


def keyset_page(
    queryset: QuerySet[M], *, order: Sequence[str], cursor: str | None, limit: int
) -> Page[M]:
    """Return ``limit`` rows of ``queryset`` ordered by ``order`` after ``cursor``.

    ``order`` lists field names, each with ``-`` for descending; the last one must be
    unique (``id``) so the order is total. Fields must be non-null.
    """
    return _keyset(queryset, order, cursor, limit, getattr)


def keyset_values_page(
    queryset: QuerySet[Any, dict[str, Any]], *, order: Sequence[str], cursor: str | None, limit: int
) -> Page[dict[str, Any]]:
    """``keyset_page`` of a ``values()`` queryset (rows as dicts, which must hold the
    ``order`` fields): for a page that only shows values, without building model instances."""
    return _keyset(queryset, order, cursor, limit, dict.__getitem__)


def _keyset(
    queryset: QuerySet[Any, Any],
    order: Sequence[str],
    cursor: str | None,
    limit: int,
    value_of: Any,
) -> Page[Any]:
    if not 1 <= limit <= MAX_LIMIT:
        raise ValidationFailed(
            field_errors={"limit": [_("Between 1 and %(max)d.") % {"max": MAX_LIMIT}]}
        )
    fields = [(name.lstrip("-"), name.startswith("-")) for name in order]
    if cursor:
        values = _cursor_values(queryset, fields, decode_cursor(cursor, len(fields)))
        condition = Q()
        for index, (name, descending) in enumerate(fields):
            step = Q(**{f"{name}__{'lt' if descending else 'gt'}": values[index]})
            for prior_index in range(index):
                step &= Q(**{fields[prior_index][0]: values[prior_index]})
            condition |= step
        queryset = queryset.filter(condition)
    rows = list(queryset.order_by(*order)[: limit + 1])
    has_more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = None
    if has_more and rows:
        last = rows[-1]
        next_cursor = encode_cursor([value_of(last, name) for name, _desc in fields])
    return Page(rows, next_cursor)
