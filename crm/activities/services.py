"""Recording on the timeline. Callers (the domain apps) check the actor's access first.

These functions never decide who may write: ``customers.services`` (and later deals and
leads) check that the actor may see and change the subject, then call them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.core.files.uploadedfile import UploadedFile
from django.db import models, transaction
from django.db.models.functions import Coalesce, Greatest
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from crm.activities.choices import MANUAL_KINDS, CallDirection, EntryKind
from crm.activities.models import Attachment, TimelineEntry
from crm.activities.uploads import check_upload
from crm.core.errors import ValidationFailed
from crm.core.permissions import ScopedUser

TITLE_MAX = 300
BODY_MAX = 20000


def _subject_fields(subject: models.Model) -> dict[str, Any]:
    return {"subject_type": ContentType.objects.get_for_model(subject), "subject_id": subject.pk}


def timeline_record(
    *,
    subject: models.Model,
    kind: str,
    author: Any = None,
    title: str = "",
    body: str = "",
    data: dict[str, Any] | None = None,
    occurred_at: datetime | None = None,
    **extra: Any,
) -> TimelineEntry:
    """Append one entry to ``subject``'s timeline (and move the subject's last touch)."""
    entry = TimelineEntry.objects.create(
        **_subject_fields(subject),
        kind=kind,
        author=author,
        title=title[:TITLE_MAX],
        body=body,
        data=data or {},
        occurred_at=occurred_at or timezone.now(),
        **extra,
    )
    _touch(type(subject), subject.pk, entry.occurred_at)
    return entry


def _stores_touch(model: type[models.Model]) -> bool:
    return any(field.name == "last_touch_at" for field in model._meta.concrete_fields)


def _touch(model: type[models.Model], pk: Any, moment: datetime) -> None:
    """An entry written for a ``model`` row at ``moment``: a subject that stores its last
    touch (``last_touch_at``: contacts and companies, an app above this one) moves it
    forward, never back — one conditional ``UPDATE`` in the caller's transaction."""
    if _stores_touch(model):
        model._default_manager.filter(
            models.Q(last_touch_at__isnull=True) | models.Q(last_touch_at__lt=moment), pk=pk
        ).update(last_touch_at=moment)


def _touch_many(model: type[models.Model], ids: Iterable[Any]) -> None:
    """``_touch`` for many rows at once, set-based: each takes the greater of its last
    touch and its latest entry."""
    if not _stores_touch(model):
        return
    subject_type = ContentType.objects.get_for_model(model)
    latest = (
        TimelineEntry.objects.filter(subject_type=subject_type, subject_id=models.OuterRef("pk"))
        .order_by()
        .values("subject_id")
        .annotate(last=models.Max("occurred_at"))
        .values("last")
    )
    model._default_manager.filter(pk__in=sorted(set(ids))).update(
        last_touch_at=Greatest(
            Coalesce("last_touch_at", "created_at"),
            Coalesce(models.Subquery(latest), "last_touch_at", "created_at"),
        )
    )


def timeline_record_changes(
    *, subject: models.Model, author: Any, changes: Sequence[dict[str, Any]]
) -> TimelineEntry | None:
    """Record field changes (``{"field", "label", "old", "new"}`` each); nothing if empty."""
    if not changes:
        return None
    return timeline_record(
        subject=subject, kind=EntryKind.FIELD_CHANGE, author=author, data={"changes": list(changes)}
    )


def timeline_record_sharing(
    *, subject: models.Model, author: Any, before: Iterable[Any], after: Iterable[Any]
) -> TimelineEntry | None:
    """Record a change of who else sees ``subject`` (people, by name); nothing if the same."""
    old = ", ".join(sorted(str(person) for person in before))
    new = ", ".join(sorted(str(person) for person in after))
    if old == new:
        return None
    return timeline_record_changes(
        subject=subject,
        author=author,
        changes=[
            {"field": "shared_with", "label": gettext_noop("shared with"), "old": old, "new": new}
        ],
    )


def timeline_entry_validate(
    *, kind: str, title: str, body: str, direction: str = "", duration_seconds: int | None = None
) -> None:
    """Check a manually added entry; raises ``ValidationFailed`` naming the field."""
    errors: dict[str, list[str]] = {}
    if kind not in MANUAL_KINDS and kind != EntryKind.FILE:
        errors["kind"] = [_("Unknown kind of entry.")]
    if len(title or "") > TITLE_MAX:
        errors["title"] = [_("At most %(n)d characters.") % {"n": TITLE_MAX}]
    if len(body or "") > BODY_MAX:
        errors["body"] = [_("At most %(n)d characters.") % {"n": BODY_MAX}]
    if kind == EntryKind.NOTE and not (body or "").strip():
        errors["body"] = [_("Write the note.")]
    if direction and direction not in CallDirection.values:
        errors["direction"] = [_("Unknown call direction.")]
    if duration_seconds is not None and not 0 <= duration_seconds <= 86400:
        errors["duration_seconds"] = [_("Between 0 and 86400 seconds.")]
    if errors:
        raise ValidationFailed(_("Check the entry."), field_errors=errors)


def attachment_store(*, upload: UploadedFile[Any], author: Any) -> Attachment:
    """Check an upload by content and store it; raises 400/413 domain errors."""
    checked = check_upload(upload)
    attachment = Attachment(
        original_name=checked.name,
        content_type=checked.content_type,
        size=checked.size,
        sha256=checked.sha256,
        uploaded_by=author,
    )
    attachment.file.save(checked.name, upload, save=False)
    attachment.save()
    return attachment


@transaction.atomic
def timeline_entry_add(
    *,
    actor: ScopedUser,
    subject: models.Model,
    kind: str,
    title: str = "",
    body: str = "",
    direction: str = "",
    duration_seconds: int | None = None,
    occurred_at: datetime | None = None,
    upload: UploadedFile[Any] | None = None,
) -> TimelineEntry:
    """Add a manual entry (note, call, e-mail, meeting, file) to ``subject``'s timeline.

    Precondition: the caller (the service of the app that owns ``subject``) has checked that
    ``actor`` may change it. A file is checked by content before anything is written; a
    refused file writes nothing. Raises ``ValidationFailed`` naming the fields.
    """
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
        subject=subject,
        kind=kind,
        author=actor,
        title=title or (attachment.original_name if attachment else ""),
        body=body,
        occurred_at=occurred_at,
        direction=direction,
        duration_seconds=duration_seconds,
        attachment=attachment,
    )


def timeline_move(*, model: type[models.Model], from_id: int, to_id: int) -> list[int]:
    """Move every entry of one subject to another (used by merge); returns the moved ids."""
    subject_type = ContentType.objects.get_for_model(model)
    entries = TimelineEntry.objects.filter(subject_type=subject_type, subject_id=from_id)
    moved = list(entries.values_list("id", flat=True))
    TimelineEntry.objects.filter(id__in=moved).update(subject_id=to_id)
    return moved


def timeline_move_back(*, entry_ids: Iterable[int], to_id: int) -> None:
    """Undo ``timeline_move`` for the given entries."""
    TimelineEntry.objects.filter(id__in=list(entry_ids)).update(subject_id=to_id)


@transaction.atomic
def timeline_bulk_record(*, entries: Sequence[TimelineEntry]) -> None:
    """Insert many prepared entries in batches (bulk reassignment, imports, demo data);
    their subjects' last touch moves as with ``timeline_record``."""
    TimelineEntry.objects.bulk_create(entries, batch_size=1000)
    subjects: dict[int, set[Any]] = {}
    for entry in entries:
        subjects.setdefault(entry.subject_type_id, set()).add(entry.subject_id)
    for type_id, ids in subjects.items():
        model = ContentType.objects.get_for_id(type_id).model_class()
        if model is not None:
            _touch_many(model, ids)


def timeline_entry_build(
    *,
    subject_model: type[models.Model],
    subject_id: int,
    kind: str,
    author: Any = None,
    data: dict[str, Any] | None = None,
    title: str = "",
    body: str = "",
) -> TimelineEntry:
    """An unsaved entry for ``timeline_bulk_record``."""
    return TimelineEntry(
        subject_type=ContentType.objects.get_for_model(subject_model),
        subject_id=subject_id,
        kind=kind,
        author=author,
        data=data or {},
        title=title,
        body=body,
        occurred_at=timezone.now(),
    )
