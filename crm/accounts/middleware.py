"""Per-user interface language, the instant lock-out of deactivated users and the
obligation to set up two-factor sign-in."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _

from crm.accounts.models import SecurityEvent, User
from crm.accounts.services import security_event_record
from crm.accounts.two_factor import two_factor_is_enabled, two_factor_is_required
from crm.core.middleware import SESSION_ENDED


class UserLanguageMiddleware:
    """Use the language the signed-in user picked; otherwise LocaleMiddleware's choice."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        language = getattr(user, "language", "") if user and user.is_authenticated else ""
        if language:
            translation.activate(language)
            request.LANGUAGE_CODE = language
        response = self.get_response(request)
        if language:
            response.headers.setdefault("Content-Language", language)
        return response


class ActiveUserMiddleware:
    """End the session of a user who was deactivated while signed in."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and not user.is_active:
            logout(request)
        return self.get_response(request)


class SessionEndAuditMiddleware:
    """Record in the audit log a sign-out by the session's idle timeout or lifetime.

    ``crm.core.middleware.SessionLifetimeMiddleware`` (after this one) signs the user out and
    leaves who and why on the request; this records it on the way out, as a ``logout``
    event with the reason, from the client's address.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        ended = getattr(request, SESSION_ENDED, None)
        if ended is not None:
            user, reason = ended
            security_event_record(
                kind=SecurityEvent.Kind.LOGOUT, request=request, user=user, data={"reason": reason}
            )
        return response


class TwoFactorRequiredMiddleware:
    """Send a signed-in user who must use two-factor sign-in but has not set it up to the
    set-up page; until it is done only that page, signing out and the language switch work.

    Who must is ``CRM_2FA_REQUIRED`` (``two_factor_is_required``). API calls with a token do
    not go through a session and are not affected; a session's API call and an HTMX fragment
    answer 403.
    """

    ALLOWED = ("accounts:two_factor", "accounts:logout", "accounts:language", "set_language")

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if (
            isinstance(user, User)
            and user.is_authenticated
            and two_factor_is_required(user=user)
            and not self._allowed(request.path_info)
            and not two_factor_is_enabled(user=user)
        ):
            message = _("Turn on two-factor sign-in first.")
            if request.path_info.startswith("/api/"):
                return JsonResponse({"detail": message}, status=403)
            if request.headers.get("HX-Request"):
                # A fragment (the notification badge) must not swap the set-up page in.
                return HttpResponse(message, status=403)
            return redirect("accounts:two_factor")
        return self.get_response(request)

    def _allowed(self, path: str) -> bool:
        if path.startswith(settings.STATIC_URL):
            return True
        return any(path == reverse(name) for name in self.ALLOWED)
