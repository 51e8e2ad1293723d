"""What the CRM sends out: notifications to its users (the in-app centre and e-mail) and
signed webhooks to other systems.

Both are rows first and deliveries second: a service writes the row inside the caller's
transaction and enqueues a job on commit; the job sends and marks the row, so a retry or a
second worker never sends twice and nothing is lost when the worker is down.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Notification(models.Model):
    """One message to one user. ``url`` (a path on this site) points at what it is about.

    ``title`` and ``body`` are stored already translated into the recipient's language;
    ``dedupe_key`` (unique per recipient when set) makes creating the same notification
    twice a no-op, which is how reminders and escalations stay "exactly once".

    The e-mail copy is pending while ``email_wanted`` and ``emailed_at`` is empty and fewer
    than ``services.EMAIL_MAX_ATTEMPTS`` attempts were made; ``email_error`` keeps the last
    failure, so one that gave up stays visible. ``email_text`` and ``email_html``, when set,
    are the e-mail's own body (a message longer than the notice, such as the weekly
    summary): plain text, and an HTML alternative.
    """

    class Kind(models.TextChoices):
        ASSIGNED = "assigned", _("Assigned to you")
        STAGE = "stage", _("Deal stage")
        STALE = "stale", _("No activity")
        TASK = "task", _("Task")
        REMINDER = "reminder", _("Reminder")
        LEAD = "lead", _("Lead")
        SYSTEM = "system", _("System")
        WEEKLY = "weekly", _("Weekly summary")

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications"
    )
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    title = models.CharField(_("title"), max_length=300)
    body = models.TextField(_("text"), blank=True, max_length=5000)
    url = models.CharField(max_length=500, blank=True)
    dedupe_key = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    read_at = models.DateTimeField(null=True, blank=True)
    email_wanted = models.BooleanField(default=True)
    emailed_at = models.DateTimeField(null=True, blank=True)
    email_attempts = models.PositiveSmallIntegerField(default=0)
    # When the e-mail may next be tried. A worker claims the row by moving it past a lease,
    # so it doubles as the claim: nobody else sends until the lease runs out.
    email_next_attempt_at = models.DateTimeField(default=timezone.now)
    email_error = models.CharField(max_length=500, blank=True)
    email_text = models.TextField(blank=True)
    email_html = models.TextField(blank=True)

    class Meta:
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["recipient", "-created_at"], name="notification_recipient"),
            models.Index(
                fields=["recipient"],
                condition=models.Q(read_at__isnull=True),
                name="notification_unread",
            ),
            models.Index(
                fields=["email_next_attempt_at"],
                condition=models.Q(emailed_at__isnull=True, email_wanted=True),
                name="notification_email_due",
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["recipient", "dedupe_key"],
                condition=~models.Q(dedupe_key=""),
                name="notification_dedupe",
            )
        ]

    def __str__(self) -> str:
        return self.title


class WebhookDelivery(models.Model):
    """One outgoing HTTP POST, signed with HMAC-SHA256, retried with back-off."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")

    url = models.URLField(max_length=500)
    event = models.CharField(max_length=100)
    payload = models.JSONField()
    secret = models.CharField(max_length=200, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("webhook delivery")
        verbose_name_plural = _("webhook deliveries")
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="webhook_due")]

    def __str__(self) -> str:
        return f"{self.event} → {self.url}"
