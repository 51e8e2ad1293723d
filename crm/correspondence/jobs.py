"""Background jobs of correspondence. They take ids and are idempotent: the send job claims
its row before sending (``services.sending.email_deliver``)."""

from __future__ import annotations

from django_tasks import task

from crm.correspondence.services import sending


@task
def email_send_job(email_id: int) -> str:
    """Hand one queued e-mail to the SMTP server; a failure schedules the next try."""
    return sending.email_deliver(email_id=email_id)
