"""How the API knows who is calling: a personal token, or the browser's session.

* ``Authorization: Bearer crm_…`` — a personal API token (``accounts.services``); revoked
  or expired tokens and tokens of deactivated users authenticate nobody.
* The session cookie of a signed-in browser. Unsafe methods (POST, PATCH …) must carry the
  CSRF token, exactly as Django forms do.

Neither present (or neither valid) answers 401; a signed-in browser without the CSRF token
answers 403.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.utils import translation
from django.utils.translation import gettext as _
from ninja.security import APIKeyCookie, HttpBearer
from ninja.utils import check_csrf

from crm.accounts.services import api_token_authenticate
from crm.core.errors import PermissionDenied


class TokenAuth(HttpBearer):
    """``Authorization: Bearer crm_<prefix>_<secret>`` — a personal API token."""

    openapi_description = "A personal API token: `Authorization: Bearer crm_…`."

    def authenticate(self, request: HttpRequest, token: str) -> Any:
        user = api_token_authenticate(token.strip())
        if user is None:
            return None
        # A token request has no session, so the user's language is applied here.
        if user.language:
            translation.activate(user.language)
            request.LANGUAGE_CODE = user.language
        request.user = user
        return user


class SessionAuth(APIKeyCookie):
    """The browser's session; unsafe methods must pass Django's CSRF check.

    Unlike ninja's ``django_auth``, an anonymous request is told it is anonymous (401)
    before any CSRF complaint, and a CSRF failure is a JSON 403.
    """

    param_name = settings.SESSION_COOKIE_NAME
    openapi_description = "The session cookie of a signed-in browser (unsafe methods need CSRF)."

    def __call__(self, request: HttpRequest) -> Any:
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated or not user.is_active:
            return None
        exempt = getattr(request, "_ninja_csrf_exempt", False)
        if self.csrf and not exempt and check_csrf(request) is not None:
            raise PermissionDenied(_("CSRF check failed: send the X-CSRFToken header."))
        return user

    def authenticate(self, request: HttpRequest, key: str | None) -> Any:  # pragma: no cover
        return self(request)


token_auth = TokenAuth()
session_auth = SessionAuth()
