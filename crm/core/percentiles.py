"""Percentiles per group and moments as seconds, on PostgreSQL and SQLite alike.

PostgreSQL computes ``percentile_cont`` itself. SQLite has no ordered-set aggregate, so
the fallback ranks the values of each group with window functions (``ROW_NUMBER`` and
``COUNT`` over the group) and returns only the one or two rows around each percentile's
position; the linear interpolation between them (the definition of ``percentile_cont``)
is done here. The work over all rows stays in the database on both.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Hashable, Sequence
from typing import Any

from django.db import connections
from django.db.models import Aggregate, F, FloatField, Func, QuerySet, Value
from django.db.models.expressions import Combinable

from crm.core.sql import compiled


class EpochSeconds(Func):
    """A moment as seconds since an epoch (a float): differences of two are durations."""

    output_field = FloatField()
    arity = 1
    template = "(julianday(%(expressions)s) * 86400.0)"  # SQLite keeps moments as UTC text

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        return self.as_sql(
            compiler,
            connection,
            template="CAST(EXTRACT(EPOCH FROM %(expressions)s) AS double precision)",
            **extra,
        )


class _PercentileCont(Aggregate):
    function = "PERCENTILE_CONT"
    template = "%(function)s(%(fraction)s) WITHIN GROUP (ORDER BY %(expressions)s)"
    output_field = FloatField()


def seconds_between(start: str | Combinable, end: str | Combinable) -> Combinable:
    """The seconds from moment ``start`` to moment ``end`` (field names or expressions)."""
    first = F(start) if isinstance(start, str) else start
    last = F(end) if isinstance(end, str) else end
    result: Combinable = EpochSeconds(last) - EpochSeconds(first)
    return result


def percentiles(
    queryset: QuerySet[Any],
    *,
    value: str,
    fractions: Sequence[float],
    group: str | None = None,
) -> dict[Hashable, dict[float, float]]:
    """For each distinct ``group`` of ``queryset`` (one key ``None`` without a group), the
    ``fractions`` (0..1) percentiles of the numeric field or annotation ``value``, as
    ``percentile_cont`` defines them (linear interpolation). Rows whose value is null are
    left out; a group with no value is absent from the answer."""
    rows = queryset.filter(**{f"{value}__isnull": False}).order_by()
    grouping = F(group) if group else Value(0)
    if connections[queryset.db].vendor == "postgresql":
        aggregates = {
            f"p{index}": _PercentileCont(F(value), fraction=float(fraction))
            for index, fraction in enumerate(fractions)
        }
        answer: dict[Hashable, dict[float, float]] = {}
        for row in rows.values(bucket=grouping).annotate(**aggregates):
            if row["p0"] is None:  # no rows at all: the ungrouped aggregate is null
                continue
            answer[None if group is None else row["bucket"]] = {
                fraction: float(row[f"p{index}"]) for index, fraction in enumerate(fractions)
            }
        return answer
    return _ranked_percentiles(rows, grouping, value, fractions, group is None)


def _ranked_percentiles(
    rows: QuerySet[Any],
    grouping: Any,
    value: str,
    fractions: Sequence[float],
    ungrouped: bool,
) -> dict[Hashable, dict[float, float]]:
    inner = compiled(rows.values(bucket=grouping, number=F(value)))
    if inner is None:  # a query that can match no row
        return {}
    inner_sql, params = inner
    positions = " OR ".join(
        f"(rn >= CAST((n - 1) * {float(f)!r} AS INTEGER) + 1"
        f" AND rn <= CAST((n - 1) * {float(f)!r} AS INTEGER) + 2)"
        for f in fractions
    )
    sql = (
        "SELECT bucket, number, rn, n FROM ("  # noqa: S608 (our SQL; values are parameters)
        " SELECT bucket, number,"
        " ROW_NUMBER() OVER (PARTITION BY bucket ORDER BY number) AS rn,"
        " COUNT(*) OVER (PARTITION BY bucket) AS n"
        f" FROM ({inner_sql}) AS picked) AS ranked WHERE {positions}"
    )
    ranked: dict[Hashable, dict[int, float]] = defaultdict(dict)
    sizes: dict[Hashable, int] = {}
    with connections[rows.db].cursor() as cursor:
        cursor.execute(sql, params)
        for bucket, number, rank, size in cursor.fetchall():
            key = None if ungrouped else bucket
            ranked[key][int(rank)] = float(number)
            sizes[key] = int(size)
    answer: dict[Hashable, dict[float, float]] = {}
    for key, values in ranked.items():
        answer[key] = {}
        for fraction in fractions:
            position = (sizes[key] - 1) * fraction
            low = math.floor(position)
            below = values[low + 1]
            above = values.get(low + 2, below)
            answer[key][fraction] = below + (position - low) * (above - below)
    return answer
