"""REST API of correspondence: e-mail templates, previewing and sending an e-mail from a
record, a sent e-mail's state, and SMS (send from a record, a record's SMS, one SMS).
Mounted by ``crm.api.urls`` at ``/email-templates``, ``/emails`` and ``/sms``.

Same rules as the pages: shared templates are the administrator's, a personal one its
owner's (anyone else's is 404); an e-mail is written by whoever may change the record and
seen by whoever may see it; a record one may not see is 404. Sending answers 202 with the
e-mail's id and Message-ID: the SMTP server gets it from a background job; an SMS the
same way (503 when no SMS provider is configured).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, Any

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema, Status
from pydantic import StringConstraints

from crm.core.api import READ_ERRORS, WRITE_ERRORS, DatabaseId, InputSchema, Storable, request_user
from crm.correspondence import selectors
from crm.correspondence.choices import SenderChoice
from crm.correspondence.services import sending, sms
from crm.correspondence.services import templates as template_services

templates_router = Router(tags=["E-mail"])
emails_router = Router(tags=["E-mail"])
sms_router = Router(tags=["SMS"])

Text = Annotated[str, StringConstraints(max_length=40000), Storable]
Line = Annotated[str, StringConstraints(max_length=1000), Storable]
Address = Annotated[str, StringConstraints(max_length=1000), Storable]
Kind = Annotated[str, StringConstraints(max_length=20), Storable]


class TemplateOut(Schema):
    id: int
    name: str
    language: str = Field(description="ru or en")
    subject: str
    body: str
    shared: bool = Field(description="Shared (the administrator's) or the caller's own")
    archived: bool
    updated_at: dt.datetime

    @staticmethod
    def resolve_shared(obj: Any) -> bool:
        return bool(obj.is_shared)


class TemplateListParams(Schema):
    archived: bool = Field(False, description="Include archived templates.")


class TemplateIn(InputSchema):
    name: Line
    language: Line = Field(description="ru or en")
    subject: Line
    body: Text
    shared: bool = Field(False, description="A shared template (administrators only).")
    archived: bool = False


class TemplatePatch(InputSchema):
    name: Line | None = None
    language: Line | None = None
    subject: Line | None = None
    body: Text | None = None
    archived: bool | None = None


class RecordRef(InputSchema):
    record_kind: Kind = Field(description="contact, company, lead or deal")
    record_id: DatabaseId


class PreviewIn(RecordRef):
    template_id: DatabaseId | None = Field(None, description="Render this template …")
    subject: Line | None = Field(None, description="… or this subject and body")
    body: Text | None = None


class PreviewOut(Schema):
    subject: str
    body: str
    missing: list[str] = Field(description="Placeholders the record cannot fill")


class EmailIn(RecordRef):
    to: Annotated[list[Address], Field(min_length=1, max_length=100)]
    cc: Annotated[list[Address], Field(max_length=100)] = []
    bcc: Annotated[list[Address], Field(max_length=100)] = []
    subject: Line = Field(description="Template text: placeholders are filled when sending")
    body: Text
    sender: Line = Field(SenderChoice.COMPANY, description="company or own")
    template_id: DatabaseId | None = None
    attachment_ids: Annotated[list[DatabaseId], Field(max_length=100)] = Field(
        [], description="Files of the record (its timeline's and, for a deal, its documents')"
    )


class AttachmentOut(Schema):
    id: int
    name: str
    size: int

    @staticmethod
    def resolve_name(obj: Any) -> str:
        return str(obj.original_name)


class EmailOut(Schema):
    id: int
    record_kind: str
    record_id: int
    message_id: str
    status: str = Field(description="queued, sent, failed or bounced")
    attempts: int
    last_error: str
    from_name: str
    from_address: str
    to: list[str]
    cc: list[str]
    bcc: list[str]
    subject: str
    body: str
    attachments: list[AttachmentOut]
    created_at: dt.datetime
    sent_at: dt.datetime | None
    bounced_at: dt.datetime | None

    @staticmethod
    def resolve_attachments(obj: Any) -> list[Any]:
        return list(obj.attachments.all())


# --- templates ------------------------------------------------------------------------------


@templates_router.get("", response={200: list[TemplateOut], **READ_ERRORS}, summary="Templates")
def template_list(request: HttpRequest, params: Query[TemplateListParams]) -> Any:
    """The shared templates and the caller's own, by name."""
    return list(selectors.templates_for(user=request_user(request), archived=params.archived))


@templates_router.post("", response={201: TemplateOut, **WRITE_ERRORS}, summary="Create a template")
def template_create(request: HttpRequest, payload: TemplateIn) -> Any:
    """A personal template, or a shared one (``"shared": true``, administrators). A subject
    or body that is not a valid template answers 422 naming the field and the line."""
    data = payload.dict(exclude={"shared"})
    template = template_services.email_template_create(
        actor=request_user(request), data=data, shared=payload.shared
    )
    return Status(201, template)


@templates_router.get("/{template_id}", response={200: TemplateOut, **READ_ERRORS})
def template_get(request: HttpRequest, template_id: int) -> Any:
    return selectors.template_get(user=request_user(request), pk=template_id)


@templates_router.patch(
    "/{template_id}", response={200: TemplateOut, **WRITE_ERRORS}, summary="Change a template"
)
def template_update(request: HttpRequest, template_id: int, payload: TemplatePatch) -> Any:
    actor = request_user(request)
    template = selectors.template_get(user=actor, pk=template_id)
    data = payload.dict(exclude_unset=True, exclude_none=True)
    return template_services.email_template_update(actor=actor, template=template, data=data)


@templates_router.delete(
    "/{template_id}", response={204: None, **WRITE_ERRORS}, summary="Delete a template"
)
def template_delete(request: HttpRequest, template_id: int) -> Any:
    actor = request_user(request)
    template = selectors.template_get(user=actor, pk=template_id)
    template_services.email_template_delete(actor=actor, template=template)
    return Status(204, None)


# --- e-mails --------------------------------------------------------------------------------


@emails_router.post(
    "/preview", response={200: PreviewOut, **WRITE_ERRORS}, summary="Preview an e-mail"
)
def email_preview(request: HttpRequest, payload: PreviewIn) -> Any:
    """A template (or a subject and body) rendered against a record the caller may change,
    with the placeholders it cannot fill. Nothing is written."""
    actor = request_user(request)
    record = selectors.record_for_mail(
        user=actor, kind=payload.record_kind, pk=payload.record_id, action="change"
    )
    subject, body, language = payload.subject or "", payload.body or "", ""
    if payload.template_id is not None:
        template = selectors.template_get(user=actor, pk=payload.template_id)
        subject, body, language = template.subject, template.body, template.language
    preview = template_services.email_render(
        actor=actor, record=record, subject=subject, body=body, language=language
    )
    return {"subject": preview.subject.text, "body": preview.body.text, "missing": preview.missing}


@emails_router.post("", response={202: EmailOut, **WRITE_ERRORS}, summary="Send an e-mail")
def email_send(request: HttpRequest, payload: EmailIn) -> Any:
    """Write an e-mail from a record and queue it (202). Refused before anything is written:
    a line break in an address or the subject (422 naming it), an undeliverable address, a
    placeholder the record cannot fill, files that are not the record's or too large
    (413)."""
    email = sending.email_send(
        actor=request_user(request),
        kind=payload.record_kind,
        record_id=payload.record_id,
        draft=sending.Draft(
            to=payload.to,
            cc=payload.cc,
            bcc=payload.bcc,
            subject=payload.subject,
            body=payload.body,
            sender=payload.sender,
            template_id=payload.template_id,
            attachment_ids=payload.attachment_ids,
        ),
    )
    return Status(202, email)


@emails_router.get("/{email_id}", response={200: EmailOut, **READ_ERRORS}, summary="An e-mail")
def email_get(request: HttpRequest, email_id: int) -> Any:
    """An e-mail written from a record the caller may see, with its delivery state."""
    return selectors.email_get(user=request_user(request), pk=email_id)


# --- SMS ------------------------------------------------------------------------------------


class SmsIn(RecordRef):
    phone: Line = Field(description="One of the client's numbers on the card (any form)")
    text: Text = Field(description="Template text: placeholders are filled when sending")
    template_id: DatabaseId | None = None


class SmsOut(Schema):
    id: int
    record_kind: str
    record_id: int
    phone: str = Field(description="E.164")
    text: str
    parts: int
    sender: str
    status: str = Field(description="queued, sending, sent, delivered or failed")
    provider: str
    provider_id: str
    attempts: int
    last_error: str
    cost: Decimal | None
    created_at: dt.datetime
    sent_at: dt.datetime | None
    delivered_at: dt.datetime | None


class SmsListParams(Schema):
    record_kind: Kind = Field(description="contact, company, lead or deal")
    record_id: DatabaseId
    limit: int = Field(50, ge=1, le=200)


@sms_router.post("", response={202: SmsOut, **WRITE_ERRORS}, summary="Send an SMS")
def sms_send(request: HttpRequest, payload: SmsIn) -> Any:
    """Write an SMS from a record to one of its client's numbers and queue it (202).
    Refused before anything is written (422 naming ``phone``, ``text`` or ``template_id``):
    a number that is not the record's, an empty text, a control character, more parts than
    allowed, a placeholder the record cannot fill. 503 when no provider is configured."""
    message = sms.sms_send(
        actor=request_user(request),
        kind=payload.record_kind,
        record_id=payload.record_id,
        phone=payload.phone,
        text=payload.text,
        template_id=payload.template_id,
    )
    return Status(202, message)


@sms_router.get("", response={200: list[SmsOut], **READ_ERRORS}, summary="A record's SMS")
def sms_list(request: HttpRequest, params: Query[SmsListParams]) -> Any:
    """The SMS written from a record the caller may see, newest first."""
    rows = selectors.sms_for_record(
        user=request_user(request), kind=params.record_kind, pk=params.record_id
    )
    return list(rows[: params.limit])


@sms_router.get("/{sms_id}", response={200: SmsOut, **READ_ERRORS}, summary="An SMS")
def sms_get(request: HttpRequest, sms_id: int) -> Any:
    """An SMS written from a record the caller may see, with its delivery state."""
    return selectors.sms_get(user=request_user(request), pk=sms_id)
