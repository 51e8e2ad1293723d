"""Tasks (to-dos of the users): what to do, for which record, by whom and when.

A task belongs to a contact, company, deal or lead through a content type and an id, as a
timeline entry does, so this app sits below the apps whose records it serves; those apps
register how to find and check their records (``crm.planner.subjects``). A task with no
subject is a personal to-do.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.utils.translation import gettext_lazy as _

from crm.core.models import TimeStampedModel
from crm.planner.choices import BuiltinTaskType, CallOutcome, Priority, TaskStatus


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


class Task(TimeStampedModel):
    """One thing to do. ``due_at`` is an aware moment; an ``all_day`` task is due on the
    date of ``due_at`` in the responsible user's time zone and has no time."""

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
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="tasks",
        verbose_name=_("responsible"),
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("created by"),
    )
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

    class Meta:
        verbose_name = _("task")
        verbose_name_plural = _("tasks")
        ordering = ["due_at", "id"]
        indexes = [
            models.Index(fields=["owner", "status", "due_at"], name="task_owner_due"),
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
