"""IANA time zones a user may choose for themselves (their reports' periods, their day)."""

from __future__ import annotations

import zoneinfo
from collections.abc import Iterable
from functools import cache
from itertools import chain
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings


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


def user_zone(user: Any, teams: Iterable[Any] | None = None) -> ZoneInfo:
    """The zone a user's days and periods are counted in: their own ``time_zone`` if set,
    otherwise the zone of their first team (by name) that sets one, otherwise the site's
    ``TIME_ZONE``. An anonymous user gets the site's. ``teams``: the user's teams in name
    order when the caller has them already (a sweep over many users), else they are read."""
    own = getattr(user, "time_zone", "")
    if teams is None:
        teams = user.teams.order_by("name") if getattr(user, "pk", None) else []
    names = chain([own] if own else [], (team.time_zone for team in teams if team.time_zone))
    for name in names:
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            continue
    return ZoneInfo(settings.TIME_ZONE)
