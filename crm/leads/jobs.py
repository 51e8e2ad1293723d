"""Background jobs of leads. They take ids and are idempotent."""

from __future__ import annotations

from django_tasks import task

from crm.leads.services.intake import inbound_process_batch


@task
def inbound_process_job(inbound_id: int) -> int:
    """Process the arrival ``inbound_id`` and, in the same transaction, a batch of other
    pending ones (``inbound_process_batch``); returns how many were handled (0 when another
    job's batch already took this one)."""
    return len(inbound_process_batch(first_id=inbound_id))
