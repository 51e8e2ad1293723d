"""Background jobs of leads. They take ids and are idempotent."""

from __future__ import annotations

from django_tasks import task

from crm.leads.services.intake import inbound_process


@task
def inbound_process_job(inbound_id: int) -> int | None:
    lead = inbound_process(inbound_id)
    return lead.pk if lead else None
