"""The records tasks belong to, through the registry of record kinds
(``crm.core.records``): finding one a user sees, its card's URL, a task's record."""

from __future__ import annotations

from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.urls import reverse
from django.utils.translation import gettext as _

from crm.accounts.models import User
from crm.activities.services import timeline_record_sharing
from crm.core.errors import NotFound, ValidationFailed
from crm.core.records import RecordKind, registry
from crm.planner.models import Task


def _errors(field: str, message: str) -> ValidationFailed:
    return ValidationFailed(_("Check the task."), field_errors={field: [message]})


def _kind(subject: models.Model) -> RecordKind | None:
    """The registered kind of ``subject`` that tasks may belong to, or None."""
    kind = registry.kind_for(type(subject))
    return kind if kind is not None and kind.has_tasks else None


def subject_visible_to(user: User, subject: models.Model) -> bool:
    """Whether ``user`` may see ``subject`` (a registered record)."""
    kind = _kind(subject)
    if kind is None:
        return False
    return kind.visible_to(user).filter(pk=subject.pk).exists()


def _sharing(subject: models.Model) -> Any:
    """The ``shared_with`` manager of a record whose kind is registered ``shareable``, else None."""
    kind = _kind(subject)
    if kind is None or not kind.shareable:
        return None
    return subject.shared_with  # type: ignore[attr-defined]


def subject_share(subject: models.Model, user: User) -> bool:
    """Let ``user`` see ``subject`` too, on the system's behalf, with a "shared with" change on
    its timeline. False, changing nothing, when they already see it or its kind cannot be
    shared (a lead)."""
    shared_with = _sharing(subject)
    if shared_with is None or subject_visible_to(user, subject):
        return False
    before = list(shared_with.all())
    shared_with.add(user)
    timeline_record_sharing(subject=subject, author=None, before=before, after=[*before, user])
    return True


def subject_unshare(subject: models.Model, user: User) -> bool:
    """Take back ``subject_share``: ``user`` no longer sees ``subject`` through sharing (a
    "shared with" change on its timeline). False when it was not shared with them."""
    shared_with = _sharing(subject)
    if shared_with is None:
        return False
    before = list(shared_with.all())
    if user not in before:
        return False
    shared_with.remove(user)
    timeline_record_sharing(
        subject=subject,
        author=None,
        before=before,
        after=[person for person in before if person.pk != user.pk],
    )
    return True


def subject_history(subject: models.Model, user: User, *, limit: int = 8) -> list[Any]:
    """The newest ``limit`` entries of a record's timeline as ``user`` sees it, for a record
    they may see (the caller checks); empty for a kind without a timeline."""
    kind = _kind(subject)
    return kind.history(subject, user, limit) if kind is not None else []


def subject_url(subject: models.Model | None) -> str:
    """The card of a registered record ("" for none)."""
    kind = _kind(subject) if subject is not None else None
    return kind.url_of(subject) if kind is not None and subject is not None else ""


def subject_find(*, actor: User, kind: str, pk: Any, field: str = "subject") -> models.Model:
    """The record ``kind`` (``contact``, ``customers.contact`` …) ``pk`` that ``actor`` sees.

    Raises ``ValidationFailed`` naming ``field`` for an unknown kind or a bad id, and
    ``NotFound`` for a record that is missing or hidden from the actor.
    """
    registered = registry.find(kind)
    if registered is None or not registered.has_tasks:
        raise _errors(field, _("Unknown kind of record."))
    try:
        number = int(pk)
    except (TypeError, ValueError):
        raise _errors(field, _("Invalid record id.")) from None
    record: models.Model | None = registered.visible_to(actor).filter(pk=number).first()
    if record is None:
        raise NotFound(_("Not found."))
    return record


def subject_of(task: Task) -> models.Model | None:
    """The record ``task`` belongs to, or None for a personal to-do (or a deleted record)."""
    if task.subject_type_id is None:
        return None
    model = ContentType.objects.get_for_id(task.subject_type_id).model_class()
    return model._default_manager.filter(pk=task.subject_id).first() if model else None


def task_url(task: Task) -> str:
    return reverse("planner:task_detail", args=[task.pk])
