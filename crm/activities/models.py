"""The timeline: every touch with a client and every change to its record.

An entry belongs to one subject (a contact, a company, later a deal or a lead) through a
content type and an id, so this app depends on no domain app and any app can record on
it. Entries are append-only: editing a note records a new version, nothing is overwritten.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from crm.activities.choices import CallDirection, EntryKind


class Attachment(models.Model):
    """An uploaded file. ``content_type`` was detected from the bytes, not the name."""

    file = models.FileField(upload_to="attachments/%Y/%m/")
    original_name = models.CharField(_("file name"), max_length=255)
    content_type = models.CharField(max_length=100)
    size = models.PositiveBigIntegerField(_("size"))
    sha256 = models.CharField(max_length=64)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    uploaded_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return self.original_name


class TimelineEntry(models.Model):
    """One event in a record's history.

    ``data`` holds kind-specific details: for a field change ``{"changes": [{"field",
    "label", "old", "new"}]}``, for a call ``{"direction", "duration"}``, for a merge the
    merged record's name and the merge id.
    """

    subject_type = models.ForeignKey(ContentType, on_delete=models.PROTECT, related_name="+")
    subject_id = models.BigIntegerField()
    kind = models.CharField(_("kind"), max_length=16, choices=EntryKind.choices)
    title = models.CharField(_("subject"), max_length=300, blank=True)
    body = models.TextField(_("text"), blank=True, max_length=20000)
    data = models.JSONField(default=dict, blank=True)
    direction = models.CharField(
        _("direction"), max_length=10, choices=CallDirection.choices, blank=True
    )
    duration_seconds = models.PositiveIntegerField(_("duration, s"), null=True, blank=True)
    attachment = models.ForeignKey(
        Attachment, null=True, blank=True, on_delete=models.PROTECT, related_name="entries"
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("author"),
    )
    occurred_at = models.DateTimeField(_("when"), default=timezone.now)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("timeline entry")
        verbose_name_plural = _("timeline entries")
        ordering = ["-occurred_at", "-id"]
        indexes = [
            models.Index(
                fields=["subject_type", "subject_id", "-occurred_at", "-id"],
                name="timeline_subject_time",
            ),
            # The managers' activity report: a manager's calls, e-mails and notes in a period,
            # counted per kind of record (on the records the viewer sees). Covering on
            # PostgreSQL, so a quarter's entries are read from the index alone.
            models.Index(
                fields=["author", "subject_type", "occurred_at"],
                include=["id", "subject_id", "kind", "direction", "duration_seconds", "data"],
                name="timeline_author_subject_time",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.title or self.body[:50]}"
