"""Helpers of the pipeline settings tests: pipelines and deals built directly (the deal
services are tested elsewhere; these tests need deals sitting in stages)."""

from __future__ import annotations

from django.utils import timezone

from crm.sales.choices import StageKind
from crm.sales.models import Deal, Pipeline, Stage, StageVisit


def make_pipeline(name: str = "Проекты", stages: tuple[tuple[str, str], ...] = ()) -> Pipeline:
    """A pipeline with the given (name, kind) stages in order, default: two open, won, lost."""
    pipeline = Pipeline.objects.create(name=name, position=10)
    stages = stages or (
        ("Новая", StageKind.OPEN),
        ("Переговоры", StageKind.OPEN),
        ("Успех", StageKind.WON),
        ("Отказ", StageKind.LOST),
    )
    for position, (stage_name, kind) in enumerate(stages):
        Stage.objects.create(pipeline=pipeline, name=stage_name, kind=kind, position=position)
    return pipeline


def stage(pipeline: Pipeline, name: str) -> Stage:
    return pipeline.stages.get(name=name)


def make_deal(stage: Stage, owner, *, title: str = "Сделка") -> Deal:
    """A deal sitting in ``stage`` (status from the stage's kind) with its visit."""
    now = timezone.now()
    deal = Deal.objects.create(
        title=title,
        pipeline=stage.pipeline,
        stage=stage,
        status=stage.kind,
        owner=owner,
        stage_entered_at=now,
        last_activity_at=now,
    )
    StageVisit.objects.create(deal=deal, stage=stage, entered_at=now, entered_by=owner, owner=owner)
    return deal


def order(pipeline: Pipeline) -> list[str]:
    return list(pipeline.stages.order_by("position", "id").values_list("name", flat=True))
