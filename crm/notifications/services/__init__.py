"""Writes of the notifications app: notifications to users, outgoing webhooks, and their
delivery (the e-mail copy, the signed POST), retried with back-off.

Rows first, deliveries second. ``notify`` and ``webhook_enqueue`` write inside the caller's
transaction and enqueue the job with ``transaction.on_commit``, so a rolled-back change
sends nothing. The jobs call ``notification_email_send`` and ``webhook_delivery_send``:
each claims its row with one conditional UPDATE (only the process whose UPDATE matched
sends), sends, and records the outcome. ``outbox_sweep`` re-enqueues what is due but whose
job was lost (a worker that died, a queue that was down).

Modules: ``notifications`` (notify, marking read, the e-mail copy), ``webhooks`` (enqueue,
sign, POST), ``outbox`` (the sweep), ``queue`` (enqueueing the jobs).
"""

from crm.notifications.services.notifications import (
    COVERED_KINDS,
    EMAIL_MAX_ATTEMPTS,
    MARK_READ_IDS_MAX,
    Text,
    absolute_url,
    email_retry_delay,
    in_language,
    notification_email_send,
    notification_mark_read,
    notification_open,
    notify,
    notify_many,
)
from crm.notifications.services.outbox import SWEEP_GRACE, outbox_sweep
from crm.notifications.services.webhooks import (
    WEBHOOK_MAX_ATTEMPTS,
    webhook_address_allowed,
    webhook_delivery_send,
    webhook_enqueue,
    webhook_retry_delay,
    webhook_signature,
    webhook_url_problem,
)

__all__ = [
    "COVERED_KINDS",
    "EMAIL_MAX_ATTEMPTS",
    "MARK_READ_IDS_MAX",
    "SWEEP_GRACE",
    "WEBHOOK_MAX_ATTEMPTS",
    "Text",
    "absolute_url",
    "email_retry_delay",
    "in_language",
    "notification_email_send",
    "notification_mark_read",
    "notification_open",
    "notify",
    "notify_many",
    "outbox_sweep",
    "webhook_address_allowed",
    "webhook_delivery_send",
    "webhook_enqueue",
    "webhook_retry_delay",
    "webhook_signature",
    "webhook_url_problem",
]
