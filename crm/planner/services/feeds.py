"""The secret URL of a user's iCalendar feed: issue, revoke, authenticate.

Only a SHA-256 hash of the token is stored (like API tokens). Issuing a new one revokes the
old, so "a new link" is also how a leaked one is killed.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Any

from django.db import transaction
from django.utils import timezone

from crm.accounts.models import User
from crm.planner.models import FeedToken

PREFIX = "cal"


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@transaction.atomic
def feed_token_create(*, actor: User) -> tuple[FeedToken, str]:
    """A new feed token for ``actor`` (their previous ones revoked); returns the row and the
    secret, which is shown once."""
    feed_token_revoke(actor=actor)
    prefix = secrets.token_hex(4)
    secret = f"{PREFIX}_{prefix}_{secrets.token_urlsafe(32)}"
    token = FeedToken.objects.create(user=actor, prefix=prefix, token_hash=_hash(secret))
    return token, secret


def feed_token_revoke(*, actor: User) -> int:
    """Revoke every live feed token of ``actor``; their feed URLs answer 404 from now on."""
    return FeedToken.objects.filter(user=actor, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )


def feed_token_authenticate(raw: str) -> Any:
    """The active user a feed token belongs to, or None (unknown, revoked, inactive user)."""
    parts = (raw or "").split("_", 2)  # the secret itself may contain "_"
    if len(parts) != 3 or parts[0] != PREFIX or len(raw) > 200:
        return None
    token = FeedToken.objects.select_related("user").filter(prefix=parts[1]).first()
    if token is None or not hmac.compare_digest(token.token_hash, _hash(raw)):
        return None
    if token.revoked_at is not None or not token.user.is_active:
        return None
    now = timezone.now()
    if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 300:
        FeedToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token.user
