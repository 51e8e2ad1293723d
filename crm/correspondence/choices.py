"""Choices of the correspondence app."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class EmailStatus(models.TextChoices):
    """Where an outgoing e-mail is: waiting for the job, handed to the SMTP server, given up
    after the last attempt, or reported undeliverable by a bounce."""

    QUEUED = "queued", _("Queued")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed")
    BOUNCED = "bounced", _("Bounced")


class TemplateLanguage(models.TextChoices):
    RU = "ru", _("Russian")
    EN = "en", _("English")


class SenderChoice(models.TextChoices):
    """Whose address an e-mail goes out from."""

    COMPANY = "company", _("The company's sales address")
    OWN = "own", _("My own address")


class SmsStatus(models.TextChoices):
    """Where an SMS is: waiting for the job, being handed to the gateway (a worker's lease),
    accepted by the gateway, reported delivered to the phone, or failed (refused by the
    gateway, given up after the last attempt, or reported undeliverable)."""

    QUEUED = "queued", _("Queued")
    SENDING = "sending", _("Sending")
    SENT = "sent", _("Sent")
    DELIVERED = "delivered", _("Delivered")
    FAILED = "failed", _("Failed")
