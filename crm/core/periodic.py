"""Periodic sweeps (stale deals, due reminders, response deadlines …) run by
``manage.py scheduler``.

Apps register a sweep in their ``AppConfig.ready``; the scheduler process calls each one
every ``every`` seconds. A sweep must be idempotent and safe to run in two schedulers at
once (claim rows with conditional updates or ``select_for_update(skip_locked=True)``), so
running a second scheduler for availability never doubles an effect.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Sweep:
    name: str
    every: float
    run: Callable[[], object]


SWEEPS: dict[str, Sweep] = {}


def register(name: str, every: float, run: Callable[[], object]) -> None:
    """Add (or replace) the sweep called ``name``."""
    SWEEPS[name] = Sweep(name, every, run)
