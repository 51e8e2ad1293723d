"""The customer base: contacts (people), companies, their phones, e-mails, addresses and
links, custom field definitions, and the bookkeeping of duplicate checks and merges.

Phones, e-mails and messenger handles of both contacts and companies live in one table,
``ContactPoint``, stored normalised, so one indexed lookup finds any exact duplicate.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.db.models.functions import Lower
from django.utils.translation import gettext_lazy as _

from crm.core.models import SharedOwnedModel, TimeStampedModel
from crm.core.normalize import format_phone
from crm.core.person_match import reason_texts
from crm.customers.choices import (
    AddressKind,
    ClientType,
    ConsentSource,
    ContactPointKind,
    ContactPointLabel,
    CustomFieldType,
    DuplicateStatus,
    DuplicateTier,
    Entity,
    FieldEntity,
    LegalForm,
    Messenger,
    Source,
)
from crm.customers.querysets import CustomerQuerySet

NAME_MAX = 150


class Tag(models.Model):
    """A free label on contacts and companies; names are unique regardless of case."""

    name = models.CharField(_("name"), max_length=50)

    class Meta:
        verbose_name = _("tag")
        verbose_name_plural = _("tags")
        ordering = ["name"]
        constraints = [models.UniqueConstraint(Lower("name"), name="tag_name_ci_unique")]

    def __str__(self) -> str:
        return self.name


class LastTouchField(models.DateTimeField):  # type: ignore[type-arg]
    """A new record's last touch is its creation: filled from ``created_at`` (set just
    before, by the field declared earlier) on insert, ``bulk_create`` included."""

    def pre_save(self, model_instance: models.Model, add: bool) -> Any:
        value = getattr(model_instance, self.attname)
        if add and value is None:
            value = model_instance.created_at  # type: ignore[attr-defined]
            setattr(model_instance, self.attname, value)
        return value


class Customer(SharedOwnedModel):
    """Fields common to contacts and companies: ownership and sharing (``SharedOwnedModel``;
    no reverse accessor from the user to their customers), source, notes, custom, the
    record it was merged into (``merged_into``: kept for undo, hidden everywhere else) and
    the live rows and scope (``CustomerQuerySet``)."""

    # Set by ``customer_create`` (not a column): what the duplicate check found before the
    # save (``services.duplicates.DuplicateCandidate``), for the caller to show.
    duplicates_found: list[Any]

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("responsible"),
    )
    source = models.CharField(_("source"), max_length=20, choices=Source.choices, blank=True)
    notes = models.TextField(_("notes"), blank=True, max_length=10000)
    custom = models.JSONField(_("custom fields"), default=dict, blank=True)
    search_text = models.TextField(editable=False, default="")
    name_words = models.TextField(editable=False, default="")
    """The words of the name in Latin letters (``core.text.name_words``), which a search
    of several words matches in any order (``core.search.filter_by_words``)."""
    merged_into = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    last_touch_at = LastTouchField(_("last touch"), null=True, editable=False)
    """The latest of: the creation, the last timeline entry, the last activity on any of
    its deals (the clients report's "no touch for N days"); kept by
    ``services.touch`` in the transaction of every write that moves it."""

    objects = CustomerQuerySet.as_manager()

    # Display lists that some pages set on the rows they show (not columns): the lists
    # (``selectors.contact_table``, ``company_table``) and the duplicate pairs
    # (``duplicate_pair_list``).
    phone_list: list[Any]
    email_list: list[Any]
    tag_list: list[str]

    class Meta:
        abstract = True
        indexes = [
            models.Index(fields=["owner", "-created_at"], name="%(class)s_owner_created"),
            models.Index(fields=["-created_at", "-id"], name="%(class)s_created_id"),
            # The clients report: no touch since a moment, oldest first, per responsible.
            models.Index(fields=["last_touch_at", "id"], name="%(class)s_touch"),
            models.Index(fields=["owner", "last_touch_at"], name="%(class)s_owner_touch"),
            # From the index alone on PostgreSQL: the ids of the live clients of a viewer's
            # owners (the activity report keeps the entries on the clients the viewer sees)
            # and those untouched since a moment (the clients report's count and page).
            models.Index(
                fields=["owner", "last_touch_at"],
                include=["id"],
                condition=models.Q(merged_into__isnull=True),
                name="%(class)s_owner_live",
            ),
        ]


def company_display_name(legal_name: str, short_name: str, legal_form: str) -> str:
    """A company's name as pages show it: the short name (else the legal one) after its
    legal form, «ООО «Ромашка»» (for exports, which read the fields without an instance)."""
    name = short_name or legal_name
    if legal_form and legal_form not in {LegalForm.OTHER, LegalForm.GOV}:
        return f"{legal_form} «{name}»"
    return name


class Company(Customer):
    """A business (ООО, АО, ИП …) or a government body.

    ``merged_into`` is set when the company was merged into another one; such a row is
    kept for undo and hidden everywhere else.
    """

    kind = models.CharField(
        _("client type"),
        max_length=16,
        default=ClientType.BUSINESS,
        choices=[
            (ClientType.BUSINESS, ClientType.BUSINESS.label),
            (ClientType.GOVERNMENT, ClientType.GOVERNMENT.label),
        ],
    )
    legal_name = models.CharField(_("legal name"), max_length=300)
    short_name = models.CharField(_("short name"), max_length=NAME_MAX, blank=True)
    legal_form = models.CharField(
        _("legal form"), max_length=8, choices=LegalForm.choices, blank=True
    )
    inn = models.CharField(_("ИНН"), max_length=12, blank=True, db_index=True)
    kpp = models.CharField(_("КПП"), max_length=9, blank=True)
    ogrn = models.CharField(_("ОГРН"), max_length=15, blank=True)
    website = models.URLField(_("website"), max_length=300, blank=True)
    industry = models.CharField(_("industry"), max_length=120, blank=True)
    tags = models.ManyToManyField(Tag, blank=True, related_name="companies", verbose_name=_("tags"))
    shared_with = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        blank=True,
        related_name="shared_companies",
        verbose_name=_("shared with"),
    )

    class Meta(Customer.Meta):
        verbose_name = _("company")
        verbose_name_plural = _("companies")
        ordering = ["legal_name", "id"]
        indexes = [
            *Customer.Meta.indexes,
            # The clients report: new live companies of a viewer's owners per kind in a
            # period, from the index alone on PostgreSQL.
            models.Index(
                fields=["owner", "created_at"],
                include=["kind"],
                condition=models.Q(merged_into__isnull=True),
                name="company_owner_new",
            ),
        ]

    def __str__(self) -> str:
        return self.display_name

    @property
    def display_name(self) -> str:
        return company_display_name(self.legal_name, self.short_name, self.legal_form)

    @property
    def client_type(self) -> str:
        return self.kind

    @property
    def entity(self) -> str:
        return Entity.COMPANY


class Contact(Customer):
    """A person: a private client, or someone who works at one or more companies.

    ``merged_into`` is set when the contact was merged into another one; such a row is
    kept for undo and hidden everywhere else.
    """

    # One more display list of the contact list's rows (see ``Customer.phone_list``).
    employment_list: list[dict[str, Any]]

    client_type = models.CharField(
        _("client type"), max_length=16, choices=ClientType.choices, default=ClientType.PRIVATE
    )
    last_name = models.CharField(_("last name"), max_length=NAME_MAX, blank=True)
    first_name = models.CharField(_("first name"), max_length=NAME_MAX, blank=True)
    middle_name = models.CharField(_("patronymic"), max_length=NAME_MAX, blank=True)
    birthday = models.DateField(_("birthday"), null=True, blank=True)
    preferences = models.TextField(_("preferences"), blank=True, max_length=5000)
    companies = models.ManyToManyField(
        Company,
        through="Employment",
        related_name="people",
        blank=True,
        verbose_name=_("companies"),
    )
    tags = models.ManyToManyField(Tag, blank=True, related_name="contacts", verbose_name=_("tags"))
    consent_at = models.DateTimeField(_("consent to mailings given"), null=True, blank=True)
    """When the contact agreed to receive mailings (opt-in); empty: no consent recorded."""
    consent_source = models.CharField(
        _("consent source"),
        max_length=12,
        choices=ConsentSource.choices,
        blank=True,
        db_default="",  # rows written by COPY (the bench generator) leave it out
    )

    class Meta(Customer.Meta):
        verbose_name = _("contact")
        verbose_name_plural = _("contacts")
        ordering = ["last_name", "first_name", "id"]
        indexes = [
            *Customer.Meta.indexes,
            # The clients report: new live contacts of a viewer's owners per client type in
            # a period, from the index alone on PostgreSQL.
            models.Index(
                fields=["owner", "created_at"],
                include=["client_type"],
                condition=models.Q(merged_into__isnull=True),
                name="contact_owner_new",
            ),
        ]

    def __str__(self) -> str:
        return self.full_name

    @property
    def full_name(self) -> str:
        return " ".join(p for p in (self.last_name, self.first_name, self.middle_name) if p)

    @property
    def entity(self) -> str:
        return Entity.CONTACT


class Employment(models.Model):
    """A contact's place of work: the company and the position held there."""

    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="employments")
    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="employments")
    position = models.CharField(_("position"), max_length=150, blank=True)
    is_primary = models.BooleanField(_("main place of work"), default=False)

    class Meta:
        verbose_name = _("place of work")
        verbose_name_plural = _("places of work")
        constraints = [
            models.UniqueConstraint(fields=["contact", "company"], name="employment_unique")
        ]


class ContactPoint(models.Model):
    """A phone, e-mail or messenger handle of a contact or a company (exactly one of them).

    ``value`` is the normalised form the duplicate check compares: E.164 for phones,
    lower-case for e-mails, ``<messenger>:<handle>`` for messengers. ``digits_reversed``
    serves the "last digits of the phone" search as an indexed prefix.
    """

    kind = models.CharField(_("kind"), max_length=12, choices=ContactPointKind.choices)
    value = models.CharField(_("value"), max_length=254)
    label = models.CharField(
        _("label"), max_length=12, choices=ContactPointLabel.choices, default=ContactPointLabel.WORK
    )
    messenger = models.CharField(
        _("messenger"), max_length=12, choices=Messenger.choices, blank=True
    )
    digits_reversed = models.CharField(max_length=20, blank=True)
    is_primary = models.BooleanField(default=False)
    contact = models.ForeignKey(
        Contact, null=True, blank=True, on_delete=models.CASCADE, related_name="points"
    )
    company = models.ForeignKey(
        Company, null=True, blank=True, on_delete=models.CASCADE, related_name="points"
    )
    position = models.PositiveSmallIntegerField(default=0)
    # Set by a delivery report (a bounce) about a message sent to this e-mail address
    # (``crm.correspondence``); the card shows it and writing to the address is refused.
    undeliverable_at = models.DateTimeField(_("undeliverable since"), null=True, blank=True)
    undeliverable_reason = models.CharField(
        _("why undeliverable"),
        max_length=300,
        blank=True,
        db_default="",  # rows written by COPY (the bench generator, restores) leave it out
    )
    unsubscribed_at = models.DateTimeField(_("unsubscribed"), null=True, blank=True)
    """When this address was unsubscribed from mailings (one-click or by a manager); kept
    when the record's contact details are edited (``services.records``)."""

    class Meta:
        verbose_name = _("contact detail")
        verbose_name_plural = _("contact details")
        ordering = ["position", "id"]
        indexes = [
            models.Index(fields=["kind", "value"], name="point_kind_value"),
            models.Index(fields=["digits_reversed"], name="point_digits_reversed"),
            # Segments (``crm.mailings``): "has an e-mail / a phone" and the recipients (a
            # contact's e-mail not unsubscribed) as index-only semi-joins at 1M contacts.
            models.Index(
                fields=["kind", "contact"],
                condition=models.Q(contact__isnull=False),
                name="point_kind_contact",
            ),
            models.Index(
                fields=["contact"],
                condition=models.Q(
                    kind="email", contact__isnull=False, unsubscribed_at__isnull=True
                ),
                name="point_email_deliverable",
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=(
                    models.Q(contact__isnull=False, company__isnull=True)
                    | models.Q(contact__isnull=True, company__isnull=False)
                ),
                name="point_has_one_owner",
            )
        ]

    def __str__(self) -> str:
        return self.display

    @property
    def display(self) -> str:
        if self.kind == ContactPointKind.PHONE:
            return format_phone(self.value)
        if self.kind == ContactPointKind.MESSENGER:
            return self.value.split(":", 1)[-1]
        return self.value


class Address(models.Model):
    """A postal address of a contact or a company."""

    kind = models.CharField(
        _("kind"), max_length=12, choices=AddressKind.choices, default=AddressKind.ACTUAL
    )
    text = models.CharField(_("address"), max_length=500)
    contact = models.ForeignKey(
        Contact, null=True, blank=True, on_delete=models.CASCADE, related_name="addresses"
    )
    company = models.ForeignKey(
        Company, null=True, blank=True, on_delete=models.CASCADE, related_name="addresses"
    )

    class Meta:
        verbose_name = _("address")
        verbose_name_plural = _("addresses")
        ordering = ["id"]

    def __str__(self) -> str:
        return self.text


class CustomField(TimeStampedModel):
    """A field the administrator adds to contacts or companies.

    Values live in the record's ``custom`` JSON under ``key``. ``client_types`` limits the
    field to some client types (empty: all). A required field is enforced by the same
    validator in the UI, the API and imports.
    """

    entity = models.CharField(_("entity"), max_length=12, choices=FieldEntity.choices)
    key = models.SlugField(_("key"), max_length=50)
    label = models.CharField(_("label"), max_length=100)
    field_type = models.CharField(_("type"), max_length=16, choices=CustomFieldType.choices)
    choices = models.JSONField(_("options"), default=list, blank=True)
    client_types = models.JSONField(_("client types"), default=list, blank=True)
    is_required = models.BooleanField(_("required"), default=False)
    help_text = models.CharField(_("hint"), max_length=200, blank=True)
    position = models.PositiveIntegerField(_("order"), default=0)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("custom field")
        verbose_name_plural = _("custom fields")
        ordering = ["entity", "position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["entity", "key"], name="custom_field_key_unique")
        ]

    def __str__(self) -> str:
        return self.label

    def applies_to(self, client_type: str) -> bool:
        return not self.client_types or client_type in self.client_types


class MatchKey(models.Model):
    """A blocking key of a contact or company name (see ``core.matching``).

    The duplicate check reads the records that share a key with the new name, instead of
    comparing it with the whole base.
    """

    key = models.CharField(max_length=64)
    contact = models.ForeignKey(
        Contact, null=True, blank=True, on_delete=models.CASCADE, related_name="match_keys"
    )
    company = models.ForeignKey(
        Company, null=True, blank=True, on_delete=models.CASCADE, related_name="match_keys"
    )

    class Meta:
        # The owners ride along in the index so the duplicate check reads shared keys with
        # an index-only scan: at 1M contacts the heap rows of one key lie on thousands of
        # pages (p95 90-110 ms reading them, 10-20 ms without). The contact is a key column,
        # so the check reads the newest holders of a common key without sorting them all.
        indexes = [
            models.Index(
                fields=["key", "contact"], include=["company"], name="match_key_key_contact"
            )
        ]


class DuplicatePair(models.Model):
    """Two records the background scan found alike, with the score, the tier ("likely":
    act on it; "possible": look first) and the reasons in words."""

    # Set by ``duplicate_pair_list`` for display (not columns): both records, in order.
    first: Contact | Company
    second: Contact | Company
    records: list[Contact | Company]

    entity = models.CharField(max_length=12, choices=Entity.choices)
    contact_a = models.ForeignKey(
        Contact, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    contact_b = models.ForeignKey(
        Contact, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    company_a = models.ForeignKey(
        Company, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    company_b = models.ForeignKey(
        Company, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    score = models.PositiveSmallIntegerField(_("score"))
    tier = models.CharField(
        _("tier"), max_length=10, choices=DuplicateTier.choices, default=DuplicateTier.POSSIBLE
    )
    reasons = models.JSONField(_("reasons"), default=list)
    status = models.CharField(
        _("status"), max_length=12, choices=DuplicateStatus.choices, default=DuplicateStatus.OPEN
    )
    found_at = models.DateTimeField(_("found"), auto_now_add=True)
    scanned_at = models.DateTimeField(_("last found by a scan"), null=True, blank=True)
    """When a scan last found the pair: a scan resolves the open pairs it did not find (those
    it looked at, see ``scan_contacts``) by this moment."""
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-score", "id"]
        constraints = [
            models.UniqueConstraint(fields=["contact_a", "contact_b"], name="dup_contact_pair"),
            models.UniqueConstraint(fields=["company_a", "company_b"], name="dup_company_pair"),
        ]
        indexes = [models.Index(fields=["entity", "status", "-score"], name="dup_entity_status")]

    def reason_texts(self) -> list[str]:
        """The reasons in words in the active language (see ``person_match.reason_texts``)."""
        return reason_texts(self.reasons)


class MergeRecord(models.Model):
    """One merge of two records, with everything needed to undo it.

    ``snapshot`` holds the survivor's field values before the merge and the ids of every
    row moved from the merged record, so undo restores both records as they were.
    """

    entity = models.CharField(max_length=12, choices=Entity.choices)
    contact_survivor = models.ForeignKey(
        Contact, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    contact_merged = models.ForeignKey(
        Contact, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    company_survivor = models.ForeignKey(
        Company, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    company_merged = models.ForeignKey(
        Company, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    snapshot = models.JSONField(default=dict)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    undone_at = models.DateTimeField(null=True, blank=True)
    undone_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-created_at"]


class BulkReassignment(models.Model):
    """A request to move records from one responsible user to another (or a leaving user's
    whole work to one or more colleagues: a handover), run as a job.

    The move itself is one transaction; ``done``/``total`` report progress to the page.
    """

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    from_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("from")
    )
    to_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("to")
    )
    # The list filters of a plain reassignment, or a handover's options (``handover``,
    # ``receivers``: their ids, ``include_closed``, ``deactivate``); ``to_user`` is then the
    # first receiver.
    filters = models.JSONField(default=dict, blank=True)
    # What moved, per record kind (and ``shares``: the shares with the leaving user removed).
    counts = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.QUEUED)
    total = models.PositiveIntegerField(default=0)
    done = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
