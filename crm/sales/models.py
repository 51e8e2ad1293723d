"""Sales: pipelines and their stages, the rules a stage applies, deals with their stage
history, line items and payments, the product catalogue, and documents made from templates.

Money is ``Decimal`` with two places everywhere; a deal's currency applies to its amount,
its lines and its payments.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from crm.core.models import SharedOwnedModel, TimeStampedModel
from crm.sales.choices import (
    ActionKind,
    Currency,
    DealStatus,
    DocumentKind,
    PaymentKind,
    PaymentMethod,
    PaymentStatus,
    StageKind,
    Unit,
    VatRate,
)
from crm.sales.querysets import DealQuerySet, StageVisitQuerySet

ZERO = Decimal("0.00")


class Pipeline(TimeStampedModel):
    """An ordered set of stages a deal goes through. ``client_types`` lists the client
    types (private, business, government) for which this is the default pipeline; a
    type is the default of at most one live pipeline (checked by the service)."""

    name = models.CharField(_("name"), max_length=100)
    position = models.PositiveSmallIntegerField(default=0)
    client_types = models.JSONField(_("default for client types"), default=list, blank=True)
    archived = models.BooleanField(_("archived"), default=False)

    class Meta:
        verbose_name = _("pipeline")
        verbose_name_plural = _("pipelines")
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.name


class Stage(models.Model):
    """A step of a pipeline. ``required_fields`` lists what a deal must have to enter it
    (``DealField`` values or ``custom.<key>``); ``stale_after_days`` flags deals that sat
    here without activity for that long."""

    pipeline = models.ForeignKey(Pipeline, on_delete=models.CASCADE, related_name="stages")
    name = models.CharField(_("name"), max_length=100)
    position = models.PositiveSmallIntegerField(default=0)
    kind = models.CharField(
        _("kind"), max_length=8, choices=StageKind.choices, default=StageKind.OPEN
    )
    probability = models.PositiveSmallIntegerField(
        _("probability, %"), default=10, validators=[MaxValueValidator(100)]
    )
    color = models.CharField(_("colour"), max_length=7, default="#6c757d")
    required_fields = models.JSONField(_("required fields"), default=list, blank=True)
    stale_after_days = models.PositiveSmallIntegerField(
        _("stale after, days"), null=True, blank=True, validators=[MinValueValidator(1)]
    )
    archived = models.BooleanField(_("archived"), default=False)

    class Meta:
        verbose_name = _("stage")
        verbose_name_plural = _("stages")
        ordering = ["pipeline", "position", "id"]

    def __str__(self) -> str:
        return self.name


class StageAction(models.Model):
    """What happens when a deal enters a stage. ``config`` depends on ``kind``:

    - create_task: ``{"title", "type", "due_in", "due_unit": "hours"|"days"|"work_hours"|
      "work_days", "assignee": "responsible"|"head"|"user", "user_id"}``
    - notify: ``{"recipients": ["responsible", "head", ...user ids], "message"}``
    - set_owner: ``{"user_id"}``
    - webhook: ``{"url", "secret"}``
    """

    stage = models.ForeignKey(Stage, on_delete=models.CASCADE, related_name="actions")
    kind = models.CharField(_("action"), max_length=16, choices=ActionKind.choices)
    config = models.JSONField(default=dict)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        verbose_name = _("stage action")
        verbose_name_plural = _("stage actions")
        ordering = ["stage", "position", "id"]

    def __str__(self) -> str:
        return self.get_kind_display()


class LostReason(models.Model):
    name = models.CharField(_("name"), max_length=150)
    position = models.PositiveSmallIntegerField(default=0)
    archived = models.BooleanField(_("archived"), default=False)

    class Meta:
        verbose_name = _("reason for loss")
        verbose_name_plural = _("reasons for loss")
        ordering = ["position", "name"]

    def __str__(self) -> str:
        return self.name


class Deal(SharedOwnedModel):
    """A sale in progress or closed. ``status`` follows the stage's kind; ``amount`` is
    either typed in or, with ``amount_from_lines``, the total of the line items."""

    title = models.CharField(_("title"), max_length=200)
    pipeline = models.ForeignKey(
        Pipeline, on_delete=models.PROTECT, related_name="deals", verbose_name=_("pipeline")
    )
    stage = models.ForeignKey(
        Stage, on_delete=models.PROTECT, related_name="deals", verbose_name=_("stage")
    )
    status = models.CharField(
        _("status"), max_length=8, choices=DealStatus.choices, default=DealStatus.OPEN
    )
    amount = models.DecimalField(
        _("amount"), null=True, blank=True, max_digits=16, decimal_places=2
    )
    currency = models.CharField(
        _("currency"), max_length=3, choices=Currency.choices, default=Currency.RUB
    )
    amount_from_lines = models.BooleanField(_("amount follows the products"), default=False)
    expected_close = models.DateField(_("expected close date"), null=True, blank=True)
    contact = models.ForeignKey(
        "customers.Contact",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="deals",
        verbose_name=_("contact"),
    )
    company = models.ForeignKey(
        "customers.Company",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="deals",
        verbose_name=_("company"),
    )
    source = models.CharField(_("source"), max_length=20, blank=True)
    invoice_number = models.CharField(_("invoice number"), max_length=50, blank=True)
    contract_number = models.CharField(_("contract number"), max_length=50, blank=True)
    notes = models.TextField(_("notes"), blank=True, max_length=10000)
    custom = models.JSONField(_("custom fields"), default=dict, blank=True)
    tags = models.ManyToManyField(
        "customers.Tag", blank=True, related_name="deals", verbose_name=_("tags")
    )
    stage_entered_at = models.DateTimeField(_("in stage since"))
    last_activity_at = models.DateTimeField(_("last activity"))
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)
    lost_reason = models.ForeignKey(
        LostReason,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="deals",
        verbose_name=_("reason for loss"),
    )
    lost_comment = models.CharField(_("comment on the loss"), max_length=500, blank=True)
    # Staleness: when the next "no activity" step is due (set on entering a stage with a
    # limit and on any activity), and which steps were taken in this idle period.
    stale_due_at = models.DateTimeField(null=True, blank=True)
    stale_notified_at = models.DateTimeField(null=True, blank=True)
    stale_escalated_at = models.DateTimeField(null=True, blank=True)
    # The title folded (lower case, ё→е, no punctuation) for the list's search.
    search_text = models.CharField(max_length=200, blank=True, editable=False)

    objects = DealQuerySet.as_manager()

    class Meta:
        verbose_name = _("deal")
        verbose_name_plural = _("deals")
        ordering = ["-created_at", "-id"]
        indexes = [
            # The board: one stage's cards, newest move first (keyset on this order).
            # The owner, currency and amount ride along (PostgreSQL) so the board's counts
            # and sums per column and a manager's cards are index-only scans.
            models.Index(
                fields=["stage", "-stage_entered_at", "-id"],
                include=["owner", "currency", "amount"],
                name="deal_stage_board",
            ),
            models.Index(fields=["owner", "stage", "-stage_entered_at"], name="deal_owner_stage"),
            # The funnel: a viewer's deals of a pipeline that moved since a moment
            # (``crm.sales.reach.period_deals``), with what it groups by (PostgreSQL).
            models.Index(
                fields=["owner", "pipeline", "stage_entered_at"],
                include=["id", "currency", "amount", "lost_reason", "created_at"],
                name="deal_owner_pipeline_entered",
            ),
            models.Index(fields=["pipeline", "status", "-created_at"], name="deal_pipeline_status"),
            models.Index(
                fields=["stale_due_at"],
                condition=models.Q(stale_due_at__isnull=False),
                name="deal_stale_due",
            ),
            # Reports: deals won or lost in a period (dashboard, sales, click-through list):
            # everyone's (an administrator) and, as the branch of the visibility rule's
            # ``owner IN (…) OR shared`` a head's or a manager's, per owner. The grouped
            # columns ride along on PostgreSQL for index-only scans (per owner also what the
            # sales report groups by, its cycle's start and the id for the lines' anti-join).
            models.Index(
                fields=["status", "closed_at"],
                include=["owner", "currency", "amount"],
                name="deal_status_closed",
            ),
            models.Index(
                fields=["owner", "status", "closed_at"],
                include=["id", "currency", "amount", "source", "company", "contact", "created_at"],
                name="deal_owner_status_closed",
            ),
            # The sales report: a scope's deals (any status) to join to their payments, with
            # the grouped columns along (PostgreSQL) so the join reads no deal row; the
            # activity report: the ids of a viewer's owners' deals (to keep the timeline
            # entries on deals the viewer sees), from the index alone.
            models.Index(
                fields=["owner"],
                include=["id", "currency", "source", "company", "contact"],
                name="deal_owner_payment_columns",
            ),
            # The dashboard: a viewer's owners' open deals per stage and currency, from the
            # index alone on PostgreSQL.
            models.Index(
                fields=["owner", "stage", "currency"],
                include=["id", "amount"],
                condition=models.Q(status="open"),
                name="deal_open_owner_stage",
            ),
            # The clients report's revenue per client (and the won deals of the dashboard and
            # the activity report; the leads report's won deals' ids): a viewer's owners'
            # deals won in a period, index only.
            models.Index(
                fields=["owner", "closed_at"],
                include=["id", "currency", "amount", "company", "contact"],
                condition=models.Q(status="won"),
                name="deal_won_owner_closed",
            ),
            # The forecast: open deals by expected close date.
            models.Index(
                fields=["expected_close"],
                condition=models.Q(status="open"),
                name="deal_open_expected_close",
            ),
            # The forecast for a head or a manager: the viewer's deals (the id for the
            # report's ``deal IN (…)``), the open ones by expected close, and the past
            # months' deals by expected close whatever their status, index-only on
            # PostgreSQL.
            models.Index(
                fields=["owner", "expected_close"],
                include=["id", "status", "stage", "currency", "amount"],
                name="deal_owner_close",
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(amount__isnull=True) | models.Q(amount__gte=0),
                name="deal_amount_not_negative",
            )
        ]

    def __str__(self) -> str:
        return self.title


class StageVisit(models.Model):
    """A deal's stay in a stage: when it entered and left, and who moved it.

    Three columns repeat what the deal and its other visits say, so that the reports read a
    viewer's visits from an index that starts with the owner instead of joining every
    deal's (``crm.sales.visits`` keeps them exact, under the deal's row lock):

    - ``owner``: the deal's responsible user, now (rewritten when the deal changes hands);
    - ``decided_at``: when the deal next entered a won or lost stage after this visit began
      (empty while it has not);
    - ``won_at``: when it next entered a won stage after this visit began;
    - ``prior_entered_at``: when the deal last entered the same stage before this visit
      (empty on its first visit there), so that a count of distinct deals per stage can
      pick one visit per deal without grouping by deal.

    A visit's stage keeps its kind (a stage deals have passed through cannot change kind),
    so ``decided_at`` and ``won_at`` never change once set.
    """

    deal = models.ForeignKey(
        Deal, on_delete=models.CASCADE, related_name="visits", db_index=False
    )  # ``visit_deal_entered`` starts with the deal
    stage = models.ForeignKey(Stage, on_delete=models.PROTECT, related_name="+")
    entered_at = models.DateTimeField()
    left_at = models.DateTimeField(null=True, blank=True)
    entered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", db_index=False
    )  # ``visit_owner_entered`` starts with the owner
    decided_at = models.DateTimeField(null=True, blank=True)
    won_at = models.DateTimeField(null=True, blank=True)
    prior_entered_at = models.DateTimeField(null=True, blank=True)

    objects = StageVisitQuerySet.as_manager()

    class Meta:
        ordering = ["entered_at", "id"]
        indexes = [
            # A deal's history, the forecast's visits open at a month's start and the
            # settling of a deal's visits: covering the stage and the stay's end on SQLite too.
            models.Index(
                fields=["deal", "entered_at", "stage", "left_at"], name="visit_deal_entered"
            ),
            # Everyone's visits of a pipeline's stages in a period (the administrator's funnel).
            models.Index(
                fields=["stage", "entered_at", "deal"],
                include=["left_at"],
                name="visit_stage_entered",
            ),
            # A viewer's visits of a period (the funnel, its stays, the forecast's wins).
            models.Index(
                fields=["owner", "entered_at", "stage", "deal"],
                include=["left_at"],
                name="visit_owner_entered",
            ),
            # A viewer's decided visits of a span (the forecast's measured conversion).
            models.Index(
                fields=["owner", "decided_at"],
                include=["entered_at", "prior_entered_at", "won_at", "stage", "deal"],
                condition=models.Q(decided_at__isnull=False),
                name="visit_owner_decided",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.deal_id}: {self.stage_id}"


class Product(TimeStampedModel):
    name = models.CharField(_("name"), max_length=200)
    sku = models.CharField(_("SKU"), max_length=60, blank=True)
    unit = models.CharField(_("unit"), max_length=10, choices=Unit.choices, default=Unit.PIECE)
    price = models.DecimalField(
        _("price"), validators=[MinValueValidator(ZERO)], max_digits=16, decimal_places=2
    )
    currency = models.CharField(
        _("currency"), max_length=3, choices=Currency.choices, default=Currency.RUB
    )
    vat_rate = models.CharField(
        _("VAT"), max_length=4, choices=VatRate.choices, default=VatRate.TWENTY_TWO
    )
    description = models.TextField(_("description"), blank=True, max_length=5000)
    archived = models.BooleanField(_("archived"), default=False)

    class Meta:
        verbose_name = _("product")
        verbose_name_plural = _("products")
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["sku"], condition=~models.Q(sku=""), name="product_sku_unique"
            )
        ]

    def __str__(self) -> str:
        return self.name


class DealLine(models.Model):
    """A line item. Prices include VAT (as Russian retail and most B2B invoices show them);
    ``total`` is quantity × price less the discount, rounded to kopecks."""

    deal = models.ForeignKey(Deal, on_delete=models.CASCADE, related_name="lines")
    product = models.ForeignKey(
        Product, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    name = models.CharField(_("name"), max_length=200)
    quantity = models.DecimalField(
        _("quantity"), max_digits=14, decimal_places=3, default=Decimal(1)
    )
    unit = models.CharField(_("unit"), max_length=10, choices=Unit.choices, default=Unit.PIECE)
    price = models.DecimalField(_("price"), max_digits=16, decimal_places=2)
    discount_percent = models.DecimalField(
        _("discount, %"), max_digits=5, decimal_places=2, default=ZERO
    )
    vat_rate = models.CharField(
        _("VAT"), max_length=4, choices=VatRate.choices, default=VatRate.TWENTY_TWO
    )
    total = models.DecimalField(_("total"), max_digits=16, decimal_places=2)
    vat_amount = models.DecimalField(_("VAT amount"), max_digits=16, decimal_places=2)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        verbose_name = _("line item")
        verbose_name_plural = _("line items")
        ordering = ["deal", "position", "id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(quantity__gt=0)
                & models.Q(price__gte=0)
                & models.Q(discount_percent__gte=0)
                & models.Q(discount_percent__lte=100),
                name="deal_line_amounts_valid",
            )
        ]

    def __str__(self) -> str:
        return self.name


class Payment(TimeStampedModel):
    """Money expected or received on a deal. ``external_id`` (unique per ``provider``)
    makes a payment provider's repeated webhook record one payment."""

    deal = models.ForeignKey(Deal, on_delete=models.CASCADE, related_name="payments")
    kind = models.CharField(_("kind"), max_length=12, choices=PaymentKind.choices)
    status = models.CharField(
        _("status"), max_length=10, choices=PaymentStatus.choices, default=PaymentStatus.EXPECTED
    )
    amount = models.DecimalField(
        _("amount"), validators=[MinValueValidator(ZERO)], max_digits=16, decimal_places=2
    )
    due_date = models.DateField(_("expected on"), null=True, blank=True)
    paid_on = models.DateField(_("received on"), null=True, blank=True)
    method = models.CharField(_("method"), max_length=16, choices=PaymentMethod.choices, blank=True)
    provider = models.CharField(_("provider"), max_length=50, blank=True)
    external_id = models.CharField(_("external id"), max_length=100, blank=True)
    comment = models.CharField(_("comment"), max_length=500, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = _("payment")
        verbose_name_plural = _("payments")
        ordering = ["deal", "due_date", "id"]
        indexes = [
            # The sales report: payments received in a period, with the deal and the amount
            # along (PostgreSQL) so the join to the deals reads no payment row.
            models.Index(
                fields=["status", "paid_on"],
                include=["deal", "amount"],
                name="payment_status_paid_on",
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["provider", "external_id"],
                condition=~models.Q(external_id=""),
                name="payment_external_unique",
            ),
            models.CheckConstraint(
                condition=models.Q(amount__gt=0), name="payment_amount_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.amount}"


class SellerDetails(models.Model):
    """The requisites of the company using the CRM, printed on invoices and contracts.
    One row (``pk=1``), edited by the administrator."""

    name = models.CharField(_("name"), max_length=300, blank=True)
    inn = models.CharField(_("INN"), max_length=12, blank=True)
    kpp = models.CharField(_("KPP"), max_length=9, blank=True)
    ogrn = models.CharField(_("OGRN"), max_length=15, blank=True)
    address = models.CharField(_("address"), max_length=500, blank=True)
    phone = models.CharField(_("phone"), max_length=50, blank=True)
    email = models.EmailField(_("e-mail"), blank=True)
    bank_name = models.CharField(_("bank"), max_length=200, blank=True)
    bik = models.CharField(_("BIK"), max_length=9, blank=True)
    account = models.CharField(_("settlement account"), max_length=20, blank=True)
    correspondent_account = models.CharField(_("correspondent account"), max_length=20, blank=True)
    director = models.CharField(_("director"), max_length=200, blank=True)
    accountant = models.CharField(_("chief accountant"), max_length=200, blank=True)
    vat_payer = models.BooleanField(_("VAT payer"), default=True)

    class Meta:
        verbose_name = _("seller details")
        verbose_name_plural = _("seller details")

    def __str__(self) -> str:
        return self.name


class DocumentTemplate(TimeStampedModel):
    """A DOCX template the administrator uploaded (or the shipped default when ``file`` is
    empty and ``builtin`` is set) for one kind of document."""

    kind = models.CharField(_("kind"), max_length=10, choices=DocumentKind.choices)
    name = models.CharField(_("name"), max_length=150)
    file = models.FileField(_("file"), upload_to="document-templates/", blank=True)
    builtin = models.BooleanField(default=False)
    is_default = models.BooleanField(_("default for its kind"), default=False)
    archived = models.BooleanField(_("archived"), default=False)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = _("document template")
        verbose_name_plural = _("document templates")
        ordering = ["kind", "name"]

    def __str__(self) -> str:
        return self.name


class Document(models.Model):
    """A document generated for a deal: its number, the DOCX and the PDF (both stored as
    timeline attachments)."""

    deal = models.ForeignKey(Deal, on_delete=models.CASCADE, related_name="documents")
    template = models.ForeignKey(
        DocumentTemplate, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    kind = models.CharField(_("kind"), max_length=10, choices=DocumentKind.choices)
    number = models.CharField(_("number"), max_length=50)
    docx = models.ForeignKey(
        "activities.Attachment", null=True, on_delete=models.PROTECT, related_name="+"
    )
    pdf = models.ForeignKey(
        "activities.Attachment", null=True, on_delete=models.PROTECT, related_name="+"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("document")
        verbose_name_plural = _("documents")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["kind", "number"], name="document_kind_number_unique")
        ]
        indexes = [
            models.Index(fields=["deal", "-created_at", "-id"], name="document_deal_created")
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} № {self.number}"
