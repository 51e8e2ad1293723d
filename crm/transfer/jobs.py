"""The import job (see ``crm.transfer.importing``)."""

from __future__ import annotations

from django_tasks import task

from crm.transfer.importing import import_execute


@task()
def import_run(job_id: int) -> None:
    """Run or resume one import. A job already finished, or running in a live worker, is
    left alone, so a retry or a second worker never writes a row twice."""
    import_execute(job_id=job_id)
