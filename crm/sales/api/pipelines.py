"""Pipelines, their stages and the reasons for loss: everyone signed in reads them, only
administrators change them (the services refuse others with 403)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Query, Router, Status

from crm.core.api import READ_ERRORS, WRITE_ERRORS, DatabaseId, ErrorOut, request_user
from crm.core.errors import NotFound, ValidationFailed
from crm.core.permissions import sees_everything
from crm.sales import selectors_settings
from crm.sales.api.schemas import (
    LostReasonIn,
    LostReasonOut,
    PipelineIn,
    PipelineListParams,
    PipelineOut,
    StageDeleteParams,
    StageIn,
    StageOrderIn,
    StageOut,
)
from crm.sales.models import LostReason
from crm.sales.services import pipelines as pipeline_services

pipelines_router = Router(tags=["Pipelines"])
stages_router = Router(tags=["Pipelines"])
lost_reasons_router = Router(tags=["Pipelines"])

# Writes that may also meet a conflict (an archive refused while open deals remain, a stage
# whose kind cannot change …).
CONFLICT_ERRORS: dict[int, Any] = {409: ErrorOut, **WRITE_ERRORS}


# --- pipelines and stages ---------------------------------------------------------------------


@pipelines_router.get(
    "", response={200: list[PipelineOut], **READ_ERRORS}, summary="List pipelines"
)
def pipeline_list(request: HttpRequest, params: Query[PipelineListParams]) -> Any:
    """Pipelines with their stages in order; archived ones (and archived stages) only with
    ``include_archived``."""
    return pipeline_services.pipeline_list(include_archived=params.include_archived)


@pipelines_router.post(
    "", response={201: PipelineOut, **WRITE_ERRORS}, summary="Create a pipeline (admin)"
)
def pipeline_create(request: HttpRequest, payload: PipelineIn) -> Any:
    """A new pipeline starts with three stages: «New», «Won», «Lost»."""
    pipeline = pipeline_services.pipeline_save(
        actor=request_user(request), name=payload.name, client_types=payload.client_types
    )
    return Status(201, pipeline_services.pipeline_get(pk=pipeline.pk))


@pipelines_router.get(
    "/{pipeline_id}", response={200: PipelineOut, **READ_ERRORS}, summary="One pipeline"
)
def pipeline_detail(request: HttpRequest, pipeline_id: DatabaseId) -> Any:
    """The pipeline with all its stages, archived ones included (``archived``)."""
    return pipeline_services.pipeline_get(pk=pipeline_id)


@pipelines_router.patch(
    "/{pipeline_id}",
    response={200: PipelineOut, **WRITE_ERRORS},
    summary="Rename a pipeline or set its client types (admin)",
)
def pipeline_update(request: HttpRequest, pipeline_id: DatabaseId, payload: PipelineIn) -> Any:
    pipeline = pipeline_services.pipeline_get(pk=pipeline_id)
    given = payload.model_fields_set
    pipeline_services.pipeline_save(
        actor=request_user(request),
        pipeline=pipeline,
        name=payload.name if "name" in given else pipeline.name,
        client_types=payload.client_types if "client_types" in given else None,
    )
    return pipeline_services.pipeline_get(pk=pipeline_id)


def _pipeline_archive(request: HttpRequest, pipeline_id: int, *, archived: bool) -> Any:
    pipeline = pipeline_services.pipeline_get(pk=pipeline_id)
    pipeline_services.pipeline_archive(
        actor=request_user(request), pipeline=pipeline, archived=archived
    )
    return pipeline_services.pipeline_get(pk=pipeline_id)


@pipelines_router.post(
    "/{pipeline_id}/archive",
    response={200: PipelineOut, **CONFLICT_ERRORS},
    summary="Archive a pipeline (admin)",
)
def pipeline_archive(request: HttpRequest, pipeline_id: DatabaseId) -> Any:
    """Hide a pipeline from new deals; refused (409) while it has open deals."""
    return _pipeline_archive(request, pipeline_id, archived=True)


@pipelines_router.post(
    "/{pipeline_id}/restore",
    response={200: PipelineOut, **CONFLICT_ERRORS},
    summary="Bring an archived pipeline back (admin)",
)
def pipeline_restore(request: HttpRequest, pipeline_id: DatabaseId) -> Any:
    return _pipeline_archive(request, pipeline_id, archived=False)


@pipelines_router.get(
    "/{pipeline_id}/stages",
    response={200: list[StageOut], **READ_ERRORS},
    summary="The stages of a pipeline",
)
def stage_list(request: HttpRequest, pipeline_id: DatabaseId) -> Any:
    """Every stage in order, archived ones included (``archived``)."""
    return list(pipeline_services.pipeline_get(pk=pipeline_id).stages.all())


@pipelines_router.post(
    "/{pipeline_id}/stages",
    response={201: StageOut, **WRITE_ERRORS},
    summary="Add a stage (admin)",
)
def stage_create(request: HttpRequest, pipeline_id: DatabaseId, payload: StageIn) -> Any:
    """The new stage goes after the last open stage."""
    pipeline = pipeline_services.pipeline_get(pk=pipeline_id)
    stage = pipeline_services.stage_save(
        actor=request_user(request), pipeline=pipeline, **payload.model_dump(exclude_unset=True)
    )
    return Status(201, stage)


@pipelines_router.post(
    "/{pipeline_id}/stages/order",
    response={200: list[StageOut], **WRITE_ERRORS},
    summary="Put the stages in order (admin)",
)
def stage_order(request: HttpRequest, pipeline_id: DatabaseId, payload: StageOrderIn) -> Any:
    pipeline = pipeline_services.pipeline_get(pk=pipeline_id)
    pipeline_services.stage_reorder(
        actor=request_user(request), pipeline=pipeline, stage_ids=payload.stage_ids
    )
    return list(pipeline_services.pipeline_get(pk=pipeline_id).stages.all())


@stages_router.patch(
    "/{stage_id}", response={200: StageOut, **CONFLICT_ERRORS}, summary="Change a stage (admin)"
)
def stage_update(request: HttpRequest, stage_id: DatabaseId, payload: StageIn) -> Any:
    """Change the fields sent. The kind of a stage that deals have passed through cannot change (409)."""
    actor = request_user(request)
    stage = selectors_settings.stage_settings_get(actor=actor, pk=stage_id)
    pipeline_services.stage_save(
        actor=actor,
        pipeline=stage.pipeline,
        stage=stage,
        **payload.model_dump(exclude_unset=True),
    )
    return selectors_settings.stage_settings_get(actor=actor, pk=stage_id)


@stages_router.delete(
    "/{stage_id}", response={204: None, **CONFLICT_ERRORS}, summary="Delete a stage (admin)"
)
def stage_delete(
    request: HttpRequest, stage_id: DatabaseId, params: Query[StageDeleteParams]
) -> Any:
    """A stage that has deals, or that deals passed through, needs ``move_to``: another live
    stage of the same pipeline and kind that takes its deals and their history (else 409).
    A pipeline keeps at least one open stage."""
    actor = request_user(request)
    stage = selectors_settings.stage_settings_get(actor=actor, pk=stage_id)
    move_to = None
    if params.move_to is not None:
        try:
            move_to = selectors_settings.stage_settings_get(actor=actor, pk=params.move_to)
        except NotFound:
            raise ValidationFailed(field_errors={"move_to": [_("No such stage.")]}) from None
    pipeline_services.stage_delete(actor=actor, stage=stage, move_to=move_to)
    return Status(204, None)


def _stage_archive(request: HttpRequest, stage_id: int, *, archived: bool) -> Any:
    actor = request_user(request)
    stage = selectors_settings.stage_settings_get(actor=actor, pk=stage_id)
    pipeline_services.stage_archive(actor=actor, stage=stage, archived=archived)
    return selectors_settings.stage_settings_get(actor=actor, pk=stage_id)


@stages_router.post(
    "/{stage_id}/archive",
    response={200: StageOut, **CONFLICT_ERRORS},
    summary="Archive a stage (admin)",
)
def stage_archive(request: HttpRequest, stage_id: DatabaseId) -> Any:
    """Hide a stage from the board and from moves; refused (409) while open deals sit in it."""
    return _stage_archive(request, stage_id, archived=True)


@stages_router.post(
    "/{stage_id}/restore",
    response={200: StageOut, **CONFLICT_ERRORS},
    summary="Bring an archived stage back (admin)",
)
def stage_restore(request: HttpRequest, stage_id: DatabaseId) -> Any:
    return _stage_archive(request, stage_id, archived=False)


# --- reasons for loss -------------------------------------------------------------------------


@lost_reasons_router.get(
    "", response={200: list[LostReasonOut], **READ_ERRORS}, summary="Reasons for loss"
)
def lost_reason_list(request: HttpRequest, params: Query[PipelineListParams]) -> Any:
    """The live reasons (what ``lost_reason_id`` takes); ``include_archived`` adds the
    archived ones for administrators."""
    actor = request_user(request)
    if params.include_archived and sees_everything(actor):
        return selectors_settings.lost_reason_settings_list(actor=actor)
    # No selector lists the live reasons for everyone yet; the board and the card read
    # them the same way.
    return list(LostReason.objects.filter(archived=False))


@lost_reasons_router.post(
    "", response={201: LostReasonOut, **WRITE_ERRORS}, summary="Add a reason for loss (admin)"
)
def lost_reason_create(request: HttpRequest, payload: LostReasonIn) -> Any:
    reason = pipeline_services.lost_reason_save(actor=request_user(request), name=payload.name)
    return Status(201, reason)


@lost_reasons_router.patch(
    "/{reason_id}",
    response={200: LostReasonOut, **WRITE_ERRORS},
    summary="Rename a reason for loss (admin)",
)
def lost_reason_update(request: HttpRequest, reason_id: DatabaseId, payload: LostReasonIn) -> Any:
    actor = request_user(request)
    reason = selectors_settings.lost_reason_settings_get(actor=actor, pk=reason_id)
    name = payload.name if "name" in payload.model_fields_set else reason.name
    return pipeline_services.lost_reason_save(actor=actor, name=name, reason=reason)


def _lost_reason_archive(request: HttpRequest, reason_id: int, *, archived: bool) -> Any:
    actor = request_user(request)
    reason = selectors_settings.lost_reason_settings_get(actor=actor, pk=reason_id)
    return pipeline_services.lost_reason_archive(actor=actor, reason=reason, archived=archived)


@lost_reasons_router.post(
    "/{reason_id}/archive",
    response={200: LostReasonOut, **WRITE_ERRORS},
    summary="Archive a reason for loss (admin)",
)
def lost_reason_archive(request: HttpRequest, reason_id: DatabaseId) -> Any:
    """The deals lost for this reason keep it; new losses cannot choose it."""
    return _lost_reason_archive(request, reason_id, archived=True)


@lost_reasons_router.post(
    "/{reason_id}/restore",
    response={200: LostReasonOut, **WRITE_ERRORS},
    summary="Bring an archived reason for loss back (admin)",
)
def lost_reason_restore(request: HttpRequest, reason_id: DatabaseId) -> Any:
    return _lost_reason_archive(request, reason_id, archived=False)
