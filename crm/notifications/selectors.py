"""Reads of the notification centre. A user only ever reads their own notifications:
every selector filters by the viewer, and another user's notification is "not found"."""

from __future__ import annotations

from django.utils.translation import gettext as _

from crm.accounts.models import User
from crm.core.errors import NotFound
from crm.core.pagination import Page, keyset_page
from crm.notifications.models import Notification

PAGE_SIZE = 30
RECENT_SIZE = 8
UNREAD_CAP = 100
ORDER = ("-created_at", "-id")


def notification_page(
    *, actor: User, unread: bool = False, cursor: str | None = None, limit: int = PAGE_SIZE
) -> Page[Notification]:
    """``actor``'s notifications, newest first, one keyset page after ``cursor``.

    ``unread`` keeps the unread ones only. One query whatever the page holds; a forged
    cursor raises ``ValidationFailed``.
    """
    rows = Notification.objects.filter(recipient=actor)
    if unread:
        rows = rows.filter(read_at__isnull=True)
    return keyset_page(rows, order=ORDER, cursor=cursor, limit=limit)


def notification_recent(*, actor: User, limit: int = RECENT_SIZE) -> list[Notification]:
    """The latest ``limit`` notifications of ``actor`` (the bell's drop-down), one query."""
    return list(Notification.objects.filter(recipient=actor).order_by(*ORDER)[:limit])


def notification_unread_count(*, actor: User, cap: int = UNREAD_CAP) -> int:
    """How many notifications ``actor`` has not read, counted up to ``cap``.

    The cap bounds the cost of a query the bell runs every 30 seconds (the count stops at
    ``cap`` rows of the partial "unread" index); the badge shows "99+" past 99.
    """
    return Notification.objects.filter(recipient=actor, read_at__isnull=True)[:cap].count()


def notification_get(*, actor: User, pk: int) -> Notification:
    """``actor``'s notification ``pk``; ``NotFound`` if it is missing or someone else's."""
    notification = Notification.objects.filter(recipient=actor, pk=pk).first()
    if notification is None:
        raise NotFound(_("Notification not found."))
    return notification
