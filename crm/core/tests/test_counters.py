"""Atomic windowed counters (``crm.core.counters``), alone and from concurrent threads."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from conftest import run_together
from crm.core.counters import (
    counter_decrement,
    counter_increment,
    counter_reset,
    counter_value,
    counters_sweep,
)
from crm.core.models import Counter


def needs_a_server_or_file_database() -> pytest.MarkDecorator:
    """Concurrent writers need PostgreSQL or SQLite on a file (``CRM_TEST_SQLITE_NAME``): the
    in-memory shared-cache SQLite test database fails a second writer at once."""
    return pytest.mark.skipif(
        connection.vendor == "sqlite" and not connection.settings_dict["TEST"].get("NAME"),
        reason="concurrent writers need PostgreSQL or SQLite on a file",
    )


def test_increment_counts_from_one_and_keeps_its_window(db):
    assert counter_increment(key="k", window_seconds=60) == 1
    expires_at = Counter.objects.get(key="k").expires_at
    assert counter_increment(key="k", window_seconds=60) == 2
    assert counter_increment(key="k", window_seconds=600) == 3
    assert Counter.objects.get(key="k").expires_at == expires_at
    assert counter_value(key="k") == 3
    assert counter_value(key="other") == 0


def test_an_expired_counter_starts_again(db):
    Counter.objects.create(key="k", count=9, expires_at=timezone.now() - timedelta(seconds=1))
    assert counter_value(key="k") == 0
    assert counter_increment(key="k", window_seconds=60) == 1
    assert Counter.objects.get(key="k").expires_at > timezone.now()


def test_decrement_and_reset(db):
    for _ in range(2):
        counter_increment(key="k", window_seconds=60)
    counter_decrement(key="k")
    assert counter_value(key="k") == 1
    counter_decrement(key="k")
    counter_decrement(key="k")
    assert counter_value(key="k") == 0
    counter_reset(key="k")
    assert not Counter.objects.exists()


def test_the_sweep_is_registered_with_the_scheduler():
    from crm.core.records import registry

    assert registry.sweeps["core.counters"].run is counters_sweep


def test_sweep_deletes_only_expired_counters(db):
    counter_increment(key="live", window_seconds=60)
    Counter.objects.create(key="old", count=3, expires_at=timezone.now() - timedelta(seconds=1))
    assert counters_sweep() == {"expired": 1}
    assert list(Counter.objects.values_list("key", flat=True)) == ["live"]


@pytest.mark.django_db(transaction=True)
@needs_a_server_or_file_database()
def test_concurrent_increments_each_get_their_own_value():
    # given: 20 threads, each with its own connection, released together
    seen: list[int] = []
    lock = threading.Lock()

    def increment() -> None:
        value = counter_increment(key="shared", window_seconds=60)
        with lock:
            seen.append(value)

    # when
    run_together(increment, [()] * 20)
    # then: no increment was lost and no two saw the same count
    assert sorted(seen) == list(range(1, 21))
    assert counter_value(key="shared") == 20
