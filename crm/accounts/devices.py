"""Known devices and addresses of a user: where the owner has signed in before.

While an account is under attack (``crm.accounts.throttle``), only a known device or address
may still try its password. A device is known by a signed, long-lived cookie that the
middleware below gives a browser when a user signs in on it; the cookie is bound to the
user and to the password (it stops working when the password changes) and carries an id of
its own, so the throttle counts a known device's attempts apart from its address's. An
address is known when the security log has a sign-in of the user from it in the last
``LOGIN_KNOWN_ADDRESS_DAYS``.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.crypto import constant_time_compare, salted_hmac

from crm.accounts.models import SecurityEvent, User

DEVICE_COOKIE = "crm_device"
_SALT = "crm.accounts.devices.known-device"


def _digest(user: User, device: str) -> str:
    """Binds a device id to the user and to the password hash (a new password, a new digest)."""
    text = f"{user.pk}:{device}:{user.password}"
    return salted_hmac(_SALT, text, algorithm="sha256").hexdigest()[:32]


def _max_age() -> int:
    return settings.LOGIN_KNOWN_DEVICE_DAYS * 24 * 60 * 60


def known_device(*, request: HttpRequest | None, user: User) -> str | None:
    """The id of the browser of ``request`` when it is a known device of ``user``, else None.

    The cookie is ``<user id>:<device id>:<digest>``, signed with a timestamp; a cookie older
    than ``LOGIN_KNOWN_DEVICE_DAYS``, of another user or from before a password change does
    not count.
    """
    if request is None or DEVICE_COOKIE not in request.COOKIES:
        return None
    value = request.get_signed_cookie(DEVICE_COOKIE, default=None, salt=_SALT, max_age=_max_age())
    user_id, _, rest = (value or "").partition(":")
    device, _, digest = rest.partition(":")
    if (
        not device
        or user_id != str(user.pk)
        or not constant_time_compare(digest, _digest(user, device))
    ):
        return None
    return device


def device_remember(*, response: HttpResponse, user: User) -> None:
    """Give the browser a known-device cookie of ``user`` with a new device id."""
    device = secrets.token_urlsafe(12)
    response.set_signed_cookie(
        DEVICE_COOKIE,
        f"{user.pk}:{device}:{_digest(user, device)}",
        salt=_SALT,
        max_age=_max_age(),
        secure=settings.SESSION_COOKIE_SECURE,
        httponly=True,
        samesite="Lax",
    )


def address_is_known(*, user: User, address: str | None) -> bool:
    """Whether ``user`` signed in from ``address`` within ``LOGIN_KNOWN_ADDRESS_DAYS``.

    A sign-in counts when it completed: the password of a user without a second factor, or
    the second factor (a password alone, ``login_password``, does not make an address known).
    """
    if not address:
        return False
    since = timezone.now() - timedelta(days=settings.LOGIN_KNOWN_ADDRESS_DAYS)
    return SecurityEvent.objects.filter(
        kind__in=[SecurityEvent.Kind.LOGIN, SecurityEvent.Kind.TWO_FACTOR_PASSED],
        user=user,
        ip_address=address,
        created_at__gte=since,
    ).exists()


class KnownDeviceMiddleware:
    """Mark a browser as one of the user's devices when a sign-in completes on it.

    Runs after the view. ``django.contrib.auth.login`` always gives the session a new key,
    so a response whose session key changed and whose session now holds the user closes a
    sign-in, with every step it needed; other responses (a badge poll) set no cookie.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        session = getattr(request, "session", None)
        key_before = session.session_key if session is not None else None
        response = self.get_response(request)
        user = getattr(request, "user", None)
        if (
            session is not None
            and session.session_key != key_before
            and isinstance(user, User)
            and session.get(SESSION_KEY) == str(user.pk)
            and known_device(request=request, user=user) is None
        ):
            device_remember(response=response, user=user)
        return response
