"""The log of incoming requests: every arrival on every channel as it was stored, its
processing status (with the error of a failed one) and the lead it became; a failed or
waiting one can be processed again.

Administrators only (others 403, anonymous users go to the sign-in page). The list is
keyset-paginated and costs the same number of queries for any number of rows.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import URLPattern, path, reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from crm.accounts.http import SignedInRequest
from crm.core import errors
from crm.core.forms import domain_errors
from crm.core.pagination import Page
from crm.leads import selectors_admin as selectors
from crm.leads.choices import Channel, InboundStatus
from crm.leads.models import Inbound
from crm.leads.services import rules as services

SUMMARY_KEYS = ("name", "company", "phone", "email", "from_number", "client_phone", "event")
RETRYABLE = (InboundStatus.FAILED, InboundStatus.PENDING)


def _summary(inbound: Inbound) -> str:
    """One line saying who wrote or called, from the stored payload or message headers."""
    meta = inbound.meta or {}
    if meta.get("from") or meta.get("subject"):
        parts = [str(meta.get("from") or ""), str(meta.get("subject") or "")]
    else:
        payload = inbound.payload if isinstance(inbound.payload, dict) else {}
        parts = [str(payload.get(key) or "") for key in SUMMARY_KEYS]
    text = " · ".join(part for part in parts if part.strip())
    return text[:160] + ("…" if len(text) > 160 else "")


def _pretty(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, indent=2, sort_keys=True)[:20000]


@login_required
@domain_errors
def inbound_list(request: SignedInRequest) -> HttpResponse:
    filters = selectors.InboundFilters.from_params(request.GET)
    status = 200
    try:
        page = selectors.inbound_page(
            actor=request.user, filters=filters, cursor=request.GET.get("cursor") or None
        )
    except errors.ValidationFailed:
        page, status = Page([], None), 400
    for inbound in page.items:
        inbound.summary = _summary(inbound)  # type: ignore[attr-defined]
        inbound.payload_text = _pretty(inbound.payload)  # type: ignore[attr-defined]
        inbound.meta_text = _pretty(inbound.meta) if inbound.meta else ""  # type: ignore[attr-defined]
        inbound.can_retry = inbound.status in RETRYABLE  # type: ignore[attr-defined]
    kept = {key: value for key, value in request.GET.items() if key != "cursor" and value}
    return render(
        request,
        "leads/admin/inbound_list.html",
        {
            "page": page,
            "filters": filters,
            "statuses": InboundStatus.choices,
            "channels": Channel.choices,
            "next_url": f"?{urlencode({**kept, 'cursor': page.next_cursor})}"
            if page.next_cursor
            else "",
            "first_url": f"?{urlencode(kept)}" if request.GET.get("cursor") else "",
            "here": request.get_full_path(),
        },
        status=status,
    )


@login_required
@domain_errors
@require_POST
def inbound_retry(request: SignedInRequest, pk: int) -> HttpResponse:
    """Process a failed or waiting request again and say how it went."""
    inbound = selectors.inbound_get(actor=request.user, pk=pk)
    try:
        lead = services.inbound_retry(actor=request.user, inbound=inbound)
    except errors.Conflict as error:
        messages.error(request, error.message)
    else:
        inbound.refresh_from_db()
        if lead is not None:
            messages.success(
                request,
                _("Request #%(id)s processed: lead “%(lead)s”.")
                % {"id": inbound.pk, "lead": lead.title},
            )
        elif inbound.status == InboundStatus.REJECTED:
            messages.info(request, _("Request #%(id)s was rejected.") % {"id": inbound.pk})
        else:
            messages.error(
                request,
                _("Request #%(id)s failed again: %(error)s")
                % {"id": inbound.pk, "error": inbound.error or "—"},
            )
    target = request.POST.get("next") or ""
    if not url_has_allowed_host_and_scheme(
        target, {request.get_host()}, require_https=request.is_secure()
    ):
        target = reverse("leads:inbound_list")
    return HttpResponseRedirect(f"{target}#inbound-{inbound.pk}" if "#" not in target else target)


urlpatterns: list[URLPattern] = [
    path("inbound/", inbound_list, name="inbound_list"),
    path("inbound/<int:pk>/retry/", inbound_retry, name="inbound_retry"),
]
