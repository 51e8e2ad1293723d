"""Authentication backend that counts each attempt before the password is checked and
records it in the security log."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest

from crm.accounts import devices, throttle, two_factor
from crm.accounts.models import SecurityEvent, User
from crm.accounts.services import security_event_record
from crm.core.http import client_address


class LoginThrottled(PermissionDenied):
    """Raised when an attempt is refused by the throttle; stops the backend chain."""


class ThrottledModelBackend(ModelBackend):
    """Django's model backend behind the sign-in throttle (``crm.accounts.throttle``)."""

    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> User | None:
        username = (username or "").strip()
        if not username or password is None:
            return None
        address = client_address(request)
        owner = _user(username) if request and devices.DEVICE_COOKIE in request.COOKIES else None
        attempt = throttle.attempt_begin(
            username=username,
            address=address,
            device=devices.known_device(request=request, user=owner) if owner else None,
            is_known=lambda: _address_is_known(username=username, address=address),
        )
        if attempt.refusal is not None:
            throttle.refusal_note(request, attempt.refusal)
            security_event_record(
                kind=SecurityEvent.Kind.LOGIN_THROTTLED,
                request=request,
                username=username,
                data={"reason": str(attempt.refusal)},
            )
            raise LoginThrottled
        user = super().authenticate(request, username=username, password=password, **kwargs)
        if user is None:
            security_event_record(
                kind=SecurityEvent.Kind.LOGIN_FAILED, request=request, username=username
            )
            return None
        throttle.attempt_succeeded(attempt)
        # With a second factor the password alone signs nobody in: its own kind keeps the
        # address out of the known ones until the code is accepted too (2fa_passed).
        kind = (
            SecurityEvent.Kind.LOGIN_PASSWORD
            if two_factor.two_factor_is_enabled(user=user)
            else SecurityEvent.Kind.LOGIN
        )
        security_event_record(kind=kind, request=request, user=user)
        return user


def _user(username: str) -> User | None:
    try:
        return User._default_manager.get_by_natural_key(username)
    except User.DoesNotExist:
        return None


def _address_is_known(*, username: str, address: str | None) -> bool:
    """Whether the account ``username`` was signed in to from ``address`` recently."""
    user = _user(username)
    return user is not None and devices.address_is_known(user=user, address=address)
