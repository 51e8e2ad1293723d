"""Adding notes, calls, e-mails, meetings and files to a contact's or company's timeline."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.core.files.uploadedfile import UploadedFile
from django.db import models, transaction
from django.utils.translation import gettext as _

from crm.activities.choices import EntryKind
from crm.activities.models import TimelineEntry
from crm.activities.services import attachment_store, timeline_entry_validate, timeline_record
from crm.core.errors import ValidationFailed
from crm.core.permissions import ScopedUser
from crm.customers.services.records import Customer, customer_check_writable


@transaction.atomic
def customer_timeline_add(
    *,
    actor: ScopedUser,
    record: models.Model,
    kind: str,
    title: str = "",
    body: str = "",
    direction: str = "",
    duration_seconds: int | None = None,
    occurred_at: datetime | None = None,
    upload: UploadedFile[Any] | None = None,
    check: bool = True,
) -> TimelineEntry:
    """Add a manual entry (note, call, e-mail, meeting, file) to a record's timeline.

    A file is checked by content before anything is written; a refused file writes nothing.
    ``record`` is a contact or a company; ``check=False`` is for other apps' services that
    checked the actor's rights on their own record (a deal, a lead) before calling this.
    """
    if check:
        assert isinstance(record, Customer), "other apps' records pass check=False"
        customer_check_writable(actor=actor, record=record)
    title, body = (title or "").strip(), (body or "").strip()
    if upload is not None:
        kind = EntryKind.FILE
    elif kind == EntryKind.FILE:
        raise ValidationFailed(_("Check the entry."), field_errors={"file": [_("Choose a file.")]})
    timeline_entry_validate(
        kind=kind, title=title, body=body, direction=direction, duration_seconds=duration_seconds
    )
    attachment = attachment_store(upload=upload, author=actor) if upload is not None else None
    return timeline_record(
        subject=record,
        kind=kind,
        author=actor,
        title=title or (attachment.original_name if attachment else ""),
        body=body,
        occurred_at=occurred_at,
        direction=direction,
        duration_seconds=duration_seconds,
        attachment=attachment,
    )
