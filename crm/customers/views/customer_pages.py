"""The pages contacts and companies share: list, card, form, duplicate check and sharing.

Each page is a thin adapter: it parses the request, calls one selector or service and
renders. ``contacts.py`` and ``companies.py`` describe their entity with a ``Pages`` object
and expose plain view functions built on the helpers here.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import urlencode
from django.utils.translation import gettext as _

from crm.accounts.http import SignedInRequest
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
from crm.customers.models import Company, Contact, CustomField
from crm.customers.permissions import CUSTOMER
from crm.planner.selectors import tasks_panel

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

LIST_LIMIT = 50
Record = Contact | Company
RecordT = TypeVar("RecordT", Contact, Company)


@dataclass(frozen=True)
class Pages(Generic[RecordT]):
    """What differs between the contact pages and the company pages."""

    entity: str
    form_class: type[CustomerForm]
    get: Callable[..., RecordT]  # the whole record: edit form, sharing
    card: Callable[..., RecordT]  # what the card shows
    table: Callable[..., Page[Any]]  # rows of the list page
    timeline: Callable[[RecordT, Any], Page[Any]]
    create: Callable[..., RecordT]
    update: Callable[..., RecordT]
    duplicates_find: Callable[..., list[services.DuplicateCandidate]]
    check_input: Callable[[Any], dict[str, Any]]
    type_choices: Sequence[tuple[str, StrOrPromise]]

    @property
    def detail_url(self) -> str:
        return f"customers:{self.entity}_detail"

    def template(self, page: str) -> str:
        return f"customers/{self.entity}_{page}.html"


def _require_writer(request: SignedInRequest) -> None:
    if not request.user.can_write:
        raise PermissionDenied(_("Your role may not change customer data."))


def _check_writable(request: SignedInRequest, record: Record) -> None:
    try:
        services.customer_check_writable(actor=request.user, record=record)
    except errors.NotFound:
        raise Http404 from None
    except errors.PermissionDenied as exc:
        raise PermissionDenied(exc.message) from None


# --- list ------------------------------------------------------------------------------------


def list_page(request: SignedInRequest, pages: Pages[Any]) -> HttpResponse:
    """A page of records under the filters in the query string, with a "next page" link."""
    params = request.GET
    filters = selectors.CustomerFilters.from_params(params)
    if pages.entity != "contact":
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
    }
    return render(request, pages.template("list"), context, status=status)


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


def detail_page(request: SignedInRequest, pages: Pages[Any], pk: int) -> HttpResponse:
    """The card: every field, completeness, people or places of work, and the timeline."""
    record = pages.card(user=request.user, pk=pk)
    definitions = selectors.custom_fields_active(entity=pages.entity)
    context = {
        "record": record,
        "entity": pages.entity,
        "timeline_page": pages.timeline(record, request.user),
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
    return render(request, pages.template("detail"), context)


# --- create and edit -------------------------------------------------------------------------


def _form_context(
    request: SignedInRequest, pages: Pages[Any], form: CustomerForm, **extra: Any
) -> dict[str, Any]:
    candidates = extra.pop("candidates", None) or []
    context = {
        "form": form,
        "entity": pages.entity,
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
    if pages.entity == "contact":
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
        candidates = pages.duplicates_find(actor=request.user, **pages.check_input(request.POST))
        if candidates and not any(candidate.is_exact for candidate in candidates):
            context = _form_context(
                request,
                pages,
                form,
                candidates=candidates,
                error=_("Similar records exist. Check them before saving."),
            )
            return render(request, pages.template("form"), context, status=409)
    try:
        if record is None:
            saved = pages.create(actor=request.user, data=data, allow_duplicate=allow_duplicate)
        else:
            saved = pages.update(
                actor=request.user, record=record, data=data, allow_duplicate=allow_duplicate
            )
    except services.DuplicateFound as exc:
        form.show_errors(exc.field_errors)
        context = _form_context(request, pages, form, candidates=exc.candidates, error=exc.message)
        return render(request, pages.template("form"), context, status=409)
    except errors.ValidationFailed as exc:
        form.show_errors(exc.field_errors)
        # Keep the live duplicate warning on screen while the user fixes the fields.
        context = _form_context(
            request,
            pages,
            form,
            candidates=pages.duplicates_find(actor=request.user, **pages.check_input(request.POST)),
            error=exc.message or _("Please correct the marked fields."),
        )
        return render(request, pages.template("form"), context, status=422)
    except errors.NotFound:
        raise Http404 from None
    except errors.PermissionDenied as exc:
        raise PermissionDenied(exc.message) from None
    messages.success(request, _("Saved."))
    return redirect(pages.detail_url, pk=saved.pk)


def create_page(
    request: SignedInRequest,
    pages: Pages[Any],
    *,
    initial: dict[str, Any] | None = None,
    **kwargs: Any,
) -> HttpResponse:
    _require_writer(request)
    form = _make_form(
        request,
        pages,
        None,
        initial={"owner_id": str(request.user.pk), **(initial or {})},
        **kwargs,
    )
    if request.method == "POST":
        return _save(request, pages, form, None)
    return render(request, pages.template("form"), _form_context(request, pages, form))


def edit_page(request: SignedInRequest, pages: Pages[Any], pk: int) -> HttpResponse:
    record = pages.get(user=request.user, pk=pk)
    _check_writable(request, record)
    form = _make_form(request, pages, record)
    if request.method == "POST":
        return _save(request, pages, form, record)
    return render(request, pages.template("form"), _form_context(request, pages, form))


# --- duplicate check and sharing -------------------------------------------------------------


def duplicate_check(request: SignedInRequest, pages: Pages[Any]) -> HttpResponse:
    """The live warning under a half-typed form: records it would duplicate, if any."""
    _require_writer(request)
    candidates = pages.duplicates_find(actor=request.user, **pages.check_input(request.POST))
    context = {
        "candidates": candidates,
        "has_exact": any(candidate.is_exact for candidate in candidates),
    }
    return render(request, "customers/partials/duplicate_panel.html", context)


def share_page(request: SignedInRequest, pages: Pages[Any], pk: int) -> HttpResponse:
    """Choose the users who see the record besides its responsible and their heads."""
    record = pages.get(user=request.user, pk=pk)
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
