"""Background jobs of correspondence. They take ids and are idempotent: the send jobs claim
their row before sending (``services.sending.email_deliver``, ``services.sms.sms_deliver``)."""

from __future__ import annotations

from django_tasks import task

from crm.correspondence.services import sending, sms


@task
def email_send_job(email_id: int) -> str:
    """Hand one queued e-mail to the SMTP server; a failure schedules the next try."""
    return sending.email_deliver(email_id=email_id)


@task
def sms_send_job(sms_id: int) -> str:
    """Hand one queued SMS to the gateway; a passing failure schedules the next try."""
    return sms.sms_deliver(sms_id=sms_id)
