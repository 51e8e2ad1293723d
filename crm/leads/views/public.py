"""The public end of web forms: ``/f/<key>`` shows the hosted form (GET) and takes
submissions (POST) from the company's site, with or without JavaScript.

No session, no CSRF token (the site is another origin); instead: the form's key, CORS for
the listed sites only, a body size limit (413), a per-address rate limit (429), and the bot
checks of ``services.webforms``.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import URLPattern, path
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt

from crm.core.csp import csp_origin
from crm.core.errors import ValidationFailed
from crm.core.http import address_bucket, client_address
from crm.core.text import raw_as_storable, without_controls
from crm.leads.models import WebForm
from crm.leads.services import webforms

logger = logging.getLogger("crm.leads")


def _origin_allowed(form: WebForm, origin: str) -> bool:
    return origin.rstrip("/").lower() in form.allowed_origins


def _cors(response: HttpResponse, form: WebForm, origin: str) -> HttpResponse:
    if origin and _origin_allowed(form, origin):
        response["Access-Control-Allow-Origin"] = origin
        response["Vary"] = "Origin"
        response["Access-Control-Allow-Methods"] = "POST, OPTIONS"
        response["Access-Control-Allow-Headers"] = "Content-Type, Accept"
        response["Access-Control-Max-Age"] = "86400"
    return response


def _wants_json(request: HttpRequest) -> bool:
    accept = request.headers.get("Accept", "")
    return "application/json" in accept and "text/html" not in accept


def _answer(
    request: HttpRequest,
    form: WebForm,
    origin: str,
    status: int,
    payload: dict[str, Any],
    template: str = "leads/public/message.html",
) -> HttpResponse:
    if _wants_json(request) or request.content_type == "application/json":
        return _cors(
            JsonResponse(payload, status=status, json_dumps_params={"ensure_ascii": False}),
            form,
            origin,
        )
    return _cors(render(request, template, {"form": form, **payload}, status=status), form, origin)


@csrf_exempt
def form_endpoint(request: HttpRequest, key: str) -> HttpResponse:
    form = get_object_or_404(WebForm, key=key, is_active=True)
    if form.redirect_url:
        # The hosted page's form is redirected to the thank-you page on the company's site;
        # the browser checks that redirect against the page's CSP form-action.
        request.csp_extra = {"form-action": csp_origin(form.redirect_url)}  # type: ignore[attr-defined]
    origin = request.headers.get("Origin", "")
    if request.method == "OPTIONS":
        if not _origin_allowed(form, origin):
            return HttpResponse(status=403)
        return _cors(HttpResponse(status=204), form, origin)
    if request.method == "GET":
        return render(
            request,
            "leads/public/form.html",
            {"form": form, "started": webforms.started_token(), "honeypot": webforms.HONEYPOT},
        )
    if request.method != "POST":
        return HttpResponse(status=405, headers={"Allow": "GET, POST, OPTIONS"})
    if (
        origin
        and origin != "null"
        and not _origin_allowed(form, origin)
        and not _same_site(request, origin)
    ):
        return _answer(
            request,
            form,
            "",
            403,
            {
                "detail": _("This site may not send this form."),
                "errors": {"origin": [_("Not allowed.")]},
            },
        )
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > webforms.MAX_BODY_BYTES:
        return _answer(
            request,
            form,
            origin,
            413,
            {"detail": _("The form is too large."), "errors": {"body": [_("At most 64 KB.")]}},
        )
    address = client_address(request)
    if webforms.rate_limited(address_bucket(address) if address else None):
        response = _answer(
            request,
            form,
            origin,
            429,
            {"detail": _("Too many submissions; try again in a minute."), "errors": {}},
        )
        response["Retry-After"] = str(webforms.RATE_WINDOW_SECONDS)
        return response
    submission = _read(request)
    if submission is None:
        return _answer(
            request,
            form,
            origin,
            400,
            {
                "detail": _("Send the form as a form or as a JSON object."),
                "errors": {"body": [_("Malformed.")]},
            },
        )
    data, raw = submission
    verdict = webforms.bot_check(form, data)
    try:
        values = webforms.submission_values(form, data)
        if not verdict.is_bot:
            webforms.submission_validate(form, values)
    except ValidationFailed as error:
        return _answer(
            request,
            form,
            origin,
            422,
            {"detail": error.message, "errors": error.field_errors},
            template="leads/public/form.html",
        )
    meta = {
        "ip": address or "",
        "user_agent": without_controls(request.headers.get("User-Agent", "")[:300]),
        "origin": without_controls(origin[:200]),
        "referer": without_controls(request.headers.get("Referer", "")[:500]),
    }
    if verdict.is_bot:
        meta["bot"] = verdict.reason
        logger.info("web form %s: bot submission (%s) from %s", form.key, verdict.reason, address)
    webforms.submission_store(form=form, values=values, raw=raw, meta=meta, is_bot=verdict.is_bot)
    if form.redirect_url and not _wants_json(request):
        return redirect(form.redirect_url)
    message = form.thank_you_text or _("Thank you! We will contact you soon.")
    return _answer(request, form, origin, 200, {"ok": True, "detail": message})


def _same_site(request: HttpRequest, origin: str) -> bool:
    """The hosted form page posts to itself."""
    return origin.rstrip("/").lower() == request.build_absolute_uri("/").rstrip("/").lower()


def _read(request: HttpRequest) -> tuple[dict[str, Any], str] | None:
    """The submitted fields and the body as storable text; None when the body is not a
    form or a JSON object (malformed, or nested deeper than the parser goes)."""
    try:
        # Read first: a multipart body is then parsed from this copy and stays available.
        body = request.body
    except RequestDataTooBig:
        return None
    raw = raw_as_storable(body)
    if request.content_type == "application/json":
        try:
            data = json.loads(body or b"{}")
        except (ValueError, UnicodeDecodeError, RecursionError):
            return None
        return (data, raw) if isinstance(data, dict) else None
    try:
        fields = {
            key: values if len(values) > 1 else values[0] for key, values in request.POST.lists()
        }
    except Exception:  # a broken multipart body
        return None
    return fields, raw


urlpatterns: list[URLPattern] = [path("<slug:key>", form_endpoint, name="webform_public")]
