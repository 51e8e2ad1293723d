"""Tasks (to-dos of the users), their reminders, absences with substitutes, and the secret
calendar-feed tokens.

A task belongs to a contact, company, deal or lead through a content type and an id, as a
timeline entry does, so this app sits below the apps whose records it serves; those apps
declare their record kinds in the registry (``crm.core.records``). A task with no
subject is a personal to-do.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from crm.core.models import OwnedModel
from crm.planner.choices import AbsenceKind, BuiltinTaskType, CallOutcome, Priority, TaskStatus
from crm.planner.querysets import AbsenceQuerySet


class TaskType(models.Model):
    """A kind of task. The four built-in ones (``code`` from ``BuiltinTaskType``) are
    created by a migration and shown translated; the administrator adds others by name."""

    code = models.SlugField(_("code"), max_length=30, unique=True)
    name = models.CharField(_("name"), max_length=60)
    position = models.PositiveSmallIntegerField(default=100)
    archived = models.BooleanField(_("archived"), default=False)

    class Meta:
        verbose_name = _("task type")
        verbose_name_plural = _("task types")
        ordering = ["position", "name"]

    def __str__(self) -> str:
        return self.label

    @property
    def label(self) -> str:
        if self.code in BuiltinTaskType.values:
            return str(BuiltinTaskType(self.code).label)
        return self.name


class Task(OwnedModel):
    """One thing to do. ``due_at`` is an aware moment; an ``all_day`` task is due on the
    date of ``due_at`` in the responsible user's time zone and has no time."""

    # The record the task is about, loaded by ``selectors.attach_subjects`` (not a column;
    # only tasks passed through it have the attribute).
    subject_record: models.Model | None

    subject_type = models.ForeignKey(
        ContentType, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    subject_id = models.BigIntegerField(null=True, blank=True)
    type = models.ForeignKey(
        TaskType, on_delete=models.PROTECT, related_name="tasks", verbose_name=_("type")
    )
    title = models.CharField(_("title"), max_length=300)
    description = models.TextField(_("description"), blank=True, max_length=10000)
    due_at = models.DateTimeField(_("due"), null=True, blank=True)
    all_day = models.BooleanField(_("all day"), default=False)
    duration_minutes = models.PositiveIntegerField(_("duration, min"), null=True, blank=True)
    coworkers = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        blank=True,
        related_name="cowork_tasks",
        verbose_name=_("co-workers"),
    )
    watchers = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        blank=True,
        related_name="watched_tasks",
        verbose_name=_("watchers"),
    )
    priority = models.PositiveSmallIntegerField(
        _("priority"), choices=Priority.choices, default=Priority.NORMAL
    )
    status = models.CharField(
        _("status"), max_length=10, choices=TaskStatus.choices, default=TaskStatus.OPEN
    )
    completed_at = models.DateTimeField(_("completed"), null=True, blank=True)
    completed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    result = models.TextField(_("result"), blank=True, max_length=5000)
    outcome = models.CharField(_("outcome"), max_length=20, choices=CallOutcome.choices, blank=True)
    origin = models.CharField(
        _("origin"),
        max_length=100,
        blank=True,
        help_text=_("What created the task automatically, e.g. a stage rule."),
    )
    # Set once, by the sweep that escalated the overdue task (or told the substitute).
    escalated_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("task")
        verbose_name_plural = _("tasks")
        ordering = ["due_at", "id"]
        indexes = [
            # A manager's tasks by status and due moment; on PostgreSQL it carries the id and
            # the completion so the dashboard and the activity report count a viewer's
            # owners' tasks done, due today and overdue from the index alone.
            models.Index(
                fields=["owner", "status", "due_at"],
                include=["id", "completed_at", "all_day"],
                name="task_owner_due",
            ),
            models.Index(fields=["subject_type", "subject_id", "status"], name="task_subject"),
            models.Index(
                fields=["due_at"], condition=models.Q(status="open"), name="task_open_due"
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(subject_type__isnull=True, subject_id__isnull=True)
                | models.Q(subject_type__isnull=False, subject_id__isnull=False),
                name="task_subject_whole",
            )
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def is_open(self) -> bool:
        return self.status == TaskStatus.OPEN

    def is_overdue(self, now: dt.datetime | None = None) -> bool:
        """Open and past due: a timed task after its moment, an all-day one after its day."""
        if not self.is_open or self.due_at is None:
            return False
        now = now or timezone.now()
        if self.all_day:
            return timezone.localdate(self.due_at) < timezone.localdate(now)
        return self.due_at < now


class TaskReminder(models.Model):
    """A reminder of a task, ``minutes_before`` its due time (0: at the due time).

    ``fire_at`` is the due time (for an all-day task, the start of the working day) less the
    offset, recomputed whenever the task is rescheduled. ``sent_at`` is set, in the same
    transaction that writes the notifications, by the one worker that claimed the row, so a
    reminder is handled exactly once; ``delivered_count`` is how many notifications that
    wrote (0: skipped, e.g. the task was closed or the moment had passed when it was set).
    """

    task = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="reminders")
    minutes_before = models.PositiveIntegerField(_("minutes before"))
    fire_at = models.DateTimeField(_("fires at"))
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)
    delivered_count = models.PositiveSmallIntegerField(default=0)

    class Meta:
        verbose_name = _("reminder")
        verbose_name_plural = _("reminders")
        ordering = ["fire_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["task", "minutes_before"], name="task_reminder_unique")
        ]
        indexes = [
            models.Index(
                fields=["fire_at"], condition=models.Q(sent_at__isnull=True), name="reminder_due"
            )
        ]

    def __str__(self) -> str:
        return f"{self.task_id} −{self.minutes_before} min"


class EscalationShare(models.Model):
    """The task's record, shared with the colleague its escalation went to, for as long as the
    task is open: closing the task (done or cancelled) takes the share back."""

    task = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="escalation_shares")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["task", "user"], name="escalation_share_unique")
        ]

    def __str__(self) -> str:
        return f"{self.task_id} → {self.user_id}"


class Absence(models.Model):
    """A user's vacation, sick leave or business trip, both dates included, with the
    colleague who covers for them.

    While it lasts the substitute gets the user's reminders and overdue notices and sees
    and works the user's records (the cover of the access policies,
    ``permissions.covered_owner_ids``); the access ends by itself with the last day. A cancelled
    absence is kept (``cancelled_at``) as the record of the access it granted.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="absences",
        verbose_name=_("user"),
    )
    kind = models.CharField(_("kind"), max_length=10, choices=AbsenceKind.choices)
    starts_on = models.DateField(_("from"))
    ends_on = models.DateField(_("until"))
    substitute = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="covers",
        verbose_name=_("substitute"),
    )
    note = models.CharField(_("note"), max_length=300, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("recorded by"),
    )
    created_at = models.DateTimeField(_("recorded"), default=timezone.now)
    cancelled_at = models.DateTimeField(_("cancelled"), null=True, blank=True)
    cancelled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    objects = AbsenceQuerySet.as_manager()

    class Meta:
        verbose_name = _("absence")
        verbose_name_plural = _("absences")
        ordering = ["starts_on", "id"]
        indexes = [
            models.Index(fields=["ends_on", "starts_on"], name="absence_period"),
            models.Index(fields=["substitute", "ends_on"], name="absence_substitute"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ends_on__gte=models.F("starts_on")), name="absence_dates_order"
            ),
            models.CheckConstraint(
                condition=~models.Q(substitute=models.F("user")), name="absence_not_self_cover"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} {self.kind} {self.starts_on}–{self.ends_on}"

    @property
    def is_cancelled(self) -> bool:
        return self.cancelled_at is not None

    def covers(self, day: dt.date) -> bool:
        return not self.is_cancelled and self.starts_on <= day <= self.ends_on


class FeedToken(models.Model):
    """The secret of a user's iCalendar feed URL. Only a SHA-256 hash is stored.

    The token reads ``cal_<prefix>_<secret>``: ``prefix`` finds the row, the hash of the whole
    token is compared in constant time. Revoking it (or making a new one) kills the old URL.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="feed_tokens"
    )
    prefix = models.CharField(max_length=12, unique=True)
    token_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("calendar feed token")
        verbose_name_plural = _("calendar feed tokens")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.prefix}…"


class DigestRun(models.Model):
    """That the daily overdue digest of a team (``team:<id>``, or ``users`` for people in no
    team) went out on a day. The unique pair is the claim: of two schedulers only the one
    whose INSERT succeeds sends the digest."""

    key = models.CharField(max_length=40)
    day = models.DateField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["key", "day"], name="digest_run_unique")]

    def __str__(self) -> str:
        return f"{self.key} {self.day}"
