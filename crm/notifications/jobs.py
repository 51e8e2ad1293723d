"""Background jobs of the notifications app. Jobs take ids, never model instances, and are
idempotent: each claims its row before sending, so a retry or a second worker running the
same job sends nothing twice (see ``services.notification_email_send``)."""

from __future__ import annotations

from django_tasks import task

from crm.notifications import services


@task
def notification_email_job(notification_id: int) -> str:
    """E-mail the copy of one notification; a failure schedules the next try with back-off."""
    return services.notification_email_send(notification_id=notification_id)


@task
def webhook_delivery_job(delivery_id: int) -> str:
    """POST one signed webhook; a non-2xx answer schedules the next try with back-off."""
    return services.webhook_delivery_send(delivery_id=delivery_id)


@task
def outbox_sweep_job() -> dict[str, int]:
    """Enqueue again the e-mails and webhooks whose job was lost (``services.outbox_sweep``)."""
    return services.outbox_sweep()
