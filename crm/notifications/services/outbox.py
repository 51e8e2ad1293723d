"""The sweep that re-enqueues e-mails and webhooks whose job was lost."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.utils import timezone

from crm.notifications.models import Notification, WebhookDelivery
from crm.notifications.services.notifications import EMAIL_MAX_ATTEMPTS
from crm.notifications.services.queue import enqueue_emails, enqueue_webhooks
from crm.notifications.services.webhooks import WEBHOOK_MAX_ATTEMPTS

logger = logging.getLogger("crm.notifications")

SWEEP_GRACE = timedelta(minutes=2)
SWEEP_BATCH = 500


def outbox_sweep(*, now: datetime | None = None) -> dict[str, int]:
    """Enqueue again the e-mails and webhooks that are overdue: their job was lost.

    Due means unsent, attempts left, and the next attempt (or the lease of a worker that
    died) more than ``SWEEP_GRACE`` in the past, so a job still waiting in a busy queue is
    rarely doubled; when it is, the claim makes the second run a no-op. Also the way retries
    happen on a queue backend that cannot run a job later. At most ``SWEEP_BATCH`` of each
    per run; returns how many of each were enqueued. ``manage.py scheduler`` runs it every
    two minutes (registered in ``NotificationsConfig.ready``); ``manage.py outbox_sweep``
    runs it once, for cron.
    """
    cutoff = (now or timezone.now()) - SWEEP_GRACE
    emails = list(
        Notification.objects.filter(
            emailed_at__isnull=True,
            email_wanted=True,
            email_attempts__lt=EMAIL_MAX_ATTEMPTS,
            email_next_attempt_at__lte=cutoff,
        )
        .order_by("email_next_attempt_at")
        .values_list("pk", flat=True)[:SWEEP_BATCH]
    )
    webhooks = list(
        WebhookDelivery.objects.filter(
            status=WebhookDelivery.Status.PENDING,
            attempts__lt=WEBHOOK_MAX_ATTEMPTS,
            next_attempt_at__lte=cutoff,
        )
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:SWEEP_BATCH]
    )
    enqueue_emails(emails)
    enqueue_webhooks(webhooks)
    if emails or webhooks:
        logger.info("outbox_sweep emails=%s webhooks=%s", len(emails), len(webhooks))
    return {"emails": len(emails), "webhooks": len(webhooks)}
