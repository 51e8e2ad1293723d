"""Choices of mailings: where a mailing and each of its recipients are."""

from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class MailingState(models.TextChoices):
    """A mailing's life: written (draft), waiting for its time (scheduled), going out
    (sending), stopped by a user (paused), every recipient handled (done), or stopped for
    good (cancelled)."""

    DRAFT = "draft", _("Draft")
    SCHEDULED = "scheduled", _("Scheduled")
    SENDING = "sending", _("Sending")
    PAUSED = "paused", _("Paused")
    DONE = "done", _("Done")
    CANCELLED = "cancelled", _("Cancelled")


class RecipientState(models.TextChoices):
    """One address of a mailing: waiting, handed to the SMTP server, given up, or left out
    (with the reason)."""

    QUEUED = "queued", _("Queued")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed")
    SKIPPED = "skipped", _("Skipped")


class SkipReason(models.TextChoices):
    """Why an address of a mailing gets no message."""

    UNSUBSCRIBED = "unsubscribed", _("Unsubscribed")
    UNDELIVERABLE = "undeliverable", _("Undeliverable")
    NO_CONSENT = "no_consent", _("No consent")
    CANCELLED = "cancelled", _("Mailing cancelled")


class ReportFigure(models.TextChoices):
    """The figures of a mailing's report, each with the list of recipients behind it."""

    ALL = "all", _("All recipients")
    SENT = "sent", _("Sent")
    DELIVERED = "delivered", _("Delivered")
    BOUNCED = "bounced", _("Bounced")
    UNSUBSCRIBED = "unsubscribed", pgettext_lazy("mailing report", "Unsubscribed")
    REPLIED = "replied", _("Replied")
    SKIPPED = "skipped", _("Skipped")
    FAILED = "failed", _("Failed")
    QUEUED = "queued", _("Queued")
