"""Background jobs of mailings. They take ids and are idempotent: a batch is claimed before
it is sent (``services.delivery.mailing_send_batch``)."""

from __future__ import annotations

from django_tasks import task

from crm.mailings.services import delivery


@task
def mailing_send_job(mailing_id: int) -> str:
    """Send the next batch of a mailing; the batch after it is enqueued by the run."""
    return delivery.mailing_send_batch(mailing_id=mailing_id)
