"""An import's job and its journal.

An ``ImportJob`` is one file loaded into one kind of record; its ``ImportEntry`` rows say
what became of each row (and which record it wrote), so the report, the failed-rows file
and the undo are read from the journal, and a job resumed after a crash starts after the
last row its journal holds.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class ImportJob(models.Model):
    """One import: the stored file, how its columns map to fields, what to do with rows
    that match records already there, and where it stands.

    The counters and ``rows_done`` are written in the same transaction as each batch's
    records and journal, so they always agree with what is in the base; ``heartbeat_at``
    tells the sweep that a running job's worker is alive.
    """

    class Status(models.TextChoices):
        DRAFT = "draft", _("Not started")
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")
        CANCELLED = "cancelled", _("Cancelled")
        UNDONE = "undone", _("Undone")

    class Policy(models.TextChoices):
        SKIP = "skip", _("Skip the row")
        FILL = "fill", _("Fill the empty fields")
        OVERWRITE = "overwrite", _("Overwrite the fields")
        CREATE = "create", _("Create a new record anyway")

    class OwnerRule(models.TextChoices):
        IMPORTER = "importer", _("Me (the importing user)")
        CHOSEN = "chosen", _("A chosen manager")
        COLUMN = "column", _("The “responsible” column")

    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("by")
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    file = models.FileField(upload_to="imports/%Y/%m/")
    original_name = models.CharField(_("file"), max_length=255)
    size = models.BigIntegerField(_("size"), default=0)
    format = models.CharField(max_length=10, blank=True)
    encoding = models.CharField(max_length=30, blank=True)
    delimiter = models.CharField(max_length=4, blank=True)
    kind = models.CharField(_("records"), max_length=30)
    mapping = models.JSONField(_("columns"), default=list)
    """Per column of the file, the key of the field it fills or ``""``."""
    options = models.JSONField(_("options"), default=dict, blank=True)
    """The kind's own options (``crm.transfer.importing_options``): its value maps (a deals
    file's stages → this base's) and flags (create missing clients)."""
    policy = models.CharField(
        _("duplicates"), max_length=10, choices=Policy.choices, default=Policy.SKIP
    )
    owner_rule = models.CharField(
        _("responsible"), max_length=10, choices=OwnerRule.choices, default=OwnerRule.IMPORTER
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("chosen manager"),
    )
    """The chosen manager; with the column rule, the responsible of rows whose column is
    empty or names nobody (None: such rows fail)."""
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    cancel_requested = models.BooleanField(default=False)
    rows_total = models.PositiveIntegerField(null=True, blank=True)
    rows_done = models.PositiveIntegerField(default=0)
    last_row = models.PositiveIntegerField(default=0)
    """The file's number of the last row whose batch committed: a resumed run starts after."""
    created = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    skipped = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    queued_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)
    undone_at = models.DateTimeField(null=True, blank=True)
    undo_result = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(fields=["actor", "-created_at"], name="importjob_actor_created"),
            models.Index(fields=["status", "heartbeat_at"], name="importjob_status_beat"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.original_name}"

    @property
    def is_finished(self) -> bool:
        return self.status in {
            self.Status.DONE,
            self.Status.FAILED,
            self.Status.CANCELLED,
            self.Status.UNDONE,
        }


class ImportEntry(models.Model):
    """What became of one row of an import (a row may write two records: a contact and
    the company it names). ``previous`` holds the values an update replaced (for the
    undo); ``cells`` the failed row as read, for the failed-rows file."""

    class Action(models.TextChoices):
        CREATED = "created", _("Created")
        UPDATED = "updated", _("Updated")
        SKIPPED = "skipped", _("Skipped")
        FAILED = "failed", _("Failed")

    job = models.ForeignKey(ImportJob, on_delete=models.CASCADE, related_name="entries")
    row = models.PositiveIntegerField(_("row"))
    action = models.CharField(max_length=10, choices=Action.choices)
    kind = models.CharField(max_length=30, blank=True)
    record_id = models.BigIntegerField(null=True, blank=True)
    reason = models.TextField(blank=True)
    previous = models.JSONField(null=True, blank=True)
    cells = models.JSONField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["job", "action", "row"], name="importentry_job_action")]

    def __str__(self) -> str:
        return f"{self.job_id}:{self.row} {self.action}"


class ExternalId(models.Model):
    """The id a record has in the system a file came from (another CRM's "ID" column),
    stored by the import that created the record, so a later import of the same id
    updates that record instead of creating another (``Importer.external_ids``).

    One row per kind and value; a row whose record is gone (an undone import) is ignored
    and replaced by the next import that creates one.
    """

    kind = models.CharField(max_length=30)
    value = models.CharField(max_length=200)
    record_id = models.BigIntegerField()
    job = models.ForeignKey(ImportJob, null=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["kind", "value"], name="external_id_unique")]

    def __str__(self) -> str:
        return f"{self.kind} {self.value} → #{self.record_id}"
