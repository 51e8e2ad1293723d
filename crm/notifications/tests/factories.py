"""Helpers that build notifications directly (the services are tested on their own)."""

from __future__ import annotations

from typing import Any

from crm.accounts.models import User
from crm.notifications.models import Notification


def make_notification(recipient: User, **fields: Any) -> Notification:
    values: dict[str, Any] = {
        "kind": Notification.Kind.SYSTEM,
        "title": "Hello",
        "email_wanted": False,
    }
    values.update(fields)
    return Notification.objects.create(recipient=recipient, **values)


def make_many(recipient: User, count: int, **fields: Any) -> list[Notification]:
    return Notification.objects.bulk_create(
        Notification(
            recipient=recipient,
            kind=Notification.Kind.SYSTEM,
            title=f"Notification {index}",
            email_wanted=False,
            **fields,
        )
        for index in range(count)
    )
