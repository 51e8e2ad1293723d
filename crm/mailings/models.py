"""Segments of clients: saved, named filters over contacts that mailings will be sent to.

Consent to mailings and the unsubscribe moment of each address are fields of the customer
base (``customers.Contact.consent_at``/``consent_source``,
``customers.ContactPoint.unsubscribed_at``); this app reads and writes them through its
services.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from crm.core.models import TimeStampedModel
from crm.correspondence.choices import SenderChoice
from crm.mailings.choices import MailingState, RecipientState, SkipReason


class Segment(TimeStampedModel):
    """A saved filter over contacts (and the contacts of the companies it matches).

    ``spec`` is the validated JSON of ``crm.mailings.spec`` (its keys are the filters); a
    segment is personal (its author sees and changes it) or shared (everyone sees it; the
    administrators and heads of sales change it). Whoever looks at a segment sees only the
    recipients in their own scope: the spec is applied to the contacts they may see.
    """

    name = models.CharField(_("name"), max_length=200)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="segments",
        verbose_name=_("author"),
    )
    is_shared = models.BooleanField(_("shared"), default=False)
    spec = models.JSONField(_("filters"), default=dict, blank=True)

    class Meta:
        verbose_name = _("segment")
        verbose_name_plural = _("segments")
        ordering = ["name", "id"]
        indexes = [models.Index(fields=["owner", "name"], name="segment_owner_name")]

    def __str__(self) -> str:
        return self.name


class Mailing(models.Model):
    """One message to the addresses of a segment, sent by the job queue at a rate.

    Starting it freezes what goes out: the recipient list is materialised from the segment
    (within its author's scope at that moment), the template's subject and text are
    copied, and the sender's From and Reply-To are resolved; later edits of the segment,
    the template or the sender change nothing. ``send_at`` empty: at once. ``total`` is the
    number of recipient rows; the other figures are counted from them
    (``selectors.mailing_report``).
    """

    name = models.CharField(_("name"), max_length=200)
    segment = models.ForeignKey(
        Segment,
        null=True,
        on_delete=models.SET_NULL,
        related_name="mailings",
        verbose_name=_("segment"),
    )
    template = models.ForeignKey(
        "correspondence.EmailTemplate",
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("template"),
    )
    sender = models.CharField(
        _("sender"), max_length=10, choices=SenderChoice.choices, default=SenderChoice.COMPANY
    )
    send_at = models.DateTimeField(_("send at"), null=True, blank=True)
    rate_per_minute = models.PositiveIntegerField(_("messages per minute"))
    state = models.CharField(
        _("state"), max_length=10, choices=MailingState.choices, default=MailingState.DRAFT
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="mailings",
        verbose_name=_("author"),
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    # Frozen when the mailing starts.
    subject = models.CharField(_("subject"), max_length=300, blank=True)
    body = models.TextField(_("text"), max_length=20000, blank=True)
    language = models.CharField(_("language"), max_length=2, blank=True)
    from_name = models.CharField(max_length=150, blank=True)
    from_address = models.CharField(max_length=254, blank=True)
    reply_to = models.CharField(max_length=254, blank=True)
    requires_consent = models.BooleanField(default=False)
    total = models.PositiveIntegerField(_("recipients"), default=0)
    started_at = models.DateTimeField(_("started"), null=True, blank=True)
    # When the send job's next batch is due; the sweep enqueues a job for a sending
    # mailing whose chain of jobs was lost (well past this moment).
    next_batch_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)

    class Meta:
        verbose_name = _("mailing")
        verbose_name_plural = _("mailings")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["created_by", "-created_at"], name="mailing_author"),
            models.Index(fields=["state", "send_at"], name="mailing_state"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_active(self) -> bool:
        return self.state in (MailingState.SCHEDULED, MailingState.SENDING)


class MailingRecipient(models.Model):
    """One address of a started mailing and what became of its message.

    Unique per (mailing, address): two contacts sharing an address get one message. The
    send job claims due rows by setting ``claim`` and a lease (``claimed_until``) in one
    conditional UPDATE, so two workers never take one row and a dead worker's rows are
    taken again once the lease ran out. ``message_id`` is the message's Message-ID, given
    when the list is made: a reply (``In-Reply-To``) or a bounce finds the row by it.
    ``logged``: the message's entry is on the contact's timeline (written per batch).
    """

    mailing = models.ForeignKey(Mailing, on_delete=models.CASCADE, related_name="recipients")
    contact = models.ForeignKey(
        "customers.Contact", null=True, on_delete=models.SET_NULL, related_name="+"
    )
    point = models.ForeignKey(
        "customers.ContactPoint", null=True, on_delete=models.SET_NULL, related_name="+"
    )
    address = models.CharField(_("address"), max_length=254)
    state = models.CharField(
        _("state"), max_length=10, choices=RecipientState.choices, default=RecipientState.QUEUED
    )
    reason = models.CharField(_("reason"), max_length=15, choices=SkipReason.choices, blank=True)
    message_id = models.CharField(max_length=300, unique=True)
    claim = models.UUIDField(null=True, blank=True)
    claimed_until = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    error = models.CharField(max_length=500, blank=True)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)
    logged = models.BooleanField(default=False)
    bounced_at = models.DateTimeField(_("bounced"), null=True, blank=True)
    replied_at = models.DateTimeField(_("replied"), null=True, blank=True)

    class Meta:
        verbose_name = _("mailing recipient")
        verbose_name_plural = _("mailing recipients")
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["mailing", "address"], name="mailing_address_once")
        ]
        indexes = [models.Index(fields=["mailing", "state", "id"], name="mailing_recipient_state")]

    def __str__(self) -> str:
        return self.address
