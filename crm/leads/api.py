"""REST API of leads: intake (``POST /leads``, idempotent with ``Idempotency-Key``), the
list, one lead, status, assignment and conversion.

Intake answers 202 with the lead once it is processed (at once with the immediate job
backend, or after the worker takes it): the raw request is stored first, so a 202 means
the lead will not be lost. A retried request with the same key answers the first one's
result and creates nothing.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema, Status
from pydantic import StringConstraints

from crm.core.api import (
    READ_ERRORS,
    WRITE_ERRORS,
    DatabaseId,
    InputSchema,
    Storable,
    UserRefOut,
    request_user,
)
from crm.core.errors import PermissionDenied
from crm.core.pagination import MAX_LIMIT
from crm.core.permissions import can_write
from crm.leads import selectors
from crm.leads.choices import Channel
from crm.leads.models import Inbound
from crm.leads.services import leads as services
from crm.leads.services.intake import clean_lead_input, inbound_store

router = Router(tags=["Leads"])

Short = Annotated[str, StringConstraints(max_length=200), Storable]
Medium = Annotated[str, StringConstraints(max_length=1000), Storable]
Long = Annotated[str, StringConstraints(max_length=20000), Storable]
Cursor = Annotated[str, StringConstraints(max_length=1000), Storable]


class LeadIn(InputSchema):
    name: Short | None = None
    phone: Short | None = None
    email: Short | None = None
    company: Short | None = None
    inn: Short | None = None
    message: Long | None = None
    client_type: Short | None = None
    title: Short | None = None
    utm_source: Short | None = None
    utm_medium: Short | None = None
    utm_campaign: Short | None = None
    utm_term: Short | None = None
    utm_content: Short | None = None
    referrer: Medium | None = None
    page_url: Medium | None = None
    partner: Short | None = None

    def data(self) -> dict[str, Any]:
        return self.model_dump(exclude_none=True)


class LeadOut(Schema):
    id: int
    title: str
    status: str
    kind: str
    channel: str
    name: str
    phone: str
    phone_unchecked: str = Field(
        description="the phone as sent when it is not a valid number ('phone' then holds "
        "'+' and its digits); empty for a checked number"
    )
    email: str
    body_points: list[list[str]] = Field(
        description="phones (E.164) and e-mails found in an e-mail's own text (its "
        "signature), as [kind, value] pairs: matched like the sender's own, put on a "
        "contact created from the lead"
    )
    company_name: str
    inn: str
    message: str
    client_type: str
    utm: dict[str, str]
    match: dict[str, Any]
    owner: UserRefOut | None
    pipeline_id: int | None
    contact_id: int | None
    company_id: int | None
    deal_id: int | None
    respond_by: dt.datetime | None
    responded_at: dt.datetime | None
    created_at: dt.datetime


class IntakeOut(Schema):
    request_id: int
    status: str
    lead: LeadOut | None


class LeadPageOut(Schema):
    items: list[LeadOut]
    next_cursor: str | None


class ListParams(Schema):
    q: Short = ""
    status: Short = ""
    kind: Short = ""
    channel: Short = ""
    owner: DatabaseId | None = None
    overdue: bool = False
    unassigned: bool = False
    cursor: Cursor | None = None
    limit: int = Field(50, ge=1, le=MAX_LIMIT)


class StatusIn(InputSchema):
    status: Short
    reason: Medium | None = None


class AssignIn(InputSchema):
    owner_id: DatabaseId


class ConvertIn(InputSchema):
    contact_id: DatabaseId | None = None
    company_id: DatabaseId | None = None
    create_contact: bool = True
    create_company: bool = False
    create_new: bool = Field(
        False,
        description="Create a new contact even if the lead's person looks like existing "
        "contacts (without it, or a contact_id, such a lead answers 409 with them).",
    )
    deal_title: Short | None = None
    amount: Annotated[str, Field(max_length=40)] | None = None
    allow_duplicate: bool = False


def _intake_answer(inbound: Inbound) -> IntakeOut:
    inbound.refresh_from_db()
    lead = LeadOut.from_orm(inbound.lead) if inbound.lead is not None else None
    return IntakeOut(request_id=inbound.pk, status=inbound.status, lead=lead)


@router.post("", response={200: IntakeOut, 202: IntakeOut, **WRITE_ERRORS}, summary="Submit a lead")
def lead_submit(request: HttpRequest, payload: LeadIn) -> Any:
    """Submit a lead from another system. Send an ``Idempotency-Key`` header to make retries
    safe: the same key and body answer the first answer (as every POST does); the key is
    also kept with the stored request, so the same key from another user's system answers
    200 with the first request's result."""
    actor = request_user(request)
    if not can_write(actor):
        raise PermissionDenied("Your role may not submit leads.")
    data = payload.data()
    clean_lead_input(data)  # 422 naming the field before anything is stored
    key = request.headers.get("Idempotency-Key", "")[:200]
    inbound, created = inbound_store(
        channel=Channel.API, payload=data, idempotency_key=key, actor=actor
    )
    if not created:
        return Status(200, _intake_answer(inbound))
    return Status(202, _intake_answer(inbound))


@router.get("", response={200: LeadPageOut, **READ_ERRORS}, summary="List leads")
def lead_list(request: HttpRequest, params: Query[ListParams]) -> Any:
    filters = selectors.LeadFilters.from_params(params.model_dump())
    return selectors.lead_page(
        user=request_user(request), filters=filters, cursor=params.cursor, limit=params.limit
    )


@router.get("/{lead_id}", response={200: LeadOut, **READ_ERRORS}, summary="One lead")
def lead_detail(request: HttpRequest, lead_id: DatabaseId) -> Any:
    return services.lead_get(actor=request_user(request), pk=lead_id)


@router.post(
    "/{lead_id}/status", response={200: LeadOut, **WRITE_ERRORS}, summary="Change the status"
)
def lead_status(request: HttpRequest, lead_id: DatabaseId, payload: StatusIn) -> Any:
    actor = request_user(request)
    services.lead_set_status(
        actor=actor, pk=lead_id, status=payload.status, reason=payload.reason or ""
    )
    return services.lead_get(actor=actor, pk=lead_id)


@router.post("/{lead_id}/assign", response={200: LeadOut, **WRITE_ERRORS}, summary="Assign")
def lead_assign(request: HttpRequest, lead_id: DatabaseId, payload: AssignIn) -> Any:
    actor = request_user(request)
    services.lead_assign(actor=actor, pk=lead_id, owner_id=payload.owner_id)
    return services.lead_get(actor=actor, pk=lead_id)


@router.post(
    "/{lead_id}/convert",
    response={200: LeadOut, 409: Any, **WRITE_ERRORS},
    summary="Convert into a deal",
)
def lead_convert(request: HttpRequest, lead_id: DatabaseId, payload: ConvertIn) -> Any:
    """Create or link the contact and company and a deal in the pipeline the lead was
    routed to. A lead without a contact whose person looks like contacts you can see answers
    409 with them (``duplicates``) unless you choose: ``contact_id`` of one, or
    ``create_new``; an exact duplicate of a company answers 409 unless
    ``allow_duplicate``."""
    actor = request_user(request)
    services.lead_convert(actor=actor, pk=lead_id, **payload.model_dump())
    return services.lead_get(actor=actor, pk=lead_id)
