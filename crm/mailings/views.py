"""Pages of segments (the list, the editor with its live count and recipients), the consent
panel of the contact card, and the public one-click unsubscribe page.

The unsubscribe page needs no session: GET shows a confirm button, POST (the button, or a
mail client's RFC 8058 one-click POST) unsubscribes. Only that view is exempt from CSRF;
the signed token is its proof. Requests are counted per client address (429 over
``CRM_UNSUBSCRIBE_RATE_LIMIT`` a minute).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from crm.accounts.http import SignedInRequest
from crm.core.counters import counter_increment
from crm.core.errors import ValidationFailed
from crm.core.forms import apply_domain_errors, domain_errors
from crm.core.http import address_bucket, client_address
from crm.core.permissions import can_write
from crm.customers.choices import ContactPointKind
from crm.customers.models import Contact
from crm.customers.permissions import CUSTOMER
from crm.customers.selectors import contact_get
from crm.mailings import selectors, services
from crm.mailings.forms import ConsentForm, SegmentForm
from crm.mailings.models import Segment
from crm.mailings.permissions import SEGMENT, may_send_mailings, may_share
from crm.mailings.spec import SegmentSpec, spec_clean
from crm.mailings.unsubscribe import unsubscribe_point

RECIPIENTS_PAGE = 20
RATE_WINDOW_SECONDS = 60


# --- segments ----------------------------------------------------------------------------------


@login_required
@require_GET
def segment_list(request: SignedInRequest) -> HttpResponse:
    """The segments the user sees: shared ones and their own."""
    segments = selectors.segment_list(user=request.user)
    for segment in segments:
        segment.may_change = SEGMENT.may_change(request.user, segment)  # type: ignore[attr-defined]
    return render(
        request,
        "mailings/segment_list.html",
        {
            "segments": segments,
            "may_create": can_write(request.user),
            "may_send": may_send_mailings(request.user),
        },
    )


def _editor(
    request: SignedInRequest, form: SegmentForm, segment: Segment | None, status: int = 200
) -> HttpResponse:
    may_change = segment is None or SEGMENT.may_change(request.user, segment)
    context = {
        "form": form,
        "segment": segment,
        "may_change": may_change,
        "may_share": may_share(request.user),
        "may_send": may_send_mailings(request.user),
        "custom_names": form.custom_field_names(),
    }
    return render(request, "mailings/segment_form.html", context, status=status)


@login_required
@require_http_methods(["GET", "POST"])
@domain_errors
def segment_edit(request: SignedInRequest, pk: int | None = None) -> HttpResponse:
    """Create (``pk`` None) or change a segment; the count beside the filters follows them."""
    segment = selectors.segment_get(user=request.user, pk=pk) if pk is not None else None
    if request.method != "POST":
        initial = (
            SegmentForm.initial_of(segment.name, segment.is_shared, segment.spec)
            if segment
            else SegmentForm.initial_of("", False, _spec_of_query(request))
        )
        return _editor(request, SegmentForm(initial=initial), segment)
    form = SegmentForm(request.POST)
    if form.is_valid():
        try:
            if segment is None:
                segment = services.segment_create(
                    actor=request.user,
                    name=form.cleaned_data["name"],
                    spec=form.spec(),
                    is_shared=form.cleaned_data["is_shared"],
                )
            else:
                segment = services.segment_update(
                    actor=request.user,
                    segment=segment,
                    name=form.cleaned_data["name"],
                    spec=form.spec(),
                    is_shared=form.cleaned_data["is_shared"],
                )
        except ValidationFailed as error:
            apply_domain_errors(form, error)
        else:
            messages.success(request, _("The segment is saved."))
            return redirect("mailings:segment_edit", pk=segment.pk)
    return _editor(request, form, segment, status=422)


def _spec_of_query(request: HttpRequest) -> dict[str, Any]:
    """A new segment opened from the contact list keeps the list's filters."""
    spec: dict[str, Any] = {}
    for key in ("q", "client_type", "source"):
        if value := str(request.GET.get(key) or "")[:100]:
            spec[key] = value
    if tag := str(request.GET.get("tag") or "")[:50]:
        spec["tags"] = [tag]
    for key in ("owner", "company"):
        value = str(request.GET.get(key) or "")
        if value.isdigit() and len(value) < 18:
            spec[key] = int(value)
    return spec


@login_required
@require_GET
def segment_count(request: SignedInRequest) -> HttpResponse:
    """The live count and the first recipients of the editor's filters (an HTMX fragment;
    ``cursor`` asks for the next page of recipients)."""
    form = SegmentForm(request.GET)
    spec: SegmentSpec | None = None
    error = ""
    if form.is_valid():
        try:
            spec = spec_clean(form.spec())
        except ValidationFailed as refusal:
            error = "; ".join(
                message for messages_ in refusal.field_errors.values() for message in messages_
            )
    else:
        error = "; ".join(
            " ".join(str(message) for message in messages_) for messages_ in form.errors.values()
        )
    if spec is None:
        return render(request, "mailings/partials/segment_count.html", {"error": error}, status=422)
    cursor = str(request.GET.get("cursor") or "")[:1000] or None
    try:
        page = selectors.segment_recipients(
            user=request.user, spec=spec, cursor=cursor, limit=RECIPIENTS_PAGE
        )
    except ValidationFailed:
        return render(
            request,
            "mailings/partials/segment_count.html",
            {"error": _("The list changed; start again.")},
            status=422,
        )
    query = request.GET.copy()
    query.pop("cursor", None)
    context: dict[str, Any] = {"page": page, "query": query.urlencode()}
    if cursor:
        return render(request, "mailings/partials/segment_recipient_rows.html", context)
    context["count"] = selectors.segment_count(user=request.user, spec=spec)
    return render(request, "mailings/partials/segment_count.html", context)


@login_required
@require_POST
@domain_errors
def segment_delete(request: SignedInRequest, pk: int) -> HttpResponse:
    """Delete a segment the user may change."""
    segment = selectors.segment_get(user=request.user, pk=pk)
    services.segment_delete(actor=request.user, segment=segment)
    messages.success(request, _("The segment is deleted."))
    return redirect("mailings:segment_list")


# --- consent on the contact card ----------------------------------------------------------------


def _emails(contact: Contact) -> list[Any]:
    return [point for point in contact.points.all() if point.kind == ContactPointKind.EMAIL]


def consent_context(
    request: SignedInRequest, contact: Contact, form: ConsentForm | None = None
) -> dict[str, Any]:
    """What the consent panel shows: the consent, the addresses and, for a user who may
    change the contact, the form."""
    emails = _emails(contact)
    may_edit = CUSTOMER.may_change(request.user, contact)
    if form is None and may_edit:
        moment = contact.consent_at
        form = ConsentForm(
            emails=emails,
            initial={
                "consent_given": moment is not None,
                "consent_on": timezone.localdate(moment) if moment else None,
                "consent_source": contact.consent_source,
                "unsubscribed": [p.pk for p in emails if p.unsubscribed_at],
            },
            auto_id="id_consent_%s",
        )
    return {"contact": contact, "emails": emails, "form": form, "may_edit": may_edit}


@login_required
@require_POST
@domain_errors
def consent_edit(request: SignedInRequest, pk: int) -> HttpResponse:
    """Save the consent form of a contact's card (the panel again for HTMX)."""
    contact = contact_get(user=request.user, pk=pk)
    emails = _emails(contact)
    form: ConsentForm | None = ConsentForm(request.POST, emails=emails, auto_id="id_consent_%s")
    assert form is not None
    status = 200
    if form.is_valid():
        data = form.cleaned_data
        moment = None
        if data["consent_given"]:
            day = data["consent_on"] or timezone.localdate()
            moment = (
                timezone.now()
                if day == timezone.localdate()
                else timezone.make_aware(dt.datetime.combine(day, dt.time.min))
            )
        try:
            contact = services.contact_consent_set(
                actor=request.user,
                contact=contact,
                consent_at=moment,
                consent_source=data["consent_source"] or ("manual" if moment else ""),
                unsubscribed=set(data["unsubscribed"]),
            )
        except ValidationFailed as error:
            apply_domain_errors(form, error)
            status = 422
        else:
            if not request.htmx:
                messages.success(request, _("Consent to mailings is saved."))
                return redirect("customers:contact_detail", pk=contact.pk)
            contact = contact_get(user=request.user, pk=contact.pk)
            form = None
    else:
        status = 422
    context = consent_context(request, contact, form)
    context["saved"] = status == 200
    return render(
        request, "mailings/partials/consent_panel.html", {"panel": context}, status=status
    )


# --- public: one-click unsubscribe ---------------------------------------------------------------


def _rate_limited(request: HttpRequest) -> bool:
    address = client_address(request)
    if not address:
        return False
    key = "unsubscribe-rate:" + hashlib.sha256(address_bucket(address).encode()).hexdigest()[:32]
    count = counter_increment(key=key, window_seconds=RATE_WINDOW_SECONDS)
    return count > settings.CRM_UNSUBSCRIBE_RATE_LIMIT


def _public(request: HttpRequest, status: int, **context: Any) -> HttpResponse:
    return render(request, "mailings/public/unsubscribe.html", context, status=status)


@csrf_exempt
@require_http_methods(["GET", "POST"])
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    """GET: a confirm button; POST: unsubscribe the address at once (RFC 8058 one-click
    too). A bad token answers 404 whatever the reason, naming no address."""
    if _rate_limited(request):
        response = _public(request, 429, message=_("Too many requests; try again in a minute."))
        response["Retry-After"] = str(RATE_WINDOW_SECONDS)
        return response
    if request.method == "GET":
        if unsubscribe_point(token) is None:
            return _public(request, 404, message=_("This unsubscribe link is not valid."))
        return _public(request, 200, confirm=True, token=token)
    point = services.contact_point_unsubscribe(token=token)
    if point is None:
        return _public(request, 404, message=_("This unsubscribe link is not valid."))
    return _public(
        request,
        200,
        done=True,
        message=_("You are unsubscribed and will receive no more mailings."),
    )
