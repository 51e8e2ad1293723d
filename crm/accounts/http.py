"""The request type of the pages that need a signed-in user.

Django types ``request.user`` as ``User | AnonymousUser``; behind ``login_required`` it is
always a ``User``. Views so decorated annotate their request as ``SignedInRequest`` (only
for the type checker: at run time it is Django's ``HttpRequest`` as ever). It lives in
``accounts``, the lowest app that may know the user model (``core`` knows none).
"""

from __future__ import annotations

from django.http import HttpRequest
from django_htmx.middleware import HtmxDetails

from crm.accounts.models import User


class SignedInRequest(HttpRequest):
    """A request past ``login_required``, through django-htmx's middleware."""

    user: User
    htmx: HtmxDetails
