"""Atomic counters within a time window (rate limits, the sign-in throttle).

Django's database cache increments by reading and writing back, so two processes that
increment at once both write the same value; these counters are one conditional ``UPDATE``
each and hold on PostgreSQL and SQLite alike, with any cache backend.
"""

from __future__ import annotations

from datetime import timedelta

from django.db import IntegrityError, transaction
from django.db.models import Case, F, Q, Value, When
from django.utils import timezone

from crm.core.models import Counter


def counter_increment(*, key: str, window_seconds: int) -> int:
    """Add one to the counter ``key`` and return its new value.

    A counter that does not exist or has expired starts again at 1, for ``window_seconds``
    from now; otherwise it keeps its expiry (a fixed window from the first count). Runs in
    its own transaction (a savepoint inside an outer one): the value returned counts every
    increment committed before this one and none after it.
    """
    now = timezone.now()
    expires_at = now + timedelta(seconds=window_seconds)
    live = Q(expires_at__gt=now)
    changes = {
        "count": Case(When(live, then=F("count") + 1), default=Value(1)),
        "expires_at": Case(When(live, then=F("expires_at")), default=Value(expires_at)),
    }
    with transaction.atomic():
        if not Counter.objects.filter(key=key).update(**changes):
            try:
                with transaction.atomic():
                    Counter.objects.create(key=key, count=1, expires_at=expires_at)
            except IntegrityError:  # another process created it first
                Counter.objects.filter(key=key).update(**changes)
            else:
                return 1
        return Counter.objects.filter(key=key).values_list("count", flat=True).get()


def counter_decrement(*, key: str) -> None:
    """Take one back from the live counter ``key`` (never below zero)."""
    Counter.objects.filter(key=key, expires_at__gt=timezone.now(), count__gt=0).update(
        count=F("count") - 1
    )


def counter_value(*, key: str) -> int:
    """The live value of the counter ``key`` (0 when it does not exist or has expired)."""
    value = (
        Counter.objects.filter(key=key, expires_at__gt=timezone.now())
        .values_list("count", flat=True)
        .first()
    )
    return value or 0


def counter_reset(*, key: str) -> None:
    """Forget the counter ``key``."""
    Counter.objects.filter(key=key).delete()


def counters_sweep() -> dict[str, int]:
    """Delete expired counters (the ``core.counters`` periodic sweep); idempotent."""
    deleted, _ = Counter.objects.filter(expires_at__lte=timezone.now()).delete()
    return {"expired": deleted}
