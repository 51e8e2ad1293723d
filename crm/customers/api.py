"""REST API of the customer base: contacts, companies, their timelines, custom fields.

Endpoints are adapters: a schema parses the request, one selector or service does the work,
a schema renders the answer. Input schemas take the raw types the forms take and only cap
sizes; the services apply the real rules, so the UI and the API refuse the same input with
the same messages (``phones[0]``, ``inn``, ``custom.budget``).

Visibility follows the UI: a record the caller may not see answers 404, a change the
caller's role may not make answers 403.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema, Status
from pydantic import AfterValidator, StringConstraints

from crm.accounts.models import User
from crm.activities.models import Attachment, TimelineEntry
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
from crm.core.pagination import MAX_LIMIT
from crm.customers import selectors, services
from crm.customers.choices import ContactPointKind, Entity
from crm.customers.models import Company, Contact

contacts_router = Router(tags=["Contacts"])
companies_router = Router(tags=["Companies"])
custom_fields_router = Router(tags=["Custom fields"])

# Caps that only throw garbage out early; the services enforce the real limits.
LIST_MAX = 50
TAGS_MAX = 100
CUSTOM_KEYS_MAX = 200
NAME_CAP = 1000
LONG_TEXT_CAP = 50000
SHORT_CAP = 100
PAGE_DEFAULT = 50

Short = Annotated[str, StringConstraints(max_length=SHORT_CAP), Storable]
Name = Annotated[str, StringConstraints(max_length=NAME_CAP), Storable]
Medium = Annotated[str, StringConstraints(max_length=5000), Storable]
Long = Annotated[str, StringConstraints(max_length=LONG_TEXT_CAP), Storable]
Cursor = Annotated[str, StringConstraints(max_length=1000), Storable]
Query200 = Annotated[str, StringConstraints(max_length=200), Storable]


# --- input ------------------------------------------------------------------------------------


class PointIn(InputSchema):
    value: Cursor | None = None
    label: Short | None = None


class MessengerIn(PointIn):
    messenger: Short | None = None


class AddressIn(InputSchema):
    kind: Short | None = None
    text: Medium | None = None


class EmploymentIn(InputSchema):
    company_id: DatabaseId
    position: Name | None = None


CustomScalar = Medium | bool | Annotated[int, Field(ge=-(10**18), le=10**18)] | float | None
CustomValue = CustomScalar | Annotated[list[CustomScalar], Field(max_length=LIST_MAX)]


class CustomerIn(InputSchema):
    """Fields contacts and companies share."""

    source: Short | None = None
    notes: Long | None = None
    owner_id: DatabaseId | None = None
    tags: Annotated[list[Short], Field(max_length=TAGS_MAX)] | None = None
    phones: Annotated[list[PointIn], Field(max_length=LIST_MAX)] | None = None
    emails: Annotated[list[PointIn], Field(max_length=LIST_MAX)] | None = None
    messengers: Annotated[list[MessengerIn], Field(max_length=LIST_MAX)] | None = None
    addresses: Annotated[list[AddressIn], Field(max_length=LIST_MAX)] | None = None
    custom: Annotated[dict[Short, CustomValue], Field(max_length=CUSTOM_KEYS_MAX)] | None = None
    allow_duplicate: bool = Field(
        False, description="Save even if a record with the same phone, e-mail or ИНН exists."
    )

    def service_data(self) -> dict[str, Any]:
        """The keys the client sent (PATCH changes only those), as the services take them."""
        return self.model_dump(exclude_unset=True, exclude={"allow_duplicate"})


class ContactIn(CustomerIn):
    last_name: Name | None = None
    first_name: Name | None = None
    middle_name: Name | None = None
    client_type: Short | None = None
    birthday: Short | None = Field(None, description="YYYY-MM-DD")
    preferences: Long | None = None
    employments: Annotated[list[EmploymentIn], Field(max_length=LIST_MAX)] | None = None


Requisite = Short | Annotated[int, Field(ge=0, le=10**15)]


class CompanyIn(CustomerIn):
    legal_name: Name | None = None
    short_name: Name | None = None
    legal_form: Short | None = None
    kind: Short | None = None
    inn: Requisite | None = None
    kpp: Requisite | None = None
    ogrn: Requisite | None = None
    website: Name | None = None
    industry: Name | None = None


class ShareIn(InputSchema):
    user_ids: Annotated[list[DatabaseId], Field(max_length=500)]


def _in_range(value: dt.datetime | None) -> dt.datetime | None:
    if value is None:
        return None
    if not 1900 <= value.year <= 2100:
        raise ValueError(_("The date is out of range."))
    return timezone.make_aware(value) if timezone.is_naive(value) else value


class TimelineEntryIn(InputSchema):
    kind: Literal["note", "call", "email", "meeting"]
    title: Medium | None = None
    body: Long | None = None
    direction: Short | None = None
    duration_seconds: Annotated[int, Field(ge=-(2**31), le=2**31)] | None = None
    occurred_at: Annotated[IsoDateTime, AfterValidator(_in_range)] | None = None


class ListParams(Schema):
    q: Query200 = Field("", description="Name fragment, phone digits, e-mail or ИНН")
    owner_id: DatabaseId | None = None
    client_type: Short = ""
    tag: Short = ""
    source: Short = ""
    order: Literal["new", "name"] = "new"
    cursor: Cursor | None = None
    limit: int = Field(PAGE_DEFAULT, ge=1, le=MAX_LIMIT)

    def filters(self, **extra: Any) -> selectors.CustomerFilters:
        return selectors.CustomerFilters(
            q=self.q,
            owner_id=self.owner_id,
            client_type=self.client_type,
            tag=self.tag,
            source=self.source,
            **extra,
        )


class ContactListParams(ListParams):
    company_id: DatabaseId | None = None


class PageParams(Schema):
    cursor: Cursor | None = None
    limit: int = Field(PAGE_DEFAULT, ge=1, le=MAX_LIMIT)


class TimelineParams(PageParams):
    kind: list[Short] | None = Field(None, max_length=20, description="note, call, … (repeat)")


class CustomFieldParams(Schema):
    entity: Literal["contact", "company"] | None = None


# --- output -----------------------------------------------------------------------------------


class PhoneOut(Schema):
    value: str = Field(description="E.164")
    display: str
    label: str


class EmailOut(Schema):
    value: str
    label: str


class MessengerOut(Schema):
    value: str = Field(description="The handle")
    messenger: str
    label: str


class AddressOut(Schema):
    kind: str
    text: str


class CompanyRefOut(Schema):
    id: int
    name: str
    position: str


def _points(obj: Any, kind: str) -> list[Any]:
    return [point for point in obj.points.all() if point.kind == kind]


class CustomerOut(Schema):
    id: int
    phones: list[PhoneOut]
    emails: list[EmailOut]
    messengers: list[MessengerOut]
    addresses: list[AddressOut]
    tags: list[str]
    owner: UserRefOut
    source: str
    notes: str
    custom: dict[str, Any]
    created_at: dt.datetime
    updated_at: dt.datetime

    @staticmethod
    def resolve_phones(obj: Any) -> list[dict[str, str]]:
        return [
            {"value": p.value, "display": p.display, "label": p.label}
            for p in _points(obj, ContactPointKind.PHONE)
        ]

    @staticmethod
    def resolve_emails(obj: Any) -> list[dict[str, str]]:
        return [{"value": p.value, "label": p.label} for p in _points(obj, ContactPointKind.EMAIL)]

    @staticmethod
    def resolve_messengers(obj: Any) -> list[dict[str, str]]:
        return [
            {"value": p.display, "messenger": p.messenger, "label": p.label}
            for p in _points(obj, ContactPointKind.MESSENGER)
        ]

    @staticmethod
    def resolve_addresses(obj: Any) -> list[Any]:
        return list(obj.addresses.all())

    @staticmethod
    def resolve_tags(obj: Any) -> list[str]:
        return [tag.name for tag in obj.tags.all()]


class ContactOut(CustomerOut):
    last_name: str
    first_name: str
    middle_name: str
    full_name: str
    client_type: str
    birthday: dt.date | None
    preferences: str
    companies: list[CompanyRefOut]

    @staticmethod
    def resolve_companies(obj: Any) -> list[dict[str, Any]]:
        return [
            {"id": e.company_id, "name": e.company.display_name, "position": e.position}
            for e in obj.employments.all()
        ]


class CompanyOut(CustomerOut):
    name: str
    legal_name: str
    short_name: str
    legal_form: str
    kind: str
    inn: str
    kpp: str
    ogrn: str
    website: str
    industry: str

    @staticmethod
    def resolve_name(obj: Company) -> str:
        return obj.display_name


class DuplicateOut(Schema):
    """An existing record like the one being saved; a record the caller may not see
    comes without its name."""

    entity: str
    id: int
    name: str
    owner: str
    visible: bool
    exact: bool
    score: int
    reasons: list[str]


class ConflictOut(ErrorOut):
    duplicates: list[DuplicateOut] = []


class ContactCreatedOut(ContactOut):
    possible_duplicates: list[DuplicateOut]


class CompanyCreatedOut(CompanyOut):
    possible_duplicates: list[DuplicateOut]


class ContactPageOut(Schema):
    items: list[ContactOut]
    next_cursor: str | None


class CompanyPageOut(Schema):
    items: list[CompanyOut]
    next_cursor: str | None


class SharedOut(Schema):
    shared_with: list[UserRefOut]


class AttachmentOut(Schema):
    id: int
    name: str
    size: int
    url: str | None

    @staticmethod
    def resolve_name(obj: Attachment) -> str:
        return obj.original_name

    @staticmethod
    def resolve_url(obj: Any) -> str | None:
        try:
            return reverse("activities:attachment_download", args=[obj.pk])
        except NoReverseMatch:
            return None


class TimelineEntryOut(Schema):
    id: int
    kind: str
    subject: str = Field(description="contact or company: whose timeline the entry is on")
    subject_id: int
    title: str
    body: str
    data: dict[str, Any]
    direction: str
    duration_seconds: int | None
    author: UserRefOut | None
    occurred_at: dt.datetime
    attachment: AttachmentOut | None

    @staticmethod
    def resolve_subject(obj: TimelineEntry) -> str:
        return obj.subject_type.model


class TimelinePageOut(Schema):
    items: list[TimelineEntryOut]
    next_cursor: str | None


class CustomFieldOut(Schema):
    id: int
    entity: str
    key: str
    label: str
    field_type: str
    choices: list[Any]
    client_types: list[str]
    is_required: bool
    help_text: str
    position: int


# --- helpers ----------------------------------------------------------------------------------

CREATE_RESPONSES: dict[int, Any] = {409: ConflictOut, **WRITE_ERRORS}
UPDATE_RESPONSES: dict[int, Any] = {409: ConflictOut, **WRITE_ERRORS}


def _with_duplicates(record: Contact | Company, candidates: list[Any]) -> Contact | Company:
    record.possible_duplicates = [c.as_dict() for c in candidates]  # type: ignore[union-attr]
    return record


def _contact_duplicates(actor: User, contact: Contact) -> list[Any]:
    """Records like the new contact (the save's exact matches were allowed, or none)."""
    return services.contact_duplicates_find(
        actor=actor,
        last_name=contact.last_name,
        first_name=contact.first_name,
        middle_name=contact.middle_name,
        points=[(point.kind, point.value) for point in contact.points.all()],
        exclude_id=contact.pk,
    )


def _company_duplicates(actor: User, company: Company) -> list[Any]:
    return services.company_duplicates_find(
        actor=actor,
        legal_name=company.legal_name,
        short_name=company.short_name,
        inn=company.inn,
        kpp=company.kpp,
        points=[(point.kind, point.value) for point in company.points.all()],
        exclude_id=company.pk,
    )


def _timeline_add(actor: User, record: Contact | Company, payload: TimelineEntryIn) -> Any:
    return services.customer_timeline_add(
        actor=actor,
        record=record,
        kind=payload.kind,
        title=payload.title or "",
        body=payload.body or "",
        direction=payload.direction or "",
        duration_seconds=payload.duration_seconds,
        occurred_at=payload.occurred_at,
    )


# --- contacts ---------------------------------------------------------------------------------


@contacts_router.get("", response={200: ContactPageOut, **READ_ERRORS}, summary="List contacts")
def contact_list(request: HttpRequest, params: Query[ContactListParams]) -> Any:
    """Contacts the caller may see, newest first or by name, one page after ``cursor``."""
    return selectors.contact_list(
        user=request_user(request),
        filters=params.filters(company_id=params.company_id),
        order=params.order,
        cursor=params.cursor,
        limit=params.limit,
    )


@contacts_router.post(
    "", response={201: ContactCreatedOut, **CREATE_RESPONSES}, summary="Create a contact"
)
def contact_create(request: HttpRequest, payload: ContactIn) -> Any:
    """Create a contact. An exact duplicate (same phone, e-mail or messenger) answers 409
    with the duplicates unless ``allow_duplicate``; near matches come back in
    ``possible_duplicates``."""
    actor = request_user(request)
    contact = services.contact_create(
        actor=actor, data=payload.service_data(), allow_duplicate=payload.allow_duplicate
    )
    contact = selectors.contact_get(user=actor, pk=contact.pk)
    return Status(201, _with_duplicates(contact, _contact_duplicates(actor, contact)))


@contacts_router.get(
    "/{contact_id}", response={200: ContactOut, **READ_ERRORS}, summary="One contact"
)
def contact_detail(request: HttpRequest, contact_id: DatabaseId) -> Any:
    return selectors.contact_get(user=request_user(request), pk=contact_id)


@contacts_router.patch(
    "/{contact_id}", response={200: ContactOut, **UPDATE_RESPONSES}, summary="Change a contact"
)
def contact_update(request: HttpRequest, contact_id: DatabaseId, payload: ContactIn) -> Any:
    """Change the fields present in the body; a list sent (``phones`` …) replaces the old one."""
    actor = request_user(request)
    contact = selectors.contact_get(user=actor, pk=contact_id)
    services.contact_update(
        actor=actor,
        contact=contact,
        data=payload.service_data(),
        allow_duplicate=payload.allow_duplicate,
        partial=True,
    )
    return selectors.contact_get(user=actor, pk=contact_id)


@contacts_router.post(
    "/{contact_id}/share",
    response={200: SharedOut, **WRITE_ERRORS},
    summary="Set who else sees a contact",
)
def contact_share(request: HttpRequest, contact_id: DatabaseId, payload: ShareIn) -> Any:
    actor = request_user(request)
    contact = selectors.contact_get(user=actor, pk=contact_id)
    services.customer_share(actor=actor, record=contact, user_ids=payload.user_ids)
    return {"shared_with": list(contact.shared_with.all())}


@contacts_router.get(
    "/{contact_id}/timeline",
    response={200: TimelinePageOut, **READ_ERRORS},
    summary="A contact's timeline",
)
def contact_timeline(
    request: HttpRequest, contact_id: DatabaseId, params: Query[TimelineParams]
) -> Any:
    """Entries newest first; ``kind`` (repeatable) narrows to some kinds."""
    contact = selectors.contact_get(user=request_user(request), pk=contact_id)
    return selectors.contact_timeline(
        contact=contact, cursor=params.cursor, limit=params.limit, kinds=params.kind
    )


@contacts_router.post(
    "/{contact_id}/timeline",
    response={201: TimelineEntryOut, **WRITE_ERRORS},
    summary="Add a note, call, e-mail or meeting to a contact",
)
def contact_timeline_add(
    request: HttpRequest, contact_id: DatabaseId, payload: TimelineEntryIn
) -> Any:
    actor = request_user(request)
    contact = selectors.contact_get(user=actor, pk=contact_id)
    return Status(201, _timeline_add(actor, contact, payload))


# --- companies --------------------------------------------------------------------------------


@companies_router.get("", response={200: CompanyPageOut, **READ_ERRORS}, summary="List companies")
def company_list(request: HttpRequest, params: Query[ListParams]) -> Any:
    return selectors.company_list(
        user=request_user(request),
        filters=params.filters(),
        order=params.order,
        cursor=params.cursor,
        limit=params.limit,
    )


@companies_router.post(
    "", response={201: CompanyCreatedOut, **CREATE_RESPONSES}, summary="Create a company"
)
def company_create(request: HttpRequest, payload: CompanyIn) -> Any:
    """Create a company. The same ИНН (and КПП), phone or e-mail answers 409 unless
    ``allow_duplicate``; similar names come back in ``possible_duplicates``."""
    actor = request_user(request)
    company = services.company_create(
        actor=actor, data=payload.service_data(), allow_duplicate=payload.allow_duplicate
    )
    company = selectors.company_get(user=actor, pk=company.pk)
    return Status(201, _with_duplicates(company, _company_duplicates(actor, company)))


@companies_router.get(
    "/{company_id}", response={200: CompanyOut, **READ_ERRORS}, summary="One company"
)
def company_detail(request: HttpRequest, company_id: DatabaseId) -> Any:
    return selectors.company_get(user=request_user(request), pk=company_id)


@companies_router.patch(
    "/{company_id}", response={200: CompanyOut, **UPDATE_RESPONSES}, summary="Change a company"
)
def company_update(request: HttpRequest, company_id: DatabaseId, payload: CompanyIn) -> Any:
    actor = request_user(request)
    company = selectors.company_get(user=actor, pk=company_id)
    services.company_update(
        actor=actor,
        company=company,
        data=payload.service_data(),
        allow_duplicate=payload.allow_duplicate,
        partial=True,
    )
    return selectors.company_get(user=actor, pk=company_id)


@companies_router.post(
    "/{company_id}/share",
    response={200: SharedOut, **WRITE_ERRORS},
    summary="Set who else sees a company",
)
def company_share(request: HttpRequest, company_id: DatabaseId, payload: ShareIn) -> Any:
    actor = request_user(request)
    company = selectors.company_get(user=actor, pk=company_id)
    services.customer_share(actor=actor, record=company, user_ids=payload.user_ids)
    return {"shared_with": list(company.shared_with.all())}


@companies_router.get(
    "/{company_id}/people",
    response={200: ContactPageOut, **READ_ERRORS},
    summary="People working at a company",
)
def company_people(request: HttpRequest, company_id: DatabaseId, params: Query[PageParams]) -> Any:
    """The company's people the caller may see, by name."""
    actor = request_user(request)
    company = selectors.company_get(user=actor, pk=company_id)
    return selectors.contact_list(
        user=actor,
        filters=selectors.CustomerFilters(company_id=company.pk),
        order="name",
        cursor=params.cursor,
        limit=params.limit,
    )


@companies_router.get(
    "/{company_id}/timeline",
    response={200: TimelinePageOut, **READ_ERRORS},
    summary="A company's timeline (with its people's entries)",
)
def company_timeline(
    request: HttpRequest, company_id: DatabaseId, params: Query[TimelineParams]
) -> Any:
    actor = request_user(request)
    company = selectors.company_get(user=actor, pk=company_id)
    return selectors.company_timeline(
        company=company, user=actor, cursor=params.cursor, limit=params.limit, kinds=params.kind
    )


@companies_router.post(
    "/{company_id}/timeline",
    response={201: TimelineEntryOut, **WRITE_ERRORS},
    summary="Add a note, call, e-mail or meeting to a company",
)
def company_timeline_add(
    request: HttpRequest, company_id: DatabaseId, payload: TimelineEntryIn
) -> Any:
    actor = request_user(request)
    company = selectors.company_get(user=actor, pk=company_id)
    return Status(201, _timeline_add(actor, company, payload))


# --- custom fields ----------------------------------------------------------------------------


@custom_fields_router.get(
    "", response={200: list[CustomFieldOut], **READ_ERRORS}, summary="Custom field definitions"
)
def custom_field_list(request: HttpRequest, params: Query[CustomFieldParams]) -> Any:
    """Active custom fields of contacts and companies (``entity`` narrows to one)."""
    entities = [params.entity] if params.entity else [Entity.CONTACT, Entity.COMPANY]
    return [
        definition
        for entity in entities
        for definition in selectors.custom_fields_active(entity=entity)
    ]
