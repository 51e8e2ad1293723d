"""The bulk reassignment job (see ``customers.services.reassign``)."""

from __future__ import annotations

from django_tasks import task

from crm.customers.services.reassign import reassignment_execute


@task()
def reassignment_run(reassignment_id: int) -> None:
    """Move the records of one queued ``BulkReassignment``; a rerun of a finished one is a
    no-op, so a retry or a second worker never moves anything twice."""
    reassignment_execute(reassignment_id=reassignment_id)
