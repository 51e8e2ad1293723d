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
import inspect
from collections.abc import Callable
from dataclasses import dataclass
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
from crm.customers.kinds import COMPANY, CONTACT, CustomerKind
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


NAME_RULE = "A contact needs a last name or a first name (either alone is enough)."


class ContactIn(CustomerIn):
    last_name: Name | None = Field(None, description=NAME_RULE)
    first_name: Name | None = Field(None, description=NAME_RULE)
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

    def filters(self) -> selectors.CustomerFilters:
        return selectors.CustomerFilters(
            q=self.q,
            owner_id=self.owner_id,
            client_type=self.client_type,
            tag=self.tag,
            source=self.source,
        )


class ContactListParams(ListParams):
    company_id: DatabaseId | None = None

    def filters(self) -> selectors.CustomerFilters:
        filters = super().filters()
        filters.company_id = self.company_id
        return filters


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
    unsubscribed_at: dt.datetime | None = Field(
        description="When the address was unsubscribed from mailings (empty: subscribed)"
    )


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
    def resolve_emails(obj: Any) -> list[dict[str, Any]]:
        return [
            {"value": p.value, "label": p.label, "unsubscribed_at": p.unsubscribed_at}
            for p in _points(obj, ContactPointKind.EMAIL)
        ]

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
    consent_at: dt.datetime | None = Field(description="When consent to mailings was given")
    consent_source: str = Field(description="form, import, manual, api, email, other or empty")

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
    tier: str = Field(description='"likely" (an exact duplicate is likely too) or "possible".')
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


# --- contacts and companies: one set of endpoints per kind ------------------------------------


@dataclass(frozen=True, eq=False)
class CustomerEndpoints:
    """What differs between the contact and the company endpoints: the kind, the router,
    the schemas and the texts of the schema. ``mount`` adds the same endpoints for each, so
    their paths, operation ids and shapes are those of hand-written twins."""

    kind: CustomerKind[Any]
    router: Router
    schema_in: type[CustomerIn]
    schema_out: type[CustomerOut]
    created_out: type[CustomerOut]
    page_out: type[Schema]
    list_params: type[ListParams]
    create_service: Callable[..., Any]
    """``customer_create`` of the kind, looked up when called (a test may replace it)."""
    update_service: Callable[..., Any]
    """``customer_update`` of the kind, taking the record as ``record``."""
    plural: str
    """The kind's name in the summaries: "List <plural>", "Create a <entity>" …"""
    descriptions: dict[str, str]
    timeline_summary: str = ""

    @property
    def id_name(self) -> str:
        return f"{self.kind.entity}_id"

    @property
    def summaries(self) -> dict[str, str]:
        name = self.kind.entity
        return {
            "list": f"List {self.plural}",
            "create": f"Create a {name}",
            "detail": f"One {name}",
            "update": f"Change a {name}",
            "share": f"Set who else sees a {name}",
            "timeline": self.timeline_summary or f"A {name}'s timeline",
            "timeline_add": f"Add a note, call, e-mail or meeting to a {name}",
        }

    def get(self, request: HttpRequest, record_id: int) -> Any:
        return selectors.customer_get(kind=self.kind, user=request_user(request), pk=record_id)

    def mount(self) -> None:
        """Add the list, create, detail, change, share and timeline endpoints."""
        one = f"/{{{self.id_name}}}"
        record_id = {self.id_name: DatabaseId}
        query: Any = Query  # ``Query[...]`` of a class chosen at run time
        routes: list[tuple[str, str, str, Callable[..., Any], dict[int, Any], dict[str, Any]]] = [
            ("", "GET", "list", self.list_page, {200: self.page_out, **READ_ERRORS},
             {"params": query[self.list_params]}),
            ("", "POST", "create", self.create, {201: self.created_out, **CREATE_RESPONSES},
             {"payload": self.schema_in}),
            (one, "GET", "detail", self.detail, {200: self.schema_out, **READ_ERRORS}, record_id),
            (one, "PATCH", "update", self.update, {200: self.schema_out, **UPDATE_RESPONSES},
             {**record_id, "payload": self.schema_in}),
            (f"{one}/share", "POST", "share", self.share, {200: SharedOut, **WRITE_ERRORS},
             {**record_id, "payload": ShareIn}),
            (f"{one}/timeline", "GET", "timeline", self.timeline,
             {200: TimelinePageOut, **READ_ERRORS},
             {**record_id, "params": query[TimelineParams]}),
            (f"{one}/timeline", "POST", "timeline_add", self.timeline_add,
             {201: TimelineEntryOut, **WRITE_ERRORS}, {**record_id, "payload": TimelineEntryIn}),
        ]  # fmt: skip
        for path, method, action, handler, response, params in routes:
            self._add(path, method, action, handler, response, params)

    def _add(
        self,
        path: str,
        method: str,
        action: str,
        handler: Callable[..., Any],
        response: dict[int, Any],
        params: dict[str, Any],
    ) -> None:
        """Register ``handler`` as ``<entity>_<action>`` taking ``params`` (name → type)."""
        id_name = self.id_name

        def view(request: HttpRequest, **kwargs: Any) -> Any:
            if id_name in kwargs:
                kwargs["record_id"] = kwargs.pop(id_name)
            return handler(request, **kwargs)

        view.__name__ = view.__qualname__ = f"{self.kind.entity}_{action}"
        view.__doc__ = None
        view.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
            [inspect.Parameter("request", inspect.Parameter.POSITIONAL_OR_KEYWORD)]
            + [
                inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, annotation=annotation)
                for name, annotation in params.items()
            ]
        )
        self.router.add_api_operation(
            path,
            [method],
            view,
            response=response,
            summary=self.summaries[action],
            description=self.descriptions.get(action),
        )

    def list_page(self, request: HttpRequest, params: ListParams) -> Any:
        return selectors.customer_list(
            kind=self.kind,
            user=request_user(request),
            filters=params.filters(),
            order=params.order,
            cursor=params.cursor,
            limit=params.limit,
        )

    def create(self, request: HttpRequest, payload: CustomerIn) -> Any:
        created = self.create_service(
            actor=request_user(request),
            data=payload.service_data(),
            allow_duplicate=payload.allow_duplicate,
        )
        record = self.get(request, created.pk)
        return Status(201, _with_duplicates(record, created.duplicates_found))

    def detail(self, request: HttpRequest, record_id: int) -> Any:
        return self.get(request, record_id)

    def update(self, request: HttpRequest, record_id: int, payload: CustomerIn) -> Any:
        self.update_service(
            actor=request_user(request),
            record=self.get(request, record_id),
            data=payload.service_data(),
            allow_duplicate=payload.allow_duplicate,
            partial=True,
        )
        return self.get(request, record_id)

    def share(self, request: HttpRequest, record_id: int, payload: ShareIn) -> Any:
        record = self.get(request, record_id)
        services.customer_share(
            actor=request_user(request), record=record, user_ids=payload.user_ids
        )
        return {"shared_with": list(record.shared_with.all())}

    def timeline(self, request: HttpRequest, record_id: int, params: TimelineParams) -> Any:
        return selectors.customer_timeline(
            record=self.get(request, record_id),
            user=request_user(request),
            cursor=params.cursor,
            limit=params.limit,
            kinds=params.kind,
        )

    def timeline_add(self, request: HttpRequest, record_id: int, payload: TimelineEntryIn) -> Any:
        record = self.get(request, record_id)
        return Status(201, _timeline_add(request_user(request), record, payload))


CONTACT_ENDPOINTS = CustomerEndpoints(
    kind=CONTACT,
    router=contacts_router,
    schema_in=ContactIn,
    schema_out=ContactOut,
    created_out=ContactCreatedOut,
    page_out=ContactPageOut,
    list_params=ContactListParams,
    create_service=lambda **kwargs: services.contact_create(**kwargs),
    update_service=lambda *, record, **kwargs: services.contact_update(contact=record, **kwargs),
    plural="contacts",
    descriptions={
        "list": "Contacts the caller may see, newest first or by name, one page after ``cursor``.",
        "create": "Create a contact. An exact duplicate (same phone, e-mail or messenger) "
        "answers 409\nwith the duplicates unless ``allow_duplicate``; near matches come back "
        "in\n``possible_duplicates``.",
        "update": "Change the fields present in the body; a list sent (``phones`` …) replaces "
        "the old one.",
        "timeline": "Entries newest first; ``kind`` (repeatable) narrows to some kinds.",
    },
)

COMPANY_ENDPOINTS = CustomerEndpoints(
    kind=COMPANY,
    router=companies_router,
    schema_in=CompanyIn,
    schema_out=CompanyOut,
    created_out=CompanyCreatedOut,
    page_out=CompanyPageOut,
    list_params=ListParams,
    create_service=lambda **kwargs: services.company_create(**kwargs),
    update_service=lambda *, record, **kwargs: services.company_update(company=record, **kwargs),
    plural="companies",
    timeline_summary="A company's timeline (with its people's entries)",
    descriptions={
        "create": "Create a company. The same ИНН (and КПП), phone or e-mail answers 409 "
        "unless\n``allow_duplicate``; similar names come back in ``possible_duplicates``.",
    },
)

CONTACT_ENDPOINTS.mount()
COMPANY_ENDPOINTS.mount()


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
