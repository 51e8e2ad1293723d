"""Machine endpoints of the lead channels: raw e-mail from a mail provider's inbound
webhook, and call events from a PBX (generic JSON) or from Zadarma.

No session and no CSRF token: each endpoint is authenticated by its shared secret,
compared in constant time, and answers JSON ``{"detail", "errors": {field: [...]}}`` on
refusal: 401 bad or missing secret, 400 malformed body, 413 too large, 415 wrong content
type, 422 a bad field (named), 503 when no secret is configured. What is accepted is stored
before it is processed (``Inbound``), so a 2xx answer means it will not be lost; a retry of
the same message or event stores nothing new and answers the first row.
"""

from __future__ import annotations

import json
import logging
import re

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse, QueryDict
from django.urls import URLPattern, path
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from crm.core.errors import ValidationFailed
from crm.core.http import client_address
from crm.core.text import raw_as_storable, without_controls
from crm.leads.services import email_channel, telephony

security_log = logging.getLogger("crm.security")

SECRET_HEADER = "X-CRM-Secret"  # noqa: S105 (a header name)
SIGNATURE_HEADER = "X-CRM-Signature"
EMAIL_CONTENT_TYPES = ("message/rfc822", "text/plain")
ZADARMA_ECHO = re.compile(r"[A-Za-z0-9_.:-]{1,200}")


def _answer(status: int, detail: str, errors: dict[str, list[str]] | None = None) -> JsonResponse:
    return JsonResponse(
        {"detail": detail, "errors": errors or {}},
        status=status,
        json_dumps_params={"ensure_ascii": False},
    )


def _too_large(limit: int) -> JsonResponse:
    return _answer(
        413,
        _("The body is too large."),
        {"body": [_("At most %(n)d KB.") % {"n": limit // 1024}]},
    )


def _read_body(request: HttpRequest, limit: int) -> bytes | None:
    """The body, or None when it is over ``limit`` bytes (read from the stream, so the
    site-wide request size limit does not apply to a 10 MB e-mail)."""
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > limit:
        return None
    body = request.read(limit + 1)
    return None if len(body) > limit else body


def _unauthenticated(request: HttpRequest, endpoint: str) -> JsonResponse:
    security_log.warning("%s_unauthenticated address=%s", endpoint, client_address(request) or "")
    return _answer(401, _("Bad or missing secret."))


def _accepted(inbound_id: int, created: bool) -> JsonResponse:
    return JsonResponse(
        {"ok": True, "inbound_id": inbound_id, "created": created}, status=202 if created else 200
    )


@csrf_exempt
@require_POST
def inbound_email(request: HttpRequest) -> HttpResponse:
    """A raw RFC 822 message (``message/rfc822`` or ``text/plain``) as the body, with the
    ``X-CRM-Secret`` header. 202 stored, 200 already stored (same Message-ID)."""
    secret = settings.CRM_LEADS_INBOUND_EMAIL_SECRET
    if not secret:
        return _answer(503, _("The e-mail endpoint is not configured."))
    if not telephony.secret_valid(given=request.headers.get(SECRET_HEADER, ""), secret=secret):
        return _unauthenticated(request, "inbound_email")
    if request.content_type not in EMAIL_CONTENT_TYPES:
        return _answer(
            415,
            _("Send the message as message/rfc822 or text/plain."),
            {"content_type": [_("Unsupported.")]},
        )
    body = _read_body(request, email_channel.MAX_MESSAGE_BYTES)
    if body is None:
        return _too_large(email_channel.MAX_MESSAGE_BYTES)
    try:
        email_channel.email_check(body)
    except ValidationFailed as error:
        return _answer(400, error.message, error.field_errors)
    inbound, created = email_channel.email_store(
        raw=body, source="webhook", meta={"ip": client_address(request) or ""}
    )
    return _accepted(inbound.pk, created)


def _telephony_authenticated(request: HttpRequest, body: bytes, secret: str) -> bool:
    """A signature, when given, must be right even if a secret header is also sent."""
    signature = request.headers.get(SIGNATURE_HEADER)
    if signature is not None:
        return telephony.signature_valid(body=body, given=signature, secret=secret)
    given = request.headers.get(SECRET_HEADER)
    return given is not None and telephony.secret_valid(given=given, secret=secret)


@csrf_exempt
@require_POST
def inbound_telephony(request: HttpRequest) -> HttpResponse:
    """One call event in the generic JSON format (see ``services.telephony``), signed with
    ``X-CRM-Signature`` or carrying ``X-CRM-Secret``. 202 stored, 200 a repeat."""
    secret = settings.CRM_TELEPHONY_SECRET
    if not secret:
        return _answer(503, _("The telephony endpoint is not configured."))
    body = _read_body(request, telephony.MAX_BODY_BYTES)
    if body is None:
        return _too_large(telephony.MAX_BODY_BYTES)
    if not _telephony_authenticated(request, body, secret):
        return _unauthenticated(request, "inbound_telephony")
    try:
        text = body.decode("utf-8")
        data = json.loads(text)
    except (UnicodeDecodeError, ValueError, RecursionError):
        data = None
    if not isinstance(data, dict):
        return _answer(400, _("The body is not a JSON object."), {"body": [_("Malformed.")]})
    try:
        event = telephony.call_event_clean(data)
    except ValidationFailed as error:
        return _answer(422, error.message, error.field_errors)
    inbound, created = telephony.call_event_store(
        event=event, raw=text, meta={"ip": client_address(request) or ""}
    )
    return _accepted(inbound.pk, created)


@csrf_exempt
@require_http_methods(["GET", "POST"])
def inbound_zadarma(request: HttpRequest) -> HttpResponse:
    """Zadarma's call notifications (form posts signed in ``Signature``); a GET with
    ``zd_echo`` is Zadarma checking the address and gets the value back."""
    if request.method == "GET":
        echo = request.GET.get("zd_echo", "")
        if not ZADARMA_ECHO.fullmatch(echo):
            return _answer(400, _("Expected zd_echo."), {"zd_echo": [_("Malformed.")]})
        return HttpResponse(echo, content_type="text/plain")
    secret = settings.CRM_TELEPHONY_ZADARMA_SECRET
    if not secret:
        return _answer(503, _("The Zadarma endpoint is not configured."))
    body = _read_body(request, telephony.MAX_BODY_BYTES)
    if body is None:
        return _too_large(telephony.MAX_BODY_BYTES)
    try:
        text = body.decode("utf-8")
        form = QueryDict(text)
    except (UnicodeDecodeError, ValueError):
        return _answer(400, _("Send the notification as a form."), {"body": [_("Malformed.")]})
    fields = {key: form.get(key, "") for key in form}
    if fields.get("event") not in telephony.ZADARMA_SIGNED:
        return JsonResponse({"ok": True, "ignored": True})
    if not telephony.zadarma_signature_valid(fields, request.headers.get("Signature", ""), secret):
        return _unauthenticated(request, "inbound_zadarma")
    # A stray control character (NUL, which PostgreSQL refuses) is dropped, not refused:
    # the call happened, and the event is kept.
    fields = {key: without_controls(value) for key, value in fields.items()}
    try:
        event = telephony.zadarma_event(fields)
    except ValidationFailed as error:
        return _answer(422, error.message, error.field_errors)
    if event is None:
        return JsonResponse({"ok": True, "ignored": True})
    inbound, created = telephony.call_event_store(
        event=event, raw=raw_as_storable(body), meta={"ip": client_address(request) or ""}
    )
    return _accepted(inbound.pk, created)


urlpatterns: list[URLPattern] = [
    path("inbound/email/", inbound_email, name="inbound_email"),
    path("inbound/telephony/", inbound_telephony, name="inbound_telephony"),
    path("inbound/telephony/zadarma/", inbound_zadarma, name="inbound_telephony_zadarma"),
]
