"""The export job (see ``transfer.exports``): a large list or the whole base written to a
file in the background."""

from __future__ import annotations

from django_tasks import task

from crm.transfer.exports import export_execute


@task()
def export_run(job_id: str) -> None:
    """Write the file of one queued export job; a second run of the same job does nothing
    (the job is claimed queued → running first)."""
    export_execute(job_id=job_id)
