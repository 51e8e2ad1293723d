"""E-mail and SMS written from a record's card: templates, the messages sent, each user's
sender.

An ``OutgoingEmail`` belongs to one record of a registered kind (``record_kind`` is the
kind's key in ``crm.core.records``: contact, company, lead or deal) and names the client it
is linked to (the contact or company of a deal or lead), whose timeline shows it too.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from crm.core.normalize import format_phone
from crm.correspondence.choices import EmailStatus, SenderChoice, SmsStatus, TemplateLanguage


class EmailTemplate(models.Model):
    """A reusable subject and body with placeholders (Django template syntax, rendered by
    ``crm.correspondence.rendering`` against plain values of a record).

    ``owner`` empty: a shared template, managed by administrators and offered to everyone;
    set: a personal template, seen and managed by its owner alone. Archived templates are
    kept (sent e-mails name them) but no longer offered.
    """

    name = models.CharField(_("name"), max_length=150)
    language = models.CharField(
        _("language"), max_length=2, choices=TemplateLanguage.choices, default=TemplateLanguage.RU
    )
    subject = models.CharField(_("subject"), max_length=300)
    body = models.TextField(_("text"), max_length=20000)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        verbose_name=_("owner"),
    )
    archived = models.BooleanField(_("archived"), default=False)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("e-mail template")
        verbose_name_plural = _("e-mail templates")
        ordering = ["name", "id"]
        indexes = [models.Index(fields=["owner", "archived", "name"], name="mail_template_owner")]

    def __str__(self) -> str:
        return self.name

    @property
    def is_shared(self) -> bool:
        return self.owner_id is None


class SenderSettings(models.Model):
    """A user's own sender: the name and address their e-mails may go out from, and whether
    that is their default (else the company's sales address, ``CRM_MAIL_FROM``)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="mail_sender"
    )
    from_name = models.CharField(_("sender's name"), max_length=150, blank=True)
    from_address = models.EmailField(_("sender's address"), blank=True)
    default_sender = models.CharField(
        _("send from by default"),
        max_length=10,
        choices=SenderChoice.choices,
        default=SenderChoice.COMPANY,
    )

    class Meta:
        verbose_name = _("sender settings")
        verbose_name_plural = _("sender settings")

    def __str__(self) -> str:
        return f"{self.from_name} <{self.from_address}>"


class OutgoingEmail(models.Model):
    """One e-mail written from a card and its delivery.

    ``message_id`` (generated, unique) is how a reply (``In-Reply-To``/``References``) or a
    bounce finds it again. The send job claims the row with a conditional UPDATE (queued,
    attempts left, due), so a retried or doubled job sends it once; ``next_attempt_at`` is
    the next try (or the lease of the worker sending it). ``entry_ids`` are the timeline
    entries showing it (the record's and the client's), whose delivery state follows.
    """

    record_kind = models.CharField(max_length=20)
    record_id = models.BigIntegerField()
    contact = models.ForeignKey(
        "customers.Contact", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    company = models.ForeignKey(
        "customers.Company", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    sender = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    template = models.ForeignKey(
        EmailTemplate, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    from_name = models.CharField(max_length=150, blank=True)
    from_address = models.CharField(max_length=254)
    reply_to = models.CharField(max_length=254, blank=True)
    to = models.JSONField(default=list)
    cc = models.JSONField(default=list, blank=True)
    bcc = models.JSONField(default=list, blank=True)
    subject = models.CharField(_("subject"), max_length=300)
    body = models.TextField(_("text"), max_length=20000)
    attachments = models.ManyToManyField("activities.Attachment", blank=True, related_name="+")
    message_id = models.CharField(max_length=300, unique=True)
    status = models.CharField(
        _("status"), max_length=10, choices=EmailStatus.choices, default=EmailStatus.QUEUED
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    last_error = models.CharField(max_length=500, blank=True)
    entry_ids = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)
    bounced_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("outgoing e-mail")
        verbose_name_plural = _("outgoing e-mails")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["record_kind", "record_id", "-created_at"], name="mail_record"),
            models.Index(fields=["status", "next_attempt_at"], name="mail_due"),
        ]

    def __str__(self) -> str:
        return self.subject

    @property
    def recipients(self) -> list[str]:
        return [*self.to, *self.cc, *self.bcc]


class SmsMessage(models.Model):
    """One SMS to a client's phone and its delivery.

    Like ``OutgoingEmail`` it belongs to one record (``record_kind``/``record_id``) and names
    the client. The send job claims the row with a conditional UPDATE (queued, attempts
    left, due → ``sending`` with a lease in ``next_attempt_at``), so a doubled job sends it
    once. The gateway's id (``provider_id``) is how its callback and the polling find it;
    a status only moves forward (sent → delivered or failed), so a repeated report changes
    nothing. ``entry_ids`` are the timeline entries showing it, whose delivery state
    follows. ``author`` is the user who wrote it; ``sender`` the name it goes out under.
    """

    record_kind = models.CharField(max_length=20)
    record_id = models.BigIntegerField()
    contact = models.ForeignKey(
        "customers.Contact", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    company = models.ForeignKey(
        "customers.Company", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    template = models.ForeignKey(
        EmailTemplate, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    phone = models.CharField(_("phone"), max_length=20)
    text = models.TextField(_("text"), max_length=2000)
    parts = models.PositiveSmallIntegerField(default=1)
    sender = models.CharField(_("sender"), max_length=20, blank=True)
    provider = models.CharField(max_length=20)
    provider_id = models.CharField(max_length=64, blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=SmsStatus.choices, default=SmsStatus.QUEUED
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    last_error = models.CharField(max_length=500, blank=True)
    cost = models.DecimalField(max_digits=10, decimal_places=2, null=True, blank=True)
    entry_ids = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    checked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("SMS")
        verbose_name_plural = _("SMS")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["record_kind", "record_id", "-created_at"], name="sms_record"),
            models.Index(fields=["status", "next_attempt_at"], name="sms_due"),
            models.Index(fields=["provider", "provider_id"], name="sms_provider_id"),
        ]

    def __str__(self) -> str:
        return f"{self.phone}: {self.text[:40]}"

    @property
    def phone_shown(self) -> str:
        """The number as the card shows it (``+7 912 345-67-89``)."""
        return format_phone(self.phone)
