"""REST API of segments (CRUD, the count and a page of recipients, also of an unsaved
spec), of a contact's consent to mailings, and of mailings (write, start, pause, resume,
cancel, the report and the recipients behind each figure).

The same services and selectors as the pages; a segment the caller does not see answers
404; a spec with an unknown or malformed filter answers 422 naming it (``spec.<key>``).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema, Status
from pydantic import StringConstraints

from crm.core.api import (
    READ_ERRORS,
    WRITE_ERRORS,
    DatabaseId,
    ErrorOut,
    InputSchema,
    IsoDateTime,
    Storable,
    UserRefOut,
    request_user,
)
from crm.core.errors import ValidationFailed
from crm.core.pagination import MAX_LIMIT
from crm.customers.selectors import contact_get
from crm.mailings import selectors, services
from crm.mailings.choices import ReportFigure
from crm.mailings.permissions import MAILING
from crm.mailings.spec import SegmentSpec, spec_clean

router = Router(tags=["Segments"])

Cursor = Annotated[str, StringConstraints(max_length=1000), Storable]
Name = Annotated[str, StringConstraints(max_length=1000), Storable]

SPEC_HELP = (
    "The filters, all optional: q, owner (user id), team (team id), client_type, tag, tags "
    "(any of), source, company (its people), custom ({key: value}), product (bought: a won "
    "deal with a line of it), no_touch_days, has_email, has_phone, consent (true/false), "
    "with_companies (also the people of companies that match)."
)


class SegmentIn(InputSchema):
    name: Name
    is_shared: bool = Field(False, description="Seen by everyone (administrators and heads)")
    spec: dict[str, Any] = Field(default_factory=dict, description=SPEC_HELP)


class SegmentPatch(InputSchema):
    name: Name | None = None
    is_shared: bool | None = None
    spec: dict[str, Any] | None = Field(None, description=SPEC_HELP)


class SpecIn(InputSchema):
    spec: dict[str, Any] = Field(default_factory=dict, description=SPEC_HELP)


class SegmentOut(Schema):
    id: int
    name: str
    is_shared: bool
    owner: UserRefOut
    spec: dict[str, Any]
    created_at: dt.datetime
    updated_at: dt.datetime


class CountOut(Schema):
    total: int = Field(description="Contacts of the segment the caller sees")
    recipients: int = Field(description="Those with an e-mail a mailing may go to")


class RecipientOut(Schema):
    id: int
    full_name: str
    emails: list[str]
    consent_at: dt.datetime | None

    @staticmethod
    def resolve_emails(obj: Any) -> list[str]:
        return [point.value for point in obj.mailing_emails]


class RecipientPageOut(Schema):
    items: list[RecipientOut]
    next_cursor: str | None


class PageParams(Schema):
    cursor: Cursor | None = None
    limit: int = Field(50, ge=1, le=MAX_LIMIT)


class ConsentIn(InputSchema):
    consent_at: IsoDateTime | None = Field(description="When consent was given; null withdraws it")
    consent_source: Annotated[str, StringConstraints(max_length=20), Storable] = Field(
        "", description="form, import, manual, api, email or other"
    )
    unsubscribed_emails: Annotated[list[Name], Field(max_length=100)] | None = Field(
        None,
        description="The contact's addresses that are unsubscribed (the others subscribed); "
        "omitted: unchanged",
    )


class ConsentOut(Schema):
    id: int
    consent_at: dt.datetime | None
    consent_source: str
    unsubscribed_emails: list[str]


def _recipients(request: HttpRequest, spec: SegmentSpec, params: PageParams) -> Any:
    return selectors.segment_recipients(
        user=request_user(request), spec=spec, cursor=params.cursor, limit=params.limit
    )


@router.get("/segments", response={200: list[SegmentOut], **READ_ERRORS}, summary="Segments")
def segment_list(request: HttpRequest) -> Any:
    """The segments the caller sees: shared ones and their own."""
    return selectors.segment_list(user=request_user(request))


@router.post("/segments", response={201: SegmentOut, **WRITE_ERRORS}, summary="Create a segment")
def segment_create(request: HttpRequest, payload: SegmentIn) -> Any:
    """Save a segment; ``is_shared`` only for administrators and heads of sales."""
    segment = services.segment_create(
        actor=request_user(request),
        name=payload.name,
        spec=payload.spec,
        is_shared=payload.is_shared,
    )
    return Status(201, segment)


@router.post(
    "/segments/count", response={200: CountOut, **WRITE_ERRORS}, summary="Count an unsaved spec"
)
def segment_spec_count(request: HttpRequest, payload: SpecIn) -> Any:
    """The count of a spec before saving it (the editor's live count)."""
    return selectors.segment_count(user=request_user(request), spec=spec_clean(payload.spec))


@router.get(
    "/segments/{segment_id}", response={200: SegmentOut, **READ_ERRORS}, summary="A segment"
)
def segment_detail(request: HttpRequest, segment_id: DatabaseId) -> Any:
    return selectors.segment_get(user=request_user(request), pk=segment_id)


@router.patch(
    "/segments/{segment_id}", response={200: SegmentOut, **WRITE_ERRORS}, summary="Change a segment"
)
def segment_update(request: HttpRequest, segment_id: DatabaseId, payload: SegmentPatch) -> Any:
    user = request_user(request)
    segment = selectors.segment_get(user=user, pk=segment_id)
    return services.segment_update(
        actor=user,
        segment=segment,
        name=payload.name,
        spec=payload.spec,
        is_shared=payload.is_shared,
    )


@router.delete(
    "/segments/{segment_id}", response={204: None, **WRITE_ERRORS}, summary="Delete a segment"
)
def segment_delete(request: HttpRequest, segment_id: DatabaseId) -> Any:
    user = request_user(request)
    services.segment_delete(actor=user, segment=selectors.segment_get(user=user, pk=segment_id))
    return Status(204, None)


@router.get(
    "/segments/{segment_id}/count",
    response={200: CountOut, **READ_ERRORS},
    summary="Count a segment's recipients",
)
def segment_count(request: HttpRequest, segment_id: DatabaseId) -> Any:
    """The segment's contacts the caller sees, and those a mailing may reach."""
    user = request_user(request)
    segment = selectors.segment_get(user=user, pk=segment_id)
    return selectors.segment_count(user=user, spec=spec_clean(segment.spec))


@router.get(
    "/segments/{segment_id}/recipients",
    response={200: RecipientPageOut, **READ_ERRORS},
    summary="A page of a segment's recipients",
)
def segment_recipients(
    request: HttpRequest, segment_id: DatabaseId, params: Query[PageParams]
) -> Any:
    """The recipients the caller sees, newest first, one page after ``cursor``."""
    user = request_user(request)
    segment = selectors.segment_get(user=user, pk=segment_id)
    return _recipients(request, spec_clean(segment.spec), params)


def _consent_out(contact: Any) -> dict[str, Any]:
    return {
        "id": contact.pk,
        "consent_at": contact.consent_at,
        "consent_source": contact.consent_source,
        "unsubscribed_emails": [
            point.value
            for point in contact.points.all()
            if point.kind == "email" and point.unsubscribed_at
        ],
    }


@router.get(
    "/contacts/{contact_id}/consent",
    response={200: ConsentOut, **READ_ERRORS},
    tags=["Contacts"],
    summary="A contact's consent to mailings",
)
def consent_detail(request: HttpRequest, contact_id: DatabaseId) -> Any:
    return _consent_out(contact_get(user=request_user(request), pk=contact_id))


@router.put(
    "/contacts/{contact_id}/consent",
    response={200: ConsentOut, **WRITE_ERRORS},
    tags=["Contacts"],
    summary="Set a contact's consent to mailings",
)
def consent_set(request: HttpRequest, contact_id: DatabaseId, payload: ConsentIn) -> Any:
    """Record the consent (moment and source) and which addresses are unsubscribed; each
    change goes on the contact's timeline."""
    user = request_user(request)
    contact = contact_get(user=user, pk=contact_id)
    unsubscribed = None
    if payload.unsubscribed_emails is not None:
        by_value = {
            point.value: point.pk for point in contact.points.all() if point.kind == "email"
        }
        wanted = {value.strip().lower() for value in payload.unsubscribed_emails}
        unknown = sorted(wanted - set(by_value))
        if unknown:
            raise ValidationFailed(
                _("Please correct the marked fields."),
                field_errors={
                    "unsubscribed_emails": [
                        _("Not an address of this contact: %(value)s") % {"value": unknown[0][:100]}
                    ]
                },
            )
        unsubscribed = {by_value[value] for value in wanted}
    services.contact_consent_set(
        actor=user,
        contact=contact,
        consent_at=payload.consent_at,
        consent_source=payload.consent_source,
        unsubscribed=unsubscribed,
    )
    return _consent_out(contact_get(user=user, pk=contact_id))


# --- mailings ----------------------------------------------------------------------------------

MAILINGS = ["Mailings"]
Figure = Annotated[str, StringConstraints(max_length=20)]


class MailingIn(InputSchema):
    name: Name
    segment_id: DatabaseId
    template_id: DatabaseId
    sender: Annotated[str, StringConstraints(max_length=10)] = Field(
        "company", description="company (the sales address) or own (your sender settings)"
    )
    send_at: IsoDateTime | None = Field(None, description="When to send; null: at the start")
    rate_per_minute: int | None = Field(
        None, description="Messages per minute; null: the default (CRM_MAILING_RATE_PER_MINUTE)"
    )


class StartIn(InputSchema):
    confirm: bool = Field(
        False, description="Required for a mailing over CRM_MAILING_CONFIRM_OVER recipients"
    )


class MailingOut(Schema):
    id: int
    name: str
    state: str
    segment_id: int | None
    template_id: int | None
    sender: str
    send_at: dt.datetime | None
    rate_per_minute: int
    created_by: UserRefOut
    created_at: dt.datetime
    started_at: dt.datetime | None
    finished_at: dt.datetime | None
    total: int
    subject: str


class ReportOut(Schema):
    all: int
    sent: int
    delivered: int = Field(description="Sent and not bounced")
    bounced: int
    unsubscribed: int = Field(description="Sent, and the address unsubscribed after it")
    replied: int
    skipped: int
    failed: int
    queued: int


class MailingRecipientOut(Schema):
    id: int
    address: str
    contact_id: int | None
    contact_name: str
    state: str
    reason: str
    error: str
    sent_at: dt.datetime | None
    bounced_at: dt.datetime | None
    replied_at: dt.datetime | None

    @staticmethod
    def resolve_contact_name(obj: Any) -> str:
        return obj.contact.full_name if obj.contact is not None else ""


class MailingRecipientPageOut(Schema):
    items: list[MailingRecipientOut]
    next_cursor: str | None


class FigureParams(PageParams):
    figure: Figure = Field("all", description=", ".join(ReportFigure.values))


@router.get(
    "/mailings",
    response={200: list[MailingOut], **READ_ERRORS, 403: ErrorOut},
    tags=MAILINGS,
    summary="Mailings",
)
def mailing_list(request: HttpRequest) -> Any:
    """The caller's mailings (an administrator: everyone's); 403 for a role that may not
    send mailings."""
    user = request_user(request)
    MAILING.check(user)
    return selectors.mailing_list(user=user)


@router.post(
    "/mailings",
    response={201: MailingOut, **WRITE_ERRORS},
    tags=MAILINGS,
    summary="Write a mailing",
)
def mailing_create(request: HttpRequest, payload: MailingIn) -> Any:
    """A draft mailing: a segment (a hidden one is 404) and a template the caller sees, the
    sender, when and how fast. Start it with ``/mailings/{id}/start``."""
    mailing = services.mailing_create(
        actor=request_user(request),
        name=payload.name,
        segment_id=payload.segment_id,
        template_id=payload.template_id,
        sender=payload.sender,
        send_at=payload.send_at,
        rate_per_minute=payload.rate_per_minute,
    )
    return Status(201, mailing)


@router.get(
    "/mailings/{mailing_id}",
    response={200: MailingOut, **READ_ERRORS, 403: ErrorOut},
    tags=MAILINGS,
    summary="A mailing",
)
def mailing_detail(request: HttpRequest, mailing_id: DatabaseId) -> Any:
    return selectors.mailing_get(user=request_user(request), pk=mailing_id)


@router.post(
    "/mailings/{mailing_id}/start",
    response={200: MailingOut, **WRITE_ERRORS},
    tags=MAILINGS,
    summary="Start a mailing",
)
def mailing_start(request: HttpRequest, mailing_id: DatabaseId, payload: StartIn) -> Any:
    """Freeze the recipients, the text and the sender, and send (now or at ``send_at``).
    Over ``CRM_MAILING_CONFIRM_OVER`` recipients without ``confirm``: 422 naming
    ``confirm`` with the count."""
    user = request_user(request)
    mailing = selectors.mailing_get(user=user, pk=mailing_id)
    return services.mailing_start(actor=user, mailing=mailing, confirm=payload.confirm)


def _action(request: HttpRequest, mailing_id: int, service: Any) -> Any:
    user = request_user(request)
    return service(actor=user, mailing=selectors.mailing_get(user=user, pk=mailing_id))


@router.post(
    "/mailings/{mailing_id}/pause",
    response={200: MailingOut, **WRITE_ERRORS},
    tags=MAILINGS,
    summary="Pause a mailing",
)
def mailing_pause(request: HttpRequest, mailing_id: DatabaseId) -> Any:
    return _action(request, mailing_id, services.mailing_pause)


@router.post(
    "/mailings/{mailing_id}/resume",
    response={200: MailingOut, **WRITE_ERRORS},
    tags=MAILINGS,
    summary="Resume a paused mailing",
)
def mailing_resume(request: HttpRequest, mailing_id: DatabaseId) -> Any:
    return _action(request, mailing_id, services.mailing_resume)


@router.post(
    "/mailings/{mailing_id}/cancel",
    response={200: MailingOut, **WRITE_ERRORS},
    tags=MAILINGS,
    summary="Cancel a mailing",
)
def mailing_cancel(request: HttpRequest, mailing_id: DatabaseId) -> Any:
    return _action(request, mailing_id, services.mailing_cancel)


@router.get(
    "/mailings/{mailing_id}/report",
    response={200: ReportOut, **READ_ERRORS, 403: ErrorOut},
    tags=MAILINGS,
    summary="A mailing's report",
)
def mailing_report(request: HttpRequest, mailing_id: DatabaseId) -> Any:
    """Sent, delivered (sent, not bounced), bounced, unsubscribed (after this mailing),
    replied, skipped, failed and still queued."""
    mailing = selectors.mailing_get(user=request_user(request), pk=mailing_id)
    return selectors.mailing_report(mailing=mailing)


@router.get(
    "/mailings/{mailing_id}/recipients",
    response={200: MailingRecipientPageOut, **READ_ERRORS, 403: ErrorOut},
    tags=MAILINGS,
    summary="The recipients behind a figure of the report",
)
def mailing_recipients(
    request: HttpRequest, mailing_id: DatabaseId, params: Query[FigureParams]
) -> Any:
    """One page (by id, after ``cursor``) of the recipients behind ``figure``."""
    mailing = selectors.mailing_get(user=request_user(request), pk=mailing_id)
    if params.figure not in ReportFigure.values:
        raise ValidationFailed(
            _("Please correct the marked fields."),
            field_errors={"figure": [_("One of: %(v)s.") % {"v": ", ".join(ReportFigure.values)}]},
        )
    return selectors.mailing_recipients(
        mailing=mailing, figure=params.figure, cursor=params.cursor, limit=params.limit
    )
