"""Who may read the API's interactive docs and its OpenAPI schema.

On a laptop (``CRM_API_DOCS_PUBLIC``, the default outside production) anyone may; in
production only a signed-in browser or a caller with a valid API token: the schema maps
every endpoint and field, which is no business of an anonymous visitor. The docs page
redirects an anonymous browser to sign-in; the schema answers 401 in the API's error shape.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext as _

from crm.api.auth import token_auth


def _signed_in(request: HttpRequest) -> bool:
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated and user.is_active:
        return True
    return token_auth(request) is not None


def docs_access(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """ninja's ``docs_decorator``: wraps both the docs page and ``openapi.json``."""

    @wraps(view)
    def guarded(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if settings.CRM_API_DOCS_PUBLIC or _signed_in(request):
            return view(request, *args, **kwargs)
        if request.path_info.endswith(".json"):
            return JsonResponse(
                {"detail": _("Sign in or send an API token to read the API schema."), "errors": {}},
                status=401,
                headers={"WWW-Authenticate": "Bearer"},
            )
        return redirect_to_login(request.get_full_path())

    return guarded
