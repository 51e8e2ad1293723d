"""Background jobs of leads. They take ids and are idempotent."""

from __future__ import annotations

from django_tasks import task

from crm.leads.services import intake


@task
def inbound_process_job(inbound_id: int) -> int:
    """Process the arrival ``inbound_id`` (0: none in particular) and, in the same
    transaction, a batch of other pending ones (``inbound_process_batch``); returns how many
    were handled (0 when another job's batch already took them). A full batch may have left
    more behind it: two more jobs go on, so two workers drain a backlog together."""
    handled = intake.inbound_process_batch(first_id=inbound_id or None)
    if len(handled) >= intake.BATCH_SIZE:
        for _ in range(2):
            intake.inbound_processing_enqueue()
    return len(handled)
