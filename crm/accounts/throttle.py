"""Sign-in throttling per account and per client address, counted in the shared cache.

The cache is shared by every process (database cache on a laptop, Redis in production), so
an attacker gains nothing by landing on another worker. A successful sign-in clears the
account's counter, not the address's.
"""

from __future__ import annotations

import hashlib

from django.conf import settings
from django.core.cache import cache


def _key(kind: str, value: str) -> str:
    digest = hashlib.sha256(value.strip().lower().encode()).hexdigest()[:32]
    return f"login-throttle:{kind}:{digest}"


def is_throttled(*, username: str, ip_address: str | None) -> bool:
    """Whether further attempts for this account or from this address must be refused."""
    if cache.get(_key("account", username), 0) >= settings.LOGIN_THROTTLE_ACCOUNT_LIMIT:
        return True
    return bool(
        ip_address
        and cache.get(_key("address", ip_address), 0) >= settings.LOGIN_THROTTLE_ADDRESS_LIMIT
    )


def record_failure(*, username: str, ip_address: str | None) -> None:
    window = settings.LOGIN_THROTTLE_WINDOW_SECONDS
    for kind, value in (("account", username), ("address", ip_address)):
        if not value:
            continue
        key = _key(kind, value)
        if not cache.add(key, 1, timeout=window):
            try:
                cache.incr(key)
            except ValueError:  # expired between add and incr
                cache.add(key, 1, timeout=window)


def clear_account(*, username: str) -> None:
    cache.delete(_key("account", username))
