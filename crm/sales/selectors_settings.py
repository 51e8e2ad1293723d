"""Reads for the administrator's sales settings pages: pipelines with their stages and
actions, reasons for loss, and the choices their forms offer.

Every function here checks that the actor is an administrator; the counts come from
correlated subqueries, so a page costs the same number of queries for any number of rows.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.db import models
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from crm.accounts.models import User
from crm.core.errors import NotFound
from crm.core.models import related_count
from crm.core.permissions import Role
from crm.customers.choices import FieldEntity
from crm.customers.models import CustomField
from crm.planner.models import TaskType
from crm.sales.choices import ActionKind, DealField, DealStatus
from crm.sales.models import Deal, LostReason, Pipeline, Stage, StageAction, StageVisit
from crm.sales.permissions import SALES_SETTINGS

DUE_UNIT_LABELS = {
    "hours": gettext_lazy("hours"),
    "days": gettext_lazy("days"),
    "work_hours": gettext_lazy("working hours"),
    "work_days": gettext_lazy("working days"),
}


def pipeline_settings_list(*, actor: User) -> list[Pipeline]:
    """Every pipeline, archived ones last, with ``stage_count`` (live stages),
    ``deal_count`` and ``open_deal_count``."""
    SALES_SETTINGS.check(actor)
    return list(
        Pipeline.objects.annotate(
            stage_count=related_count(Stage.objects.filter(archived=False), "pipeline"),
            deal_count=related_count(Deal.objects.all(), "pipeline"),
            open_deal_count=related_count(Deal.objects.filter(status=DealStatus.OPEN), "pipeline"),
        ).order_by("archived", "position", "id")
    )


def pipeline_settings_get(*, actor: User, pk: Any) -> Pipeline:
    SALES_SETTINGS.check(actor)
    try:
        return Pipeline.objects.get(pk=int(pk))
    except (Pipeline.DoesNotExist, TypeError, ValueError):
        raise NotFound(_("Not found.")) from None


def required_field_choices() -> list[tuple[str, str]]:
    """What a stage may require: the built-in deal fields, then the active deal custom
    fields as ``custom.<key>``."""
    custom = CustomField.objects.filter(entity=FieldEntity.DEAL, is_active=True).order_by(
        "position", "id"
    )
    return [
        *((value, str(label)) for value, label in DealField.choices),
        *((f"custom.{field.key}", field.label) for field in custom),
    ]


def _required_labels() -> dict[str, str]:
    labels = {value: str(label) for value, label in DealField.choices}
    for key, label in CustomField.objects.filter(entity=FieldEntity.DEAL).values_list(
        "key", "label"
    ):
        labels[f"custom.{key}"] = label
    return labels


def task_type_choices() -> list[tuple[str, str]]:
    return [(t.code, t.label) for t in TaskType.objects.filter(archived=False)]


def user_choices(*, writers_only: bool = False) -> list[tuple[str, str]]:
    """Active users as (id, name) pairs; ``writers_only`` leaves out read-only users, who
    can neither own a deal nor do a task."""
    users = get_user_model().objects.filter(is_active=True)
    if writers_only:
        users = users.exclude(role=Role.READONLY)
    return [
        (str(user.pk), str(user)) for user in users.order_by("last_name", "first_name", "username")
    ]


def action_summary(action: StageAction, users: dict[int, str], task_types: dict[str, str]) -> str:
    """One line saying what ``action`` does, for the list of a stage's actions."""
    config = action.config or {}

    def user(value: Any) -> str:
        try:
            return users.get(int(value), _("a user who no longer exists"))
        except (TypeError, ValueError):
            return _("a user who no longer exists")

    if action.kind == ActionKind.CREATE_TASK:
        who = {
            "responsible": _("the responsible"),
            "head": _("the head of their team"),
        }.get(config.get("assignee") or "responsible") or user(config.get("user_id"))
        return _("“%(title)s” (%(type)s) due in %(n)s %(unit)s, for %(who)s") % {
            "title": config.get("title", ""),
            "type": task_types.get(config.get("type") or "todo", config.get("type") or ""),
            "n": config.get("due_in", 0),
            "unit": DUE_UNIT_LABELS.get(config.get("due_unit") or "work_hours", ""),
            "who": who,
        }
    if action.kind == ActionKind.NOTIFY:
        names = []
        for value in config.get("recipients") or []:
            if value == "responsible":
                names.append(_("the responsible"))
            elif value == "head":
                names.append(_("the head of their team"))
            else:
                names.append(user(value))
        text = _("To %(who)s") % {"who": ", ".join(names)}
        if config.get("message"):
            text = f"{text}: {config['message']}"
        return text
    if action.kind == ActionKind.SET_OWNER:
        return _("To %(user)s") % {"user": user(config.get("user_id"))}
    return str(config.get("url", ""))


def _user_ids(actions: list[StageAction]) -> set[int]:
    ids: set[int] = set()
    for action in actions:
        config = action.config or {}
        values = [config.get("user_id"), *(config.get("recipients") or [])]
        ids.update(value for value in values if isinstance(value, int))
    return ids


def summarise_actions(actions: list[StageAction]) -> None:
    """Set ``summary`` on each action (two queries for any number of actions)."""
    ids = _user_ids(actions)
    users = (
        {user.pk: str(user) for user in get_user_model().objects.filter(pk__in=ids)} if ids else {}
    )
    task_types = {t.code: t.label for t in TaskType.objects.all()} if actions else {}
    for action in actions:
        action.summary = action_summary(action, users, task_types)  # type: ignore[attr-defined]


def pipeline_stage_editor(*, actor: User, pipeline: Pipeline) -> list[Stage]:
    """The stages of ``pipeline`` in order (archived ones too) with ``deal_count``,
    ``open_deal_count``, ``visit_count``, their actions (each with a ``summary``) and
    ``required_labels`` (the labels of the fields they require)."""
    SALES_SETTINGS.check(actor)
    stages: list[Stage] = list(
        pipeline.stages.annotate(
            deal_count=related_count(Deal.objects.all(), "stage"),
            open_deal_count=related_count(Deal.objects.filter(status=DealStatus.OPEN), "stage"),
            visit_count=related_count(StageVisit.objects.all(), "stage"),
        )
        .prefetch_related(
            models.Prefetch("actions", queryset=StageAction.objects.order_by("position", "id"))
        )
        .order_by("position", "id")
    )
    actions = [action for stage in stages for action in stage.actions.all()]
    summarise_actions(actions)
    labels = _required_labels() if any(stage.required_fields for stage in stages) else {}
    for stage in stages:
        stage.required_labels = [  # type: ignore[attr-defined]
            labels.get(name, name) for name in stage.required_fields or []
        ]
    return stages


def stage_settings_get(*, actor: User, pk: Any) -> Stage:
    """A stage with its pipeline, its deal and visit counts and its summarised actions."""
    SALES_SETTINGS.check(actor)
    try:
        stage = (
            Stage.objects.select_related("pipeline")
            .annotate(
                deal_count=related_count(Deal.objects.all(), "stage"),
                open_deal_count=related_count(Deal.objects.filter(status=DealStatus.OPEN), "stage"),
                visit_count=related_count(StageVisit.objects.all(), "stage"),
            )
            .get(pk=int(pk))
        )
    except (Stage.DoesNotExist, TypeError, ValueError):
        raise NotFound(_("Not found.")) from None
    return stage


def stage_actions(*, stage: Stage) -> list[StageAction]:
    actions = list(stage.actions.order_by("position", "id"))
    summarise_actions(actions)
    return actions


def stage_move_targets(*, stage: Stage) -> list[Stage]:
    """Where the deals of ``stage`` may go when it is deleted: the other live stages of
    its pipeline of the same kind."""
    return list(
        Stage.objects.filter(pipeline_id=stage.pipeline_id, kind=stage.kind, archived=False)
        .exclude(pk=stage.pk)
        .order_by("position", "id")
    )


def stage_action_settings_get(*, actor: User, pk: Any) -> StageAction:
    SALES_SETTINGS.check(actor)
    try:
        return StageAction.objects.select_related("stage__pipeline").get(pk=int(pk))
    except (StageAction.DoesNotExist, TypeError, ValueError):
        raise NotFound(_("Not found.")) from None


def lost_reason_settings_list(*, actor: User) -> list[LostReason]:
    """Every reason for loss, archived ones last, with ``deal_count``."""
    SALES_SETTINGS.check(actor)
    return list(
        LostReason.objects.annotate(
            deal_count=related_count(Deal.objects.all(), "lost_reason")
        ).order_by("archived", "position", "name")
    )


def lost_reason_settings_get(*, actor: User, pk: Any) -> LostReason:
    SALES_SETTINGS.check(actor)
    try:
        return LostReason.objects.get(pk=int(pk))
    except (LostReason.DoesNotExist, TypeError, ValueError):
        raise NotFound(_("Not found.")) from None
