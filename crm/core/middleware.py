"""Browser hardening on every answer, and the lifetime of a signed-in session.

``SecurityHeadersMiddleware`` adds the Content-Security-Policy (with a fresh nonce per
request, ``request.csp_nonce``), Permissions-Policy, Cross-Origin-Opener-Policy and
``Cache-Control: no-store`` to every answer but static files. ``SessionLifetimeMiddleware``
signs a user out after ``CRM_SESSION_IDLE_SECONDS`` without activity or
``CRM_SESSION_AGE_SECONDS`` after signing in, and turns a redirect to the sign-in page of an
HTMX request into ``HX-Redirect`` so the whole page goes there, not the fragment.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import resolve_url
from django.utils.cache import patch_cache_control
from django.utils.translation import gettext as _

from crm.core.csp import build_policy

GetResponse = Callable[[HttpRequest], HttpResponse]

# Powerful browser features the CRM never uses, refused to the page and to any frame.
PERMISSIONS_POLICY = ", ".join(
    f"{feature}=()"
    for feature in (
        "accelerometer",
        "autoplay",
        "camera",
        "display-capture",
        "encrypted-media",
        "geolocation",
        "gyroscope",
        "magnetometer",
        "microphone",
        "midi",
        "payment",
        "picture-in-picture",
        "screen-wake-lock",
        "serial",
        "usb",
        "xr-spatial-tracking",
    )
)

SIGNED_IN_AT = "crm_signed_in_at"
SEEN_AT = "crm_seen_at"
# The last activity is written back at most this often, so most requests don't save the
# session; the idle timeout is therefore exact to within this many seconds.
SEEN_AT_RESOLUTION_SECONDS = 60
# Requests a page makes by itself (the notification bell polling) send this header; they
# don't count as activity, or an open tab would never time out.
BACKGROUND_HEADER = "X-CRM-Background"


def _is_static(path: str) -> bool:
    static_url = settings.STATIC_URL or "/static/"
    if "://" in static_url:  # static files on another host never pass through here
        return False
    return path.startswith("/" + static_url.lstrip("/"))


class SecurityHeadersMiddleware:
    """The browser policy headers on every answer except static files (which stay cacheable).

    Every answer gets ``Cache-Control: no-store`` (and ``Pragma: no-cache``): pages of a
    signed-in user, exports and documents, the API, and the few anonymous pages (sign-in
    carries a CSRF token, the public form a fresh time token), none of which gains from a
    cache. A view may widen its own page's policy through ``request.csp_extra``
    (directive → sources), as the public web form does for its redirect address.
    """

    def __init__(self, get_response: GetResponse) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if _is_static(request.path_info):
            return self.get_response(request)
        nonce = secrets.token_urlsafe(18)
        request.csp_nonce = nonce  # type: ignore[attr-defined]
        response = self.get_response(request)
        extra: list[Mapping[str, Sequence[str]]] = [settings.CRM_CSP_EXTRA]
        view_extra = getattr(request, "csp_extra", None)
        if view_extra:
            extra.append(view_extra)
        header = (
            "Content-Security-Policy-Report-Only"
            if settings.CRM_CSP_REPORT_ONLY
            else "Content-Security-Policy"
        )
        # Django's technical error pages (DEBUG only) are styled inline; leave them readable.
        technical_error = settings.DEBUG and response.status_code in (404, 500)
        if "Content-Security-Policy" not in response.headers and not technical_error:
            response.headers[header] = build_policy(
                nonce=nonce, extra=extra, report_uri=settings.CRM_CSP_REPORT_URI
            )
        response.headers.setdefault("Permissions-Policy", PERMISSIONS_POLICY)
        response.headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        patch_cache_control(response, no_store=True)
        response.headers["Pragma"] = "no-cache"
        return response


def _now() -> int:
    return int(time.time())


# Where the middleware leaves who was signed out and why, for the audit log (the accounts
# app's middleware records it on the way out; the kernel imports no app).
SESSION_ENDED = "crm_session_ended"


def session_expired(session: Any, *, now: int) -> str:
    """Why a signed-in session must end — ``"idle"`` (no activity for too long) or
    ``"lifetime"`` (signed in too long ago) — or ``""`` while it may go on.

    Sessions signed in before this check existed carry no times; they start now.
    """
    signed_in_at = session.get(SIGNED_IN_AT)
    seen_at = session.get(SEEN_AT)
    if not isinstance(signed_in_at, int) or not isinstance(seen_at, int):
        return ""
    idle = settings.CRM_SESSION_IDLE_SECONDS
    age = settings.CRM_SESSION_AGE_SECONDS
    if age > 0 and now - signed_in_at > age:
        return "lifetime"
    if idle > 0 and now - seen_at > idle:
        return "idle"
    return ""


def _touch(session: Any, *, now: int, background: bool) -> None:
    """Record the activity at most once a minute; a background request writes nothing.

    A sign-in sets both times (``session_signed_in``); a session from before this check
    existed gets them on its first request.
    """
    if background:
        return
    if not isinstance(session.get(SIGNED_IN_AT), int):
        session[SIGNED_IN_AT] = now
        session[SEEN_AT] = now
        return
    seen_at = session.get(SEEN_AT)
    if not isinstance(seen_at, int) or now - seen_at >= SEEN_AT_RESOLUTION_SECONDS:
        session[SEEN_AT] = now


def session_signed_in(sender: Any, request: HttpRequest | None, **kwargs: Any) -> None:
    """``user_logged_in`` receiver: a sign-in restarts both clocks of the session."""
    if request is None or not hasattr(request, "session"):
        return
    now = _now()
    request.session[SIGNED_IN_AT] = now
    request.session[SEEN_AT] = now


def _is_htmx(request: HttpRequest) -> bool:
    return request.headers.get("HX-Request") == "true"


def _htmx_redirect(location: str) -> HttpResponse:
    response = HttpResponse(status=200)
    response["HX-Redirect"] = location
    return response


def _is_login_redirect(response: HttpResponse) -> bool:
    if response.status_code not in (301, 302, 303, 307, 308):
        return False
    location = urlsplit(response.get("Location", ""))
    return location.path == urlsplit(resolve_url(settings.LOGIN_URL)).path


class SessionLifetimeMiddleware:
    """Sign out a session idle for ``CRM_SESSION_IDLE_SECONDS`` or older than
    ``CRM_SESSION_AGE_SECONDS``; then the page goes to sign-in with a message.

    Must sit after the authentication and message middleware. An expired browser request
    is redirected to sign-in (``next`` kept), an HTMX request gets ``HX-Redirect``, an API
    request continues anonymous (the API answers 401). The session is written only on
    sign-in and when the stored activity is a minute old, so most requests stay read-only.
    """

    def __init__(self, get_response: GetResponse) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            now = _now()
            reason = session_expired(request.session, now=now)
            if reason:
                setattr(request, SESSION_ENDED, (user, reason))
                return self._sign_out(request)
            _touch(
                request.session,
                now=now,
                background=request.headers.get(BACKGROUND_HEADER) == "1",
            )
        response = self.get_response(request)
        if _is_htmx(request) and _is_login_redirect(response):
            return _htmx_redirect(response["Location"])
        return response

    def _sign_out(self, request: HttpRequest) -> HttpResponse:
        logout(request)
        if request.path_info.startswith("/api/"):
            return self.get_response(request)
        messages.info(request, _("Your session has expired. Please sign in again."))
        if _is_htmx(request):
            # The fragment's address is no page to come back to; the page that asked is.
            next_url = _local_path(request.headers.get("HX-Current-URL", ""))
            return _htmx_redirect(redirect_to_login(next_url or "/")["Location"])
        if request.method in ("GET", "HEAD"):
            return redirect_to_login(request.get_full_path())
        # A form sent after the timeout is lost; come back to the page it was on.
        return redirect_to_login(_local_path(request.headers.get("Referer", "")) or "/")


def _local_path(url: str) -> str:
    """The path and query of ``url`` (never its host: ``next`` stays on this site)."""
    parts = urlsplit(url)
    if not parts.path.startswith("/"):
        return ""
    return parts.path + (f"?{parts.query}" if parts.query else "")
