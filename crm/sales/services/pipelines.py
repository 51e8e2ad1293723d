"""Pipelines and stages: the administrator's configuration of how deals move.

Rules: a pipeline keeps at least one open stage; a stage with deals cannot be deleted (its
deals are moved to another stage of the same pipeline first, or it is archived); a client
type is the default of at most one live pipeline.
"""

from __future__ import annotations

import re
from typing import Any

from django.db import models, transaction
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from crm.accounts.models import User
from crm.core.errors import Conflict, NotFound, ValidationFailed
from crm.core.models import excluding
from crm.customers.choices import ClientType, FieldEntity
from crm.customers.models import CustomField
from crm.customers.services.cleaning import Errors, clean_text
from crm.sales.choices import ActionKind, DealField, StageKind
from crm.sales.models import Deal, LostReason, Pipeline, Stage, StageAction, StageVisit
from crm.sales.permissions import PIPELINES
from crm.sales.services.visits import visits_settle

COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")
NAME_MAX = 100
MAX_STAGES = 50


def pipeline_list(*, include_archived: bool = False) -> list[Pipeline]:
    qs = Pipeline.objects.all() if include_archived else Pipeline.objects.filter(archived=False)
    stages = Stage.objects.order_by("position", "id")
    if not include_archived:
        stages = stages.filter(archived=False)
    return list(qs.prefetch_related(models.Prefetch("stages", queryset=stages)))


def pipeline_get(*, pk: Any) -> Pipeline:
    try:
        return Pipeline.objects.get(pk=int(pk))
    except (Pipeline.DoesNotExist, TypeError, ValueError):
        raise NotFound(_("Not found.")) from None


def pipeline_for_client_type(client_type: str) -> Pipeline | None:
    """The live pipeline that is the default for ``client_type``, else the first live one."""
    pipelines = list(Pipeline.objects.filter(archived=False).order_by("position", "id"))
    for pipeline in pipelines:
        if client_type in (pipeline.client_types or []):
            return pipeline
    return pipelines[0] if pipelines else None


def first_open_stage(pipeline: Pipeline) -> Stage | None:
    return (
        pipeline.stages.filter(archived=False, kind=StageKind.OPEN)
        .order_by("position", "id")
        .first()
    )


def _clean_client_types(errors: Errors, raw: Any, pipeline: Pipeline | None) -> list[str]:
    if raw in (None, ""):
        return []
    if not isinstance(raw, list | tuple) or not all(value in ClientType.values for value in raw):
        errors.add("client_types", _("Choose client types from the list."))
        return []
    if raw and pipeline is not None and pipeline.archived:
        errors.add("client_types", _("An archived pipeline cannot be a default."))
        return []
    taken = excluding(Pipeline.objects.filter(archived=False), pipeline).values_list(
        "name", "client_types"
    )
    for name, types in taken:
        for value in raw:
            if value in (types or []):
                errors.add(
                    "client_types",
                    _("“%(type)s” is already the default of the pipeline “%(name)s”.")
                    % {"type": ClientType(value).label, "name": name},
                )
    return sorted(set(raw))


@transaction.atomic
def pipeline_save(
    *, actor: User, pipeline: Pipeline | None = None, name: Any, client_types: Any = None
) -> Pipeline:
    """Create a pipeline (with the stages «New», «Won», «Lost») or rename one.

    ``client_types=None`` keeps a pipeline's client types as they are (``[]`` clears them).
    """
    PIPELINES.check(actor)
    errors = Errors()
    name = clean_text(errors, "name", name, max_length=NAME_MAX, required=True)
    if client_types is None and pipeline is not None:
        types = list(pipeline.client_types or [])
    else:
        types = _clean_client_types(errors, client_types, pipeline)
    errors.raise_if_any()
    if pipeline is None:
        position = (Pipeline.objects.aggregate(m=models.Max("position"))["m"] or 0) + 1
        pipeline = Pipeline.objects.create(name=name, client_types=types, position=position)
        Stage.objects.bulk_create(
            [
                Stage(
                    pipeline=pipeline,
                    name=pgettext("stage of a deal", "New"),
                    kind=StageKind.OPEN,
                    probability=10,
                    position=0,
                    color="#0d6efd",
                ),
                Stage(
                    pipeline=pipeline,
                    name=_("Won"),
                    kind=StageKind.WON,
                    probability=100,
                    position=1,
                    color="#198754",
                ),
                Stage(
                    pipeline=pipeline,
                    name=_("Lost"),
                    kind=StageKind.LOST,
                    probability=0,
                    position=2,
                    color="#dc3545",
                ),
            ]
        )
        return pipeline
    pipeline.name = name
    pipeline.client_types = types
    pipeline.save(update_fields=["name", "client_types", "updated_at"])
    return pipeline


@transaction.atomic
def pipeline_archive(*, actor: User, pipeline: Pipeline, archived: bool = True) -> Pipeline:
    """Hide a pipeline from new deals; its deals stay. Refused while it has open deals."""
    PIPELINES.check(actor)
    if archived and Deal.objects.filter(pipeline=pipeline, status="open").exists():
        raise Conflict(_("Close or move the open deals of this pipeline first."))
    pipeline.archived = archived
    if archived:
        pipeline.client_types = []
    pipeline.save(update_fields=["archived", "client_types", "updated_at"])
    return pipeline


def _valid_required(value: str, custom_keys: set[str]) -> bool:
    """A built-in deal field or ``custom.<key>`` of an active deal custom field: a
    requirement no deal can meet would close the stage to every deal."""
    if value in DealField.values:
        return True
    return value.startswith("custom.") and value.removeprefix("custom.") in custom_keys


def _deal_custom_keys() -> set[str]:
    return set(
        CustomField.objects.filter(entity=FieldEntity.DEAL, is_active=True).values_list(
            "key", flat=True
        )
    )


def _clean_stage(errors: Errors, data: dict[str, Any], stage: Stage | None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if "name" in data or stage is None:
        out["name"] = clean_text(
            errors, "name", data.get("name"), max_length=NAME_MAX, required=True
        )
    if "kind" in data or stage is None:
        kind = data.get("kind") or StageKind.OPEN
        if kind not in StageKind.values:
            errors.add("kind", _("Choose open, won or lost."))
        out["kind"] = kind
    if "probability" in data:
        try:
            probability = int(data["probability"])
        except (TypeError, ValueError):
            probability = -1
        if not 0 <= probability <= 100:
            errors.add("probability", _("A whole number from 0 to 100."))
        out["probability"] = probability
    if "color" in data:
        color = str(data.get("color") or "")
        if not COLOR.match(color):
            errors.add("color", _("A colour like #1a2b3c."))
        out["color"] = color.lower()
    if "required_fields" in data:
        raw = data.get("required_fields") or []
        custom_keys = _deal_custom_keys() if isinstance(raw, list | tuple) else set()
        if not isinstance(raw, list | tuple) or not all(
            isinstance(v, str) and _valid_required(v, custom_keys) for v in raw
        ):
            errors.add("required_fields", _("Choose fields from the list."))
            raw = []
        out["required_fields"] = list(dict.fromkeys(raw))
    if "stale_after_days" in data:
        value = data.get("stale_after_days")
        if value in (None, ""):
            out["stale_after_days"] = None
        else:
            try:
                days = int(value)
            except (TypeError, ValueError):
                days = 0
            if not 1 <= days <= 365:
                errors.add("stale_after_days", _("From 1 to 365 days, or empty."))
            out["stale_after_days"] = days
    return out


@transaction.atomic
def stage_save(
    *, actor: User, pipeline: Pipeline, stage: Stage | None = None, **data: Any
) -> Stage:
    """Add a stage at the end of the open stages, or change one."""
    PIPELINES.check(actor)
    if stage is not None and stage.pipeline_id != pipeline.pk:
        raise NotFound(_("Not found."))
    errors = Errors()
    values = _clean_stage(errors, data, stage)
    errors.raise_if_any()
    if stage is None:
        if pipeline.stages.count() >= MAX_STAGES:
            raise ValidationFailed(
                field_errors={"name": [_("At most %(n)d stages.") % {"n": MAX_STAGES}]}
            )
        last_open = pipeline.stages.filter(kind=StageKind.OPEN).aggregate(m=models.Max("position"))[
            "m"
        ]
        position = (last_open if last_open is not None else -1) + 1
        pipeline.stages.filter(position__gte=position).update(position=models.F("position") + 1)
        return Stage.objects.create(pipeline=pipeline, position=position, **values)
    if values.get("kind", stage.kind) != stage.kind and (
        stage.deals.exists() or StageVisit.objects.filter(stage=stage).exists()
    ):
        # Its visits' kind is the history the reports count (a visit's ``decided_at`` and
        # ``won_at`` were written from it): a stage deals have passed through keeps its kind.
        raise Conflict(
            _("The kind of a stage that deals have passed through cannot change; make a new stage.")
        )
    for name, value in values.items():
        setattr(stage, name, value)
    stage.save()
    _keep_an_open_stage(pipeline)
    return stage


def _keep_an_open_stage(pipeline: Pipeline) -> None:
    if not pipeline.stages.filter(kind=StageKind.OPEN, archived=False).exists():
        raise ValidationFailed(
            _("A pipeline needs at least one open stage."),
            field_errors={"kind": [_("A pipeline needs at least one open stage.")]},
        )


@transaction.atomic
def stage_reorder(*, actor: User, pipeline: Pipeline, stage_ids: list[int]) -> None:
    """Put the pipeline's stages in the given order (every stage id exactly once)."""
    PIPELINES.check(actor)
    current = set(pipeline.stages.values_list("id", flat=True))
    if len(stage_ids) != len(set(stage_ids)) or set(stage_ids) != current:
        raise ValidationFailed(
            field_errors={"stage_ids": [_("List every stage of the pipeline once.")]}
        )
    stages = {stage.pk: stage for stage in pipeline.stages.all()}
    for position, pk in enumerate(stage_ids):
        stages[pk].position = position
    Stage.objects.bulk_update(stages.values(), ["position"])


@transaction.atomic
def stage_archive(*, actor: User, stage: Stage, archived: bool = True) -> Stage:
    """Hide a stage from the board and from moves; refused while open deals sit in it."""
    PIPELINES.check(actor)
    if archived and stage.deals.filter(status="open").exists():
        raise Conflict(_("Move the open deals of this stage first."))
    stage.archived = archived
    stage.save(update_fields=["archived"])
    _keep_an_open_stage(stage.pipeline)
    return stage


@transaction.atomic
def stage_delete(*, actor: User, stage: Stage, move_to: Stage | None = None) -> None:
    """Delete a stage; its deals (and their history) move to ``move_to`` first.

    A stage with deals, or one that deals have passed through (their ``StageVisit`` rows
    protect it), and no ``move_to`` is refused (409); ``move_to`` must be another live
    stage of the same pipeline of the same kind.
    """
    PIPELINES.check(actor)
    has_history = stage.deals.exists() or StageVisit.objects.filter(stage=stage).exists()
    if has_history and move_to is None:
        raise Conflict(_("This stage has deals: choose where to move them."))
    if move_to is not None:
        if move_to.pipeline_id != stage.pipeline_id or move_to.pk == stage.pk:
            raise ValidationFailed(
                field_errors={"move_to": [_("Choose another stage of this pipeline.")]}
            )
        if move_to.kind != stage.kind:
            raise ValidationFailed(
                field_errors={"move_to": [_("Choose a stage of the same kind.")]}
            )
        if move_to.archived:
            raise ValidationFailed(
                field_errors={"move_to": [_("Choose a stage that is not archived.")]}
            )
        stage.deals.update(stage=move_to)
        moved = StageVisit.objects.filter(stage=stage)
        deal_ids = list(moved.values_list("deal_id", flat=True).distinct())
        moved.update(stage=move_to)
        visits_settle(deal_ids)  # a deal that had visited both has a new prior entry there
    pipeline = stage.pipeline
    stage.delete()
    _keep_an_open_stage(pipeline)


def _clean_action(errors: Errors, kind: Any, config: Any) -> dict[str, Any]:
    if kind not in ActionKind.values:
        errors.add("kind", _("Choose an action."))
        return {}
    if not isinstance(config, dict):
        errors.add("config", _("Expected an object."))
        return {}
    from crm.sales.services.automation import clean_action_config

    return clean_action_config(errors, kind, config)


@transaction.atomic
def stage_action_save(
    *, actor: User, stage: Stage, kind: Any, config: Any, action: StageAction | None = None
) -> StageAction:
    PIPELINES.check(actor)
    errors = Errors()
    clean = _clean_action(errors, kind, config)
    errors.raise_if_any()
    if action is None:
        position = stage.actions.count()
        return StageAction.objects.create(stage=stage, kind=kind, config=clean, position=position)
    action.kind = kind
    action.config = clean
    action.save(update_fields=["kind", "config"])
    return action


@transaction.atomic
def stage_action_delete(*, actor: User, action: StageAction) -> None:
    PIPELINES.check(actor)
    action.delete()


@transaction.atomic
def lost_reason_save(*, actor: User, name: Any, reason: LostReason | None = None) -> LostReason:
    PIPELINES.check(actor)
    errors = Errors()
    name = clean_text(errors, "name", name, max_length=150, required=True)
    errors.raise_if_any()
    if reason is None:
        return LostReason.objects.create(name=name, position=LostReason.objects.count())
    reason.name = name
    reason.save(update_fields=["name"])
    return reason


@transaction.atomic
def lost_reason_archive(*, actor: User, reason: LostReason, archived: bool = True) -> LostReason:
    PIPELINES.check(actor)
    reason.archived = archived
    reason.save(update_fields=["archived"])
    return reason
