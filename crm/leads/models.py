"""Leads: what arrives from every channel, how it is matched, routed and worked.

Every arrival is stored first as an ``Inbound`` row holding the raw payload, in its own
transaction, before any processing; processing (a job) turns it into a ``Lead`` or attaches
it to an existing one, and is idempotent, so nothing accepted is lost and a retry never
makes a second lead.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from crm.core.models import SharedModel, TimeStampedModel
from crm.core.normalize import format_phone
from crm.leads.choices import OPEN_STATUSES, Channel, InboundStatus, LeadKind, LeadStatus, Strategy
from crm.leads.querysets import LeadQuerySet


class WebForm(TimeStampedModel):
    """A form on the company's site. ``fields`` lists ``{"name", "label", "type",
    "required"}``; only these names are read from a submission."""

    key = models.SlugField(_("key"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=150)
    fields = models.JSONField(_("fields"), default=list)
    allowed_origins = models.JSONField(_("allowed sites"), default=list, blank=True)
    thank_you_text = models.CharField(_("thank-you text"), max_length=500, blank=True)
    redirect_url = models.URLField(_("redirect after sending"), max_length=500, blank=True)
    min_fill_seconds = models.PositiveSmallIntegerField(_("minimum fill time, s"), default=3)
    is_active = models.BooleanField(_("active"), default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = _("web form")
        verbose_name_plural = _("web forms")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Inbound(models.Model):
    """One arrival on any channel, exactly as it came. ``idempotency_key`` (unique per
    channel when given) makes a retried request return the first one's result."""

    channel = models.CharField(_("channel"), max_length=12, choices=Channel.choices)
    received_at = models.DateTimeField(default=timezone.now, db_index=True)
    payload = models.JSONField(default=dict)
    raw = models.TextField(blank=True)
    meta = models.JSONField(default=dict, blank=True)
    form = models.ForeignKey(
        WebForm, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    idempotency_key = models.CharField(max_length=200, blank=True)
    # Who sent it, as far as the arrival says before it is parsed (``p:`` and the last ten
    # digits of the phone, or ``e:`` and the e-mail address; "" when neither): a client's
    # arrivals are processed one after another, in the order they came.
    client_key = models.CharField(max_length=200, blank=True, default="")
    status = models.CharField(
        max_length=10, choices=InboundStatus.choices, default=InboundStatus.PENDING
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    error = models.CharField(max_length=500, blank=True)
    processed_at = models.DateTimeField(null=True, blank=True)
    lead = models.ForeignKey(
        "Lead", null=True, blank=True, on_delete=models.SET_NULL, related_name="inbounds"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = _("incoming request")
        verbose_name_plural = _("incoming requests")
        indexes = [
            models.Index(
                fields=["received_at"],
                condition=models.Q(status="pending"),
                name="inbound_pending",
            ),
            # A client's earlier arrival still pending (``intake.inbound_process_batch``).
            models.Index(
                fields=["client_key", "received_at", "id"],
                condition=models.Q(status="pending") & ~models.Q(client_key=""),
                name="inbound_pending_client",
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["channel", "idempotency_key"],
                condition=~models.Q(idempotency_key=""),
                name="inbound_idempotency",
            )
        ]

    def __str__(self) -> str:
        return f"{self.channel} #{self.pk}"


class MailboxCursor(models.Model):
    """How far the e-mail poller has read one IMAP folder.

    ``last_uid`` is the highest UID already stored as an ``Inbound``; it means something only
    while the folder's ``uid_validity`` is the same (a server that renumbers the folder
    changes it, and the poller starts again from the unread messages). It only grows, by a
    conditional update, so two pollers never move it back; a message fetched twice is
    stored once anyway (its Message-ID is the idempotency key).
    """

    mailbox = models.CharField(max_length=300, unique=True)
    uid_validity = models.BigIntegerField(default=0)
    last_uid = models.BigIntegerField(default=0)
    polled_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.mailbox} @ {self.last_uid}"


class RoutingRule(models.Model):
    """Where leads that meet ``conditions`` go. Rules are tried by ``position``; the
    default rule (no conditions) catches the rest. ``conditions`` keys, all optional and
    all required to hold: ``client_types``, ``channels``, ``forms`` (ids), ``utm_source``,
    ``utm_medium``, ``utm_campaign`` (lists of values), ``fields`` ({name: value})."""

    name = models.CharField(_("name"), max_length=150)
    position = models.PositiveSmallIntegerField(default=0)
    is_active = models.BooleanField(_("active"), default=True)
    is_default = models.BooleanField(_("default rule"), default=False)
    conditions = models.JSONField(_("conditions"), default=dict, blank=True)
    pipeline = models.ForeignKey(
        "sales.Pipeline", on_delete=models.PROTECT, related_name="+", verbose_name=_("pipeline")
    )
    team = models.ForeignKey(
        "accounts.Team",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("team"),
    )
    strategy = models.CharField(
        _("assignment"), max_length=16, choices=Strategy.choices, default=Strategy.ROUND_ROBIN
    )
    fixed_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("user"),
    )
    response_minutes = models.PositiveIntegerField(_("respond within, working minutes"), default=60)
    reassign_on_escalation = models.BooleanField(_("reassign when overdue"), default=False)

    class Meta:
        verbose_name = _("routing rule")
        verbose_name_plural = _("routing rules")
        ordering = ["is_default", "position", "id"]

    def __str__(self) -> str:
        return self.name


class RoundRobinState(models.Model):
    """The last user a team's round robin gave a lead to; its row is the lock that keeps
    two workers from giving two leads to the same "next" user."""

    team = models.OneToOneField("accounts.Team", on_delete=models.CASCADE, related_name="+")
    last_user_id = models.BigIntegerField(null=True, blank=True)


class PartnerCode(models.Model):
    """A partner's code (sent as ``partner`` or as ``utm_source``) that marks a lead as a
    partner's."""

    code = models.CharField(_("code"), max_length=100, unique=True)
    name = models.CharField(_("partner"), max_length=150)

    class Meta:
        verbose_name = _("partner code")
        verbose_name_plural = _("partner codes")
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"


REPORT_COLUMNS = (
    "team",
    "channel",
    "kind",
    "form",
    "deal",
    "assigned_at",
    "respond_by",
    "responded_at",
)
"""What the leads report groups, counts or scopes a lead by besides its owner and arrival:
the columns its two indexes carry, so that it reads them alone."""


class Lead(TimeStampedModel, SharedModel):
    """A request from a possible client, until it is converted into a deal or lost."""

    title = models.CharField(_("title"), max_length=200)
    status = models.CharField(
        _("status"), max_length=12, choices=LeadStatus.choices, default=LeadStatus.NEW
    )
    kind = models.CharField(
        _("classification"), max_length=8, choices=LeadKind.choices, default=LeadKind.NEW
    )
    channel = models.CharField(_("channel"), max_length=12, choices=Channel.choices)
    form = models.ForeignKey(
        WebForm, null=True, blank=True, on_delete=models.SET_NULL, related_name="leads"
    )
    name = models.CharField(_("name"), max_length=200, blank=True)
    phone = models.CharField(_("phone"), max_length=20, blank=True)
    # A number that is not a valid phone, as it was sent; ``phone`` then holds its digits
    # key for matching (see ``LeadInput``).
    phone_unchecked = models.CharField(_("phone (not checked)"), max_length=40, blank=True)
    email = models.CharField(_("e-mail"), max_length=254, blank=True)
    company_name = models.CharField(_("company"), max_length=300, blank=True)
    inn = models.CharField(_("INN"), max_length=12, blank=True)
    message = models.TextField(_("message"), blank=True, max_length=10000)
    client_type = models.CharField(_("client type"), max_length=12, blank=True)
    utm = models.JSONField(_("UTM tags"), default=dict, blank=True)
    referrer = models.CharField(_("referrer"), max_length=500, blank=True)
    page_url = models.CharField(_("page"), max_length=500, blank=True)
    data = models.JSONField(_("other fields"), default=dict, blank=True)
    body_points = models.JSONField(_("contacts from the message"), default=list, blank=True)
    """Phones and e-mails found in an e-mail's body (its signature), normalised, as
    ``[kind, value]`` pairs (``services.body_points``): they count for matching the sender
    and go onto a contact created from the lead."""
    partner = models.ForeignKey(
        PartnerCode, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    contact = models.ForeignKey(
        "customers.Contact", null=True, blank=True, on_delete=models.SET_NULL, related_name="leads"
    )
    company = models.ForeignKey(
        "customers.Company", null=True, blank=True, on_delete=models.SET_NULL, related_name="leads"
    )
    match = models.JSONField(_("match"), default=dict, blank=True)
    rule = models.ForeignKey(
        RoutingRule, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    pipeline = models.ForeignKey(
        "sales.Pipeline", null=True, blank=True, on_delete=models.PROTECT, related_name="leads"
    )
    team = models.ForeignKey(
        "accounts.Team", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="leads",
        verbose_name=_("responsible"),
    )
    assigned_at = models.DateTimeField(null=True, blank=True)
    respond_by = models.DateTimeField(_("respond by"), null=True, blank=True)
    responded_at = models.DateTimeField(_("first response"), null=True, blank=True)
    escalated_at = models.DateTimeField(null=True, blank=True)
    lost_reason = models.CharField(_("reason for loss"), max_length=300, blank=True)
    deal = models.ForeignKey(
        "sales.Deal", null=True, blank=True, on_delete=models.SET_NULL, related_name="leads"
    )
    converted_at = models.DateTimeField(null=True, blank=True)
    thread_key = models.CharField(max_length=300, blank=True)
    search_text = models.CharField(max_length=600, blank=True, editable=False)

    objects = LeadQuerySet.as_manager()

    class Meta:
        verbose_name = _("lead")
        verbose_name_plural = _("leads")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["owner", "status", "-created_at"], name="lead_owner_status"),
            models.Index(fields=["status", "-created_at"], name="lead_status_created"),
            models.Index(
                fields=["respond_by"],
                condition=models.Q(responded_at__isnull=True, escalated_at__isnull=True),
                name="lead_waiting",
            ),
            models.Index(fields=["phone"], name="lead_phone"),
            models.Index(fields=["email"], name="lead_email"),
            models.Index(fields=["thread_key"], name="lead_thread"),
            # Reports: first answers in a period per manager (dashboard, leads report).
            models.Index(
                fields=["owner", "responded_at"],
                condition=models.Q(responded_at__isnull=False),
                name="lead_owner_responded",
            ),
            # Reports: the leads that arrived in a period (leads report), read from the index
            # alone on PostgreSQL (every column the report groups, counts or scopes by is
            # included): the heap pages of a quarter's leads cost 4x more (bench/RESULTS.md).
            models.Index(
                fields=["created_at"],
                include=["id", "owner", *REPORT_COLUMNS],
                name="lead_created_report",
            ),
            # Reports: a viewer's leads of a period, per owner (leads report): the same
            # columns, read from the index alone per range of the owners in the viewer's
            # scope (a head's year: 600 index pages instead of 28,000 table pages). They
            # are keys, not ``include``, so that SQLite (which has no ``INCLUDE``, and
            # holds the id in every index) reads it alone too.
            models.Index(
                fields=["owner", "created_at", *REPORT_COLUMNS],
                include=["id"],
                name="lead_owner_created_report",
            ),
            # The activity report: the leads given to a manager in a period, and the
            # dashboard: the leads still waiting for a first answer, per manager; both read
            # from the index alone on PostgreSQL (the scope's team rides along).
            models.Index(
                fields=["owner", "assigned_at"],
                include=["id", "team", "channel", "respond_by", "responded_at"],
                name="lead_owner_assigned",
            ),
            models.Index(
                fields=["owner"],
                include=["id", "team", "assigned_at", "created_at"],
                condition=models.Q(responded_at__isnull=True, status__in=OPEN_STATUSES),
                name="lead_owner_waiting",
            ),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def body_points_shown(self) -> list[str]:
        """The phones (formatted) and e-mails found in the message's body, for the card."""
        return [
            format_phone(value) if kind == "phone" else value for kind, value in self.body_points
        ]

    @property
    def phone_shown(self) -> str:
        """The phone as the manager should see it: the checked number, else as it was sent."""
        return self.phone_unchecked or self.phone
