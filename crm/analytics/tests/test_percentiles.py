"""Percentiles per group on the running database (PostgreSQL's percentile_cont or the
ranked fallback), against values computed by hand. Rows of the audit log serve as a
plain table: a kind to group by, a moment and a number written as the user name."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db.models import IntegerField, OuterRef, Subquery
from django.db.models.functions import Cast

from crm.accounts.models import SecurityEvent
from crm.core.percentiles import percentiles, seconds_between

pytestmark = pytest.mark.django_db


def _numbers(kind: str, numbers: list[int]) -> None:
    for number in numbers:
        SecurityEvent.objects.create(kind=kind, username=str(number))


def test_median_and_90th_percentile_interpolate_per_group():
    _numbers("login", [10, 3, 1, 7, 2, 9, 4, 6, 8, 5])  # 1..10: median 5.5, p90 9.1
    _numbers("logout", [7])  # a single value is every percentile
    rows = SecurityEvent.objects.annotate(number=Cast("username", IntegerField()))
    answer = percentiles(rows, value="number", fractions=(0.5, 0.9), group="kind")
    assert answer["login"] == {0.5: pytest.approx(5.5), 0.9: pytest.approx(9.1)}
    assert answer["logout"] == {0.5: pytest.approx(7), 0.9: pytest.approx(7)}
    overall = percentiles(rows, value="number", fractions=(0.5,))
    assert overall == {None: {0.5: pytest.approx(6)}}  # 1..10 and 7: the sixth of eleven


def test_no_rows_give_no_answer():
    assert percentiles(SecurityEvent.objects.all(), value="id", fractions=(0.5,)) == {}


def test_seconds_between_two_moments():
    start = dt.datetime(2026, 3, 1, 23, 59, 58, tzinfo=dt.UTC)
    SecurityEvent.objects.create(kind="login", username="a", created_at=start)
    SecurityEvent.objects.create(
        kind="logout", username="a", created_at=start + dt.timedelta(hours=2, seconds=3)
    )
    login = SecurityEvent.objects.filter(kind="login", username=OuterRef("username"))
    rows = SecurityEvent.objects.filter(kind="logout").annotate(
        wait=seconds_between(Subquery(login.values("created_at")[:1]), "created_at")
    )
    answer = percentiles(rows, value="wait", fractions=(0.5,))
    assert answer[None][0.5] == pytest.approx(7203, abs=0.01)
