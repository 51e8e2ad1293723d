"""What notifications declare in the registry (``crm.core.records``): the outbox sweep."""

from __future__ import annotations

from crm.core.records import Sweep
from crm.notifications.services import outbox_sweep


def _outbox_sweep() -> dict[str, int]:
    """The sweep, answering only the non-zero counts (the scheduler logs a non-empty answer)."""
    return {name: count for name, count in outbox_sweep().items() if count}


CONTRIBUTIONS = [Sweep("notifications.outbox", 120, _outbox_sweep)]
