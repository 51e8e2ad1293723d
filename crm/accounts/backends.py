"""Authentication backend that refuses throttled sign-ins and records each attempt."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest

from crm.accounts import throttle
from crm.accounts.models import SecurityEvent, User
from crm.accounts.services import client_ip, security_event_record


class LoginThrottled(PermissionDenied):
    """Raised when an account or an address has failed too often; stops the backend chain."""


class ThrottledModelBackend(ModelBackend):
    """Django's model backend behind a per-account and per-address failure counter."""

    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> User | None:
        username = (username or "").strip()
        address = client_ip(request)
        if throttle.is_throttled(username=username, ip_address=address):
            security_event_record(
                kind=SecurityEvent.Kind.LOGIN_THROTTLED, request=request, username=username
            )
            raise LoginThrottled
        user = super().authenticate(request, username=username, password=password, **kwargs)
        if user is None:
            throttle.record_failure(username=username, ip_address=address)
            security_event_record(
                kind=SecurityEvent.Kind.LOGIN_FAILED, request=request, username=username
            )
            return None
        throttle.clear_account(username=username)
        security_event_record(kind=SecurityEvent.Kind.LOGIN, request=request, user=user)
        return user
