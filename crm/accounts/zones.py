"""IANA time zones a user may choose for themselves (their reports' periods, their day)."""

from __future__ import annotations

import zoneinfo
from functools import cache


@cache
def time_zone_names() -> tuple[str, ...]:
    """The IANA zone names of this machine's zone database, sorted (``Etc/…`` and the
    legacy aliases without a ``/`` left out, ``UTC`` kept)."""
    names = {
        name
        for name in zoneinfo.available_timezones()
        if "/" in name and not name.startswith(("Etc/", "SystemV/", "posix/", "right/"))
    }
    return tuple(sorted({*names, "UTC"}))


def is_time_zone(name: str) -> bool:
    """Whether ``name`` is one of :func:`time_zone_names`."""
    return name in time_zone_names()
