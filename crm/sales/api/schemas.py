"""Request and answer schemas of the sales API.

Input schemas take the raw values the forms take and only cap sizes; the services apply the
real rules with their own (translated) messages, so the UI and the API refuse the same
input the same way. Unknown keys are refused (``InputSchema``).

Money travels as a string with two decimals (``"1234.50"``) in answers and is accepted as a
string (``"1234.50"``, ``"1 234,50"``) or a JSON number; booleans are refused. Answers
never carry a float.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, Any, Literal

from django.utils.translation import gettext as _
from ninja import Field, Schema
from pydantic import AfterValidator, PlainSerializer, Strict, StringConstraints

from crm.core.api import DatabaseId, InputSchema, IsoDate, Storable, UserRefOut
from crm.core.pagination import MAX_LIMIT

# Caps that only throw garbage out early; the services enforce the real limits.
LIST_MAX = 50
TAGS_MAX = 100
IDS_MAX = 500
CUSTOM_KEYS_MAX = 200
PAGE_DEFAULT = 50

Short = Annotated[str, StringConstraints(max_length=100), Storable]
Name = Annotated[str, StringConstraints(max_length=1000), Storable]
Medium = Annotated[str, StringConstraints(max_length=5000), Storable]
Long = Annotated[str, StringConstraints(max_length=50000), Storable]
Cursor = Annotated[str, StringConstraints(max_length=1000), Storable]
Query100 = Annotated[str, StringConstraints(max_length=100), Storable]

Amount = (
    Annotated[str, StringConstraints(max_length=40), Storable]
    | Annotated[int, Strict()]
    | Annotated[float, Strict()]
)
"""A number as a string or a JSON number (not a boolean); the services parse it."""

Money = Annotated[
    Decimal,
    PlainSerializer(lambda value: format(value, "f"), return_type=str, when_used="always"),
]
"""A ``Decimal`` rendered as a plain string (``"1234.50"``), never a float."""

CustomScalar = Medium | bool | Annotated[int, Field(ge=-(10**18), le=10**18)] | float | None
CustomValue = CustomScalar | Annotated[list[CustomScalar], Field(max_length=LIST_MAX)]


def _in_range(value: dt.date | None) -> dt.date | None:
    if value is not None and not 1900 <= value.year <= 2100:
        raise ValueError(_("The date is out of range."))
    return value


FilterDate = Annotated[IsoDate, AfterValidator(_in_range)]


# --- pipelines, stages, reasons for loss ------------------------------------------------------


class PipelineIn(InputSchema):
    name: Name | None = None
    client_types: Annotated[list[Short], Field(max_length=10)] | None = Field(
        None,
        description="Client types (private, business, government) this pipeline is the "
        "default for; [] clears them, leaving the field out keeps them.",
    )


class StageIn(InputSchema):
    name: Name | None = None
    kind: Short | None = Field(None, description="open, won or lost")
    probability: int | None = Field(None, description="0–100")
    color: Short | None = Field(None, description="#rrggbb")
    required_fields: Annotated[list[Short], Field(max_length=100)] | None = Field(
        None,
        description="What a deal must have to enter the stage: amount, expected_close, "
        "client, contact, company, invoice_number, contract_number, lines, prepayment, "
        "paid, or custom.<key>",
    )
    stale_after_days: int | None = Field(None, description="1–365, or null")


class StageOrderIn(InputSchema):
    stage_ids: Annotated[list[DatabaseId], Field(max_length=100)] = Field(
        description="Every stage of the pipeline once, in the new order."
    )


class LostReasonIn(InputSchema):
    name: Name | None = None


class StageDeleteParams(Schema):
    move_to: DatabaseId | None = Field(
        None, description="The stage of the same pipeline and kind that takes its deals."
    )


class PipelineListParams(Schema):
    include_archived: bool = False


class StageOut(Schema):
    id: int
    pipeline_id: int
    name: str
    position: int
    kind: str = Field(description="open, won or lost")
    probability: int
    color: str
    required_fields: list[str]
    stale_after_days: int | None
    archived: bool


class PipelineOut(Schema):
    id: int
    name: str
    position: int
    client_types: list[str]
    archived: bool
    stages: list[StageOut]

    @staticmethod
    def resolve_stages(obj: Any) -> list[Any]:
        return list(obj.stages.all())


class LostReasonOut(Schema):
    id: int
    name: str
    position: int
    archived: bool


# --- deals ------------------------------------------------------------------------------------


class DealFieldsIn(InputSchema):
    """The fields of a deal that a create, a change and a move's ``updates`` may carry."""

    title: Name | None = None
    amount: Amount | None = Field(None, description='"1234.50", "1 234,50" or a number')
    currency: Short | None = Field(None, description="RUB, USD, EUR, CNY, KZT, BYN, …")
    amount_from_lines: bool = Field(False, description="The amount is the total of the line items.")
    expected_close: Short | None = Field(None, description="YYYY-MM-DD")
    contact_id: DatabaseId | None = None
    company_id: DatabaseId | None = None
    owner_id: DatabaseId | None = None
    source: Short | None = None
    invoice_number: Short | None = None
    contract_number: Short | None = None
    notes: Long | None = None
    tags: Annotated[list[Short], Field(max_length=TAGS_MAX)] | None = None
    custom: Annotated[dict[Short, CustomValue], Field(max_length=CUSTOM_KEYS_MAX)] | None = None

    def service_data(self) -> dict[str, Any]:
        """The keys the client sent (a change touches only those), as the services take them."""
        return self.model_dump(exclude_unset=True)


class DealCreateIn(DealFieldsIn):
    pipeline_id: DatabaseId | None = Field(
        None, description="Default: the pipeline for the client's type."
    )
    stage_id: DatabaseId | None = Field(
        None, description="An open stage of the pipeline; default: its first."
    )


class MoveIn(InputSchema):
    stage_id: DatabaseId
    lost_reason_id: DatabaseId | None = Field(None, description="Required for a lost stage.")
    lost_comment: Medium | None = None
    updates: DealFieldsIn | None = Field(
        None, description="Field changes applied with the move (e.g. what the stage requires)."
    )


class LoseIn(InputSchema):
    lost_reason_id: DatabaseId | None = None
    lost_comment: Medium | None = None


class ShareIn(InputSchema):
    user_ids: Annotated[list[DatabaseId], Field(max_length=IDS_MAX)]


class DealListParams(Schema):
    """The filters of the deal list (the same as the deal list page's)."""

    q: Query100 = Field("", description="Title, client name, invoice or contract number")
    pipeline: DatabaseId | None = None
    stage: DatabaseId | None = None
    status: Literal["", "open", "won", "lost"] = ""
    owner: DatabaseId | None = None
    tag: Short = ""
    contact: DatabaseId | None = None
    company: DatabaseId | None = None
    created_from: FilterDate | None = None
    created_to: FilterDate | None = None
    close_from: FilterDate | None = Field(None, description="Expected close date from")
    close_to: FilterDate | None = None
    overdue: bool = Field(False, description="Open deals past their expected close date")
    product: DatabaseId | None = Field(None, description="Deals with a line of this product")
    reached_stage: DatabaseId | None = Field(
        None,
        description="Deals that reached this open stage (or further) in the local days "
        "reached_from..reached_to, as the funnel report counts them (all three together)",
    )
    reached_from: FilterDate | None = None
    reached_to: FilterDate | None = None
    lost_here: bool = Field(
        False, description="With reached_stage: the lost deals whose furthest stage it was"
    )
    cursor: Cursor | None = None
    limit: int = Field(PAGE_DEFAULT, ge=1, le=MAX_LIMIT)

    def filter_params(self) -> dict[str, str]:
        """The filters as the list page's query string carries them."""
        flags = {"cursor", "limit", "overdue", "lost_here"}
        values = self.model_dump(exclude=flags, exclude_none=True)
        params = {name: str(value) for name, value in values.items() if value != ""}
        for flag in ("overdue", "lost_here"):
            if getattr(self, flag):
                params[flag] = "1"
        return params


class RefOut(Schema):
    id: int
    name: str

    @staticmethod
    def resolve_name(obj: Any) -> str:
        return str(obj)


class StageRefOut(Schema):
    id: int
    name: str
    kind: str


class DealOut(Schema):
    id: int
    title: str
    pipeline: RefOut
    stage: StageRefOut
    status: str = Field(description="open, won or lost (follows the stage)")
    amount: Money | None
    currency: str
    amount_from_lines: bool
    expected_close: dt.date | None
    contact: RefOut | None
    company: RefOut | None
    owner: UserRefOut
    created_by: UserRefOut | None
    shared_with: list[UserRefOut]
    source: str
    invoice_number: str
    contract_number: str
    notes: str
    tags: list[str]
    custom: dict[str, Any]
    lost_reason: RefOut | None
    lost_comment: str
    stage_entered_at: dt.datetime
    last_activity_at: dt.datetime
    closed_at: dt.datetime | None
    created_at: dt.datetime
    updated_at: dt.datetime

    @staticmethod
    def resolve_tags(obj: Any) -> list[str]:
        return [tag.name for tag in obj.tags.all()]

    @staticmethod
    def resolve_shared_with(obj: Any) -> list[Any]:
        return list(obj.shared_with.all())


class DealPageOut(Schema):
    items: list[DealOut]
    next_cursor: str | None


class SharedOut(Schema):
    shared_with: list[UserRefOut]


class StageVisitOut(Schema):
    stage: StageRefOut
    entered_at: dt.datetime
    left_at: dt.datetime | None
    entered_by: UserRefOut | None


# --- line items -------------------------------------------------------------------------------


class LineUpdateIn(InputSchema):
    name: Name | None = None
    quantity: Amount | None = Field(None, description="> 0, up to three decimals")
    price: Amount | None = Field(None, description="VAT included")
    discount_percent: Amount | None = Field(None, description="0–100")
    vat_rate: Short | None = Field(None, description="none, 0, 5, 7, 10, 20, 22")
    unit: Short | None = Field(None, description="pcs, h, day, month, kg, t, m, m2, m3, l, …")


class LineIn(LineUpdateIn):
    product_id: DatabaseId | None = Field(
        None, description="A catalogue product: fills the name, price, unit and VAT not given."
    )


class LineOut(Schema):
    id: int
    product_id: int | None
    name: str
    quantity: Money
    unit: str
    price: Money
    discount_percent: Money
    vat_rate: str
    total: Money = Field(description="quantity × price less the discount, VAT included")
    vat_amount: Money
    position: int


class VatGroupOut(Schema):
    rate: str
    label: str
    total: Money
    vat: Money


class LinesOut(Schema):
    currency: str
    items: list[LineOut]
    lines_total: Money
    vat_total: Money
    vat_groups: list[VatGroupOut]


# --- payments ---------------------------------------------------------------------------------


class PaymentUpdateIn(InputSchema):
    kind: Short | None = Field(None, description="prepayment, partial or final")
    amount: Amount | None = Field(None, description="> 0")
    due_date: Short | None = Field(None, description="YYYY-MM-DD; null clears it")
    paid_on: Short | None = Field(None, description="YYYY-MM-DD, a received payment only")
    method: Short | None = Field(None, description="bank_transfer, card, online, sbp, cash, other")
    comment: Medium | None = None


class PaymentIn(PaymentUpdateIn):
    status: Short | None = Field(None, description="expected (default) or received")


class ReceiveIn(InputSchema):
    paid_on: Short | None = Field(None, description="YYYY-MM-DD; default today")
    method: Short | None = None


class PaymentOut(Schema):
    id: int
    deal_id: int
    kind: str
    status: str = Field(description="expected, received or cancelled")
    amount: Money
    due_date: dt.date | None
    paid_on: dt.date | None
    method: str
    provider: str
    external_id: str
    comment: str
    created_at: dt.datetime
    updated_at: dt.datetime


class PaymentStateOut(Schema):
    amount: Money
    received: Money
    expected: Money
    due: Money = Field(description="amount − received, never negative")
    overpaid: Money
    unscheduled: Money = Field(description="The part of the due no expected payment covers")
    has_prepayment: bool
    paid_in_full: bool
    percent_paid: int


class PaymentsOut(Schema):
    currency: str
    items: list[PaymentOut]
    state: PaymentStateOut


# --- products ---------------------------------------------------------------------------------


class ProductIn(InputSchema):
    name: Name | None = None
    sku: Short | None = None
    unit: Short | None = None
    price: Amount | None = Field(None, description="VAT included, ≥ 0")
    currency: Short | None = None
    vat_rate: Short | None = None
    description: Long | None = None


class ProductListParams(Schema):
    q: Query100 = Field("", description="A fragment of the name or SKU")
    archived: bool = Field(False, description="The archived products instead (editors only)")
    cursor: Cursor | None = None
    limit: int = Field(PAGE_DEFAULT, ge=1, le=MAX_LIMIT)


class ProductOut(Schema):
    id: int
    name: str
    sku: str
    unit: str
    price: Money
    currency: str
    vat_rate: str
    description: str
    archived: bool
    created_at: dt.datetime
    updated_at: dt.datetime


class ProductPageOut(Schema):
    items: list[ProductOut]
    next_cursor: str | None
