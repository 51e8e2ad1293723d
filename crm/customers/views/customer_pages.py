"""The customer pages: list, card, form (create and edit), duplicate check and sharing.

One set of views and templates serves every kind of customer. Each page is a thin adapter:
it parses the request, calls one selector or service and renders. A kind is described by a
``Pages`` object (``views/kinds.py``: its ``CustomerKind``, form, list rows and the
template fragments that truly differ); ``urls.py`` routes each kind's paths here with its
``Pages``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from crm.accounts.http import SignedInRequest
from crm.activities.selectors import TIMELINE_PAGE_SIZE
from crm.core import errors
from crm.core.pagination import Page
from crm.core.records import registry
from crm.customers import selectors, services
from crm.customers.choices import (
    AddressKind,
    ContactPointLabel,
    CustomFieldType,
    Messenger,
    Source,
)
from crm.customers.forms import CustomerForm, ShareForm, parse_id, wants
from crm.customers.kinds import CONTACT, KINDS, CustomerKind
from crm.customers.models import Company, Contact, CustomField
from crm.customers.permissions import CUSTOMER
from crm.planner.selectors import tasks_panel

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

LIST_LIMIT = 50
FORM_TEMPLATE = "customers/customer_form.html"
Record = Contact | Company
RecordT = TypeVar("RecordT", Contact, Company)


@dataclass(frozen=True)
class Labels:
    """The page texts that name the kind (translated when shown)."""

    new: StrOrPromise  # "New contact"
    edit: StrOrPromise  # "Edit contact"
    empty: StrOrPromise  # "No contacts yet."
    empty_filtered: StrOrPromise  # "No contacts match the filters."


FRAGMENTS = ("columns", "rows", "card_heading", "card_links", "form_identity", "form_details")
OPTIONAL_FRAGMENTS = ("card_top", "card_details", "form_links", "form_text")


def fragments_of(entity: str, *optional: str) -> dict[str, str]:
    """The kind's own template fragments, ``customers/partials/<entity>_<slot>.html``, by slot.

    Every kind fills ``columns`` and ``rows`` (the list's own column heads and its rows,
    inline: one include for the page, none per row, before the common tags, responsible
    and date), ``card_heading`` (the card's title and type badge), ``card_links`` (the links
    to the other kind: places of work, people), ``form_identity`` (the names or requisites
    the duplicate check watches) and ``form_details`` (the form's side fields). ``optional``
    names the other slots it fills: ``card_top`` (sections above the contact points: a
    company's requisites), ``card_details`` (rows of "Details" before the common ones),
    ``form_links`` and ``form_text`` (the form's links and long texts).
    """
    if unknown := set(optional) - set(OPTIONAL_FRAGMENTS):
        raise ValueError(f"No such fragment slot: {sorted(unknown)}")
    return {slot: f"customers/partials/{entity}_{slot}.html" for slot in FRAGMENTS + optional}


@dataclass(frozen=True)
class Pages(Generic[RecordT]):
    """What differs between the pages of one kind of customer and another's."""

    kind: CustomerKind[RecordT]
    path: str  # the URL prefix: "contacts"
    form_class: type[CustomerForm]
    table: Callable[..., Page[Any]]  # rows of the list page (only the columns it shows)
    check_input: Callable[[Any], dict[str, Any]]
    type_choices: Sequence[tuple[str, StrOrPromise]]
    labels: Labels
    fragments: dict[str, str]  # ``fragments_of``: the shared templates include these
    new_form: Callable[[SignedInRequest], dict[str, Any]] = lambda _request: {}
    """The new record form's ``initial`` and ``initial_rows`` from the query string."""

    @property
    def entity(self) -> str:
        return self.kind.entity

    @property
    def detail_url(self) -> str:
        return f"customers:{self.entity}_detail"

    def get(self, request: SignedInRequest, pk: int) -> RecordT:
        """The whole record (edit form, sharing); 404 unless the user may see it."""
        return selectors.customer_get(kind=self.kind, user=request.user, pk=pk)


def _check_writable(request: SignedInRequest, record: Record | None) -> None:
    """403 or 404 unless the user may change ``record`` (or create one when ``None``)."""
    try:
        services.customer_check_writable(actor=request.user, record=record)
    except errors.NotFound:
        raise Http404 from None
    except errors.PermissionDenied as exc:
        raise PermissionDenied(exc.message) from None


# --- list ------------------------------------------------------------------------------------


@login_required
def customer_list(request: SignedInRequest, pages: Pages[Any]) -> HttpResponse:
    """A page of records under the filters in the query string, with a "next page" link."""
    params = request.GET
    filters = selectors.CustomerFilters.from_params(params)
    if pages.kind is not CONTACT:
        filters.company_id = None
    order = params.get("sort") if params.get("sort") in {"new", "name"} else "new"
    status, error = 200, ""
    try:
        page = pages.table(
            user=request.user,
            filters=filters,
            order=order,
            cursor=params.get("cursor") or None,
            limit=LIST_LIMIT,
        )
    except errors.ValidationFailed as exc:
        page, status, error = Page([], None), 400, exc.message or str(exc)
    kept = {key: value for key, value in params.dict().items() if key != "cursor" and value}
    next_url = f"?{urlencode({**kept, 'cursor': page.next_cursor})}" if page.next_cursor else ""
    context = {
        "page": page,
        "filters": filters,
        "order": order,
        "is_filtered": any(
            key in kept for key in ("q", "owner", "client_type", "tag", "source", "company")
        ),
        "next_url": next_url,
        "first_url": f"?{urlencode(kept)}" if params.get("cursor") else "",
        "owners": selectors.users_owner_filter(user=request.user),
        "type_choices": pages.type_choices,
        "source_choices": Source.choices,
        "error": error,
        "pages": pages,
        "entity": pages.entity,
        "other_lists": [
            (f"customers:{kind.entity}_list", kind.plural)
            for kind in KINDS.values()
            if kind is not pages.kind
        ],
    }
    return render(request, "customers/customer_list.html", context, status=status)


# --- card ------------------------------------------------------------------------------------


def _custom_values(record: Record, definitions: list[CustomField]) -> list[tuple[str, str, str]]:
    """Custom values in display order: label, text and field type (retired fields last)."""
    values = dict(record.custom or {})
    shown = []
    for definition in definitions:
        value = values.pop(definition.key, None)
        if value in (None, "", []):
            continue
        if definition.field_type == CustomFieldType.BOOLEAN:
            value = _("Yes") if value else _("No")
        shown.append((definition.label, value, definition.field_type))
    shown += [(key, value, "") for key, value in values.items() if value not in (None, "", [])]
    return [
        (label, ", ".join(map(str, value)) if isinstance(value, list) else str(value), kind)
        for label, value, kind in shown
    ]


@login_required
def customer_detail(request: SignedInRequest, pages: Pages[Any], pk: int) -> HttpResponse:
    """The card: every field, completeness, people or places of work, and the timeline."""
    record = selectors.customer_card(kind=pages.kind, user=request.user, pk=pk)
    definitions = selectors.custom_fields_active(entity=pages.entity)
    context = {
        "record": record,
        "entity": pages.entity,
        "pages": pages,
        "timeline_page": selectors.customer_timeline(
            record=record, user=request.user, limit=TIMELINE_PAGE_SIZE
        ),
        "completeness": selectors.customer_completeness(record, definitions=definitions),
        "custom_values": _custom_values(record, definitions),
        "can_edit": CUSTOMER.may_change(request.user, record),
        "tasks": tasks_panel(user=request.user, subject=record),
        "card_panels": [
            shown
            for panel in registry.panels(pages.entity)
            if (shown := panel.build(request, record))
        ],
    }
    return render(request, "customers/customer_detail.html", context)


# --- create and edit -------------------------------------------------------------------------


def _form_context(
    request: SignedInRequest, pages: Pages[Any], form: CustomerForm, **extra: Any
) -> dict[str, Any]:
    candidates = extra.pop("candidates", None) or []
    context = {
        "form": form,
        "entity": pages.entity,
        "pages": pages,
        "record": form.record,
        "candidates": candidates,
        "has_exact": any(candidate.is_exact for candidate in candidates),
        "is_create": form.record is None,
        "allow_duplicate": wants(request.POST, "allow_duplicate"),
        "confirm_near": wants(request.POST, "confirm_near"),
        "label_choices": ContactPointLabel.choices,
        "messenger_choices": Messenger.choices,
        "address_kind_choices": AddressKind.choices,
        "check_url": f"customers:{pages.entity}_duplicate_check",
        "error": "",
        **extra,
    }
    if "form_links" in pages.fragments:
        chosen = [
            number
            for row in form.groups["employments"].rows
            if (number := parse_id(row.values.get("company_id")))
        ]
        context["company_choices"] = selectors.company_choices(
            user=request.user, include_ids=chosen
        )
    return context


def _make_form(
    request: SignedInRequest, pages: Pages[Any], record: Record | None, **kwargs: Any
) -> CustomerForm:
    owners = selectors.users_assignable(
        actor=request.user, include_id=record.owner_id if record else None
    )
    definitions = selectors.custom_fields_active(entity=pages.entity)
    post = request.POST if request.method == "POST" else None
    return pages.form_class(
        post=post, record=record, owners=owners, definitions=definitions, **kwargs
    )


def _save(
    request: SignedInRequest, pages: Pages[Any], form: CustomerForm, record: Record | None
) -> HttpResponse:
    """Hand the posted form to the create or update service; re-render what it refuses."""
    data = form.data_for_service()
    allow_duplicate = wants(request.POST, "allow_duplicate")
    if record is None and not allow_duplicate and not wants(request.POST, "confirm_near"):
        candidates = pages.kind.duplicates_find(
            actor=request.user, **pages.check_input(request.POST)
        )
        if candidates and not any(candidate.is_exact for candidate in candidates):
            context = _form_context(
                request,
                pages,
                form,
                candidates=candidates,
                error=_("Similar records exist. Check them before saving."),
            )
            return render(request, FORM_TEMPLATE, context, status=409)
    try:
        if record is None:
            saved = services.customer_create(
                kind=pages.kind, actor=request.user, data=data, allow_duplicate=allow_duplicate
            )
        else:
            saved = services.customer_update(
                kind=pages.kind,
                actor=request.user,
                record=record,
                data=data,
                allow_duplicate=allow_duplicate,
            )
    except services.DuplicateFound as exc:
        form.show_errors(exc.field_errors)
        context = _form_context(request, pages, form, candidates=exc.candidates, error=exc.message)
        return render(request, FORM_TEMPLATE, context, status=409)
    except errors.ValidationFailed as exc:
        form.show_errors(exc.field_errors)
        # Keep the live duplicate warning on screen while the user fixes the fields.
        context = _form_context(
            request,
            pages,
            form,
            candidates=pages.kind.duplicates_find(
                actor=request.user, **pages.check_input(request.POST)
            ),
            error=exc.message or _("Please correct the marked fields."),
        )
        return render(request, FORM_TEMPLATE, context, status=422)
    except errors.NotFound:
        raise Http404 from None
    except errors.PermissionDenied as exc:
        raise PermissionDenied(exc.message) from None
    messages.success(request, _("Saved."))
    return redirect(pages.detail_url, pk=saved.pk)


@login_required
@require_http_methods(["GET", "POST"])
def customer_form(
    request: SignedInRequest, pages: Pages[Any], pk: int | None = None
) -> HttpResponse:
    """The form of a new record (no ``pk``) or of an existing one: shown, then saved."""
    if pk is None:
        _check_writable(request, None)
        record = None
        new_form = pages.new_form(request)
        form = _make_form(
            request,
            pages,
            None,
            initial={"owner_id": str(request.user.pk), **new_form.get("initial", {})},
            **{key: value for key, value in new_form.items() if key != "initial"},
        )
    else:
        record = pages.get(request, pk)
        _check_writable(request, record)
        form = _make_form(request, pages, record)
    if request.method == "POST":
        return _save(request, pages, form, record)
    return render(request, FORM_TEMPLATE, _form_context(request, pages, form))


# --- duplicate check and sharing -------------------------------------------------------------


@login_required
@require_POST
def customer_duplicate_check(request: SignedInRequest, pages: Pages[Any]) -> HttpResponse:
    """The live warning under a half-typed form: records it would duplicate, if any."""
    _check_writable(request, None)
    candidates = pages.kind.duplicates_find(actor=request.user, **pages.check_input(request.POST))
    context = {
        "candidates": candidates,
        "has_exact": any(candidate.is_exact for candidate in candidates),
    }
    return render(request, "customers/partials/duplicate_panel.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def customer_share(request: SignedInRequest, pages: Pages[Any], pk: int) -> HttpResponse:
    """Choose the users who see the record besides its responsible and their heads."""
    record = pages.get(request, pk)
    _check_writable(request, record)
    users = selectors.users_shareable(actor=request.user)
    status, error = 200, ""
    if request.method == "POST":
        form = ShareForm(request.POST, users=users)
        try:
            services.customer_share(actor=request.user, record=record, user_ids=form.chosen_ids())
        except errors.ValidationFailed as exc:
            status, error = 422, "; ".join(m for ms in exc.field_errors.values() for m in ms)
        else:
            messages.success(request, _("Sharing saved."))
            return redirect(pages.detail_url, pk=record.pk)
    else:
        form = ShareForm(
            initial={"user_ids": [str(user.pk) for user in record.shared_with.all()]},
            users=users,
        )
    context = {"form": form, "record": record, "entity": pages.entity, "error": error}
    return render(request, "customers/share_form.html", context, status=status)
