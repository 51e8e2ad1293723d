"""REST API of the notification centre: the caller's own notifications and marking them read.

A user only ever sees their own notifications; another user's id answers 404 like a
missing one. The endpoints call the same selectors and services as the pages.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema
from pydantic import StringConstraints

from crm.core.api import READ_ERRORS, WRITE_ERRORS, DatabaseId, InputSchema, Storable, request_user
from crm.core.pagination import MAX_LIMIT
from crm.notifications import selectors, services
from crm.notifications.services import MARK_READ_IDS_MAX

router = Router(tags=["Notifications"])

Cursor = Annotated[str, StringConstraints(max_length=1000), Storable]


class NotificationListParams(Schema):
    unread: bool = Field(False, description="Only the unread ones.")
    cursor: Cursor | None = None
    limit: int = Field(50, ge=1, le=MAX_LIMIT)


class NotificationOut(Schema):
    id: int
    kind: str = Field(description="assigned, stage, stale, task, reminder, lead, system or weekly")
    title: str
    body: str
    url: str = Field(description="A path on this site (may be empty)")
    created_at: dt.datetime
    read_at: dt.datetime | None


class NotificationPageOut(Schema):
    items: list[NotificationOut]
    next_cursor: str | None


class MarkReadIn(InputSchema):
    ids: Annotated[list[DatabaseId], Field(max_length=MARK_READ_IDS_MAX)] | None = Field(
        None, description="The notifications to mark read."
    )
    all: bool = Field(False, description="Mark every unread notification read instead.")


class MarkReadOut(Schema):
    marked: int = Field(description="How many were unread and are read now")


@router.get("", response={200: NotificationPageOut, **READ_ERRORS}, summary="My notifications")
def notification_list(request: HttpRequest, params: Query[NotificationListParams]) -> Any:
    """The caller's notifications, newest first, one page after ``cursor``."""
    return selectors.notification_page(
        actor=request_user(request),
        unread=params.unread,
        cursor=params.cursor,
        limit=params.limit,
    )


@router.post(
    "/read", response={200: MarkReadOut, **WRITE_ERRORS}, summary="Mark notifications read"
)
def notification_mark_read(request: HttpRequest, payload: MarkReadIn) -> Any:
    """Mark the listed ``ids`` read, or every unread one with ``"all": true``. An id that is
    not the caller's answers 404 and marks nothing."""
    marked = services.notification_mark_read(
        actor=request_user(request), ids=payload.ids, all=payload.all
    )
    return {"marked": marked}
