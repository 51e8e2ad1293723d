"""Background jobs of the customer base. Jobs take ids and strings, never model instances,
and are idempotent: a retry or a second worker repeats no effect."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from django_tasks import task

from crm.customers.services.scan import duplicates_scan


@task
def duplicates_scan_job(entity: str, full: bool = False) -> dict[str, Any]:
    """Scan the live base of ``entity`` ("contact" or "company") for possible duplicates:
    the contacts changed since the last scan, or all of them when ``full``.

    Idempotent: running it twice leaves the same pairs (see ``duplicates_scan``).
    """
    return asdict(duplicates_scan(entity=entity, full=full))
