"""Deals: create, change, move between stages (with the stage's requirements and actions),
win, lose, reopen.

A move is one transaction: lock the deal, check the target stage's required fields, close
the current stage visit and open the next, record the change on the timeline, then run the
stage's actions. A refused move raises ``ValidationFailed`` naming each missing field and
changes nothing.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from crm.accounts.models import User
from crm.activities.choices import EntryKind
from crm.activities.services import (
    timeline_record,
    timeline_record_changes,
    timeline_record_sharing,
)
from crm.core.errors import NotFound, ValidationFailed
from crm.core.models import field_verbose_name, owner_hand_over
from crm.core.permissions import ScopedUser
from crm.core.policies import CHANGE
from crm.core.text import fold
from crm.customers.choices import ClientType, FieldEntity
from crm.customers.models import Company, Contact, CustomField, Tag
from crm.customers.services.cleaning import (
    Errors,
    clean_choice,
    clean_custom_values,
    clean_date,
    clean_tags,
    clean_text,
    custom_field_definitions,
)
from crm.customers.services.records import resolve_owner
from crm.customers.services.touch import clients_touch, clients_touch_recompute
from crm.sales.choices import Currency, DealField, DealStatus, StageKind
from crm.sales.models import Deal, LostReason, Pipeline, Stage, StageVisit
from crm.sales.permissions import DEAL
from crm.sales.services.automation import run_stage_actions
from crm.sales.services.decimals import clean_decimal
from crm.sales.services.pipelines import first_open_stage, pipeline_for_client_type
from crm.sales.services.visits import visit_begin, visits_settle

TITLE_MAX = 200
# Fields recorded on the timeline when they change, in the order shown.
TRACKED = (
    "title",
    "amount",
    "currency",
    "amount_from_lines",
    "expected_close",
    "contact",
    "company",
    "owner",
    "source",
    "invoice_number",
    "contract_number",
    "notes",
)


# --- access -------------------------------------------------------------------------------------


def deal_get(*, actor: ScopedUser, pk: Any, for_update: bool = False) -> Deal:
    """The deal ``pk`` if ``actor`` may see it, else ``NotFound``."""
    try:
        pk = int(pk)
    except (TypeError, ValueError):
        raise NotFound(_("Not found.")) from None
    if for_update:
        # The lock is taken on the deal's row alone, then the deal is read: on PostgreSQL a
        # locking read that waited for another writer rechecks its joins against the
        # changed row but the old joined rows, so a deal moved meanwhile to another stage
        # would fail its own ``JOIN`` on the stage and look missing.
        Deal.objects.select_for_update().filter(pk=pk).values_list("pk").first()
    qs = Deal.objects.visible_to(actor).select_related("stage", "pipeline", "owner")
    try:
        return qs.get(pk=pk)
    except Deal.DoesNotExist:
        raise NotFound(_("Not found.")) from None


def deal_get_writable(*, actor: ScopedUser, pk: Any, for_update: bool = False) -> Deal:
    """The deal ``pk`` if ``actor`` may see it (else ``NotFound``) and change it (else
    ``PermissionDenied``)."""
    deal = deal_get(actor=actor, pk=pk, for_update=for_update)
    deal_check_writable(actor=actor, deal=deal)
    return deal


def deal_check_writable(*, actor: ScopedUser, deal: Deal | None) -> None:
    """Raise unless ``actor`` may change ``deal`` (or create one when ``None``)."""
    DEAL.check(actor, CHANGE, deal)


# --- cleaning ------------------------------------------------------------------------------------


@dataclass
class CleanDeal:
    fields: dict[str, Any]
    pipeline: Pipeline | None = None
    stage: Stage | None = None
    tags: list[str] | None = None
    custom: dict[str, Any] | None = None


def _visible_client(actor: ScopedUser, errors: Errors, name: str, model: Any, value: Any) -> Any:
    if value in (None, ""):
        return None
    try:
        pk = int(value)
    except (TypeError, ValueError):
        errors.add(name, _("Choose a record."))
        return None
    record = model.objects.visible_to(actor).filter(pk=pk).first()
    if record is None:
        errors.add(name, _("No such record."))
    return record


def deal_client_type(*, contact: Contact | None, company: Company | None) -> str:
    if company is not None:
        return company.client_type
    if contact is not None:
        return contact.client_type
    return ClientType.PRIVATE


def _clean_pipeline_stage(
    errors: Errors, data: dict[str, Any], deal: Deal | None
) -> tuple[Pipeline | None, Stage | None]:
    pipeline = deal.pipeline if deal else None
    if "pipeline_id" in data and data["pipeline_id"] not in (None, ""):
        try:
            pipeline = Pipeline.objects.get(pk=int(data["pipeline_id"]), archived=False)
        except (Pipeline.DoesNotExist, TypeError, ValueError):
            errors.add("pipeline_id", _("No such pipeline."))
            return None, None
    stage = None
    if "stage_id" in data and data["stage_id"] not in (None, ""):
        try:
            stage = Stage.objects.select_related("pipeline").get(pk=int(data["stage_id"]))
        except (Stage.DoesNotExist, TypeError, ValueError):
            errors.add("stage_id", _("No such stage."))
            return pipeline, None
        if stage.archived or stage.pipeline.archived:
            errors.add("stage_id", _("This stage is archived."))
        if pipeline is None:
            pipeline = stage.pipeline
        elif stage.pipeline_id != pipeline.pk:
            errors.add("stage_id", _("The stage belongs to another pipeline."))
    elif pipeline is not None and (deal is None or pipeline.pk != deal.pipeline_id):
        stage = first_open_stage(pipeline)
    return pipeline, stage


def clean_deal(actor: ScopedUser, data: dict[str, Any], *, deal: Deal | None = None) -> CleanDeal:
    """Validate deal input (all fields on create, the given ones on update)."""
    errors = Errors()
    out: dict[str, Any] = {}
    creating = deal is None

    def given(name: str) -> bool:
        return creating or name in data

    if given("title"):
        out["title"] = clean_text(
            errors, "title", data.get("title"), max_length=TITLE_MAX, required=True
        )
    if given("amount"):
        out["amount"] = clean_decimal(errors, "amount", data.get("amount"))
    if given("currency"):
        out["currency"] = (
            clean_choice(
                errors, "currency", data.get("currency"), Currency.values, default=Currency.RUB
            )
            or Currency.RUB
        )
    if "amount_from_lines" in data:
        out["amount_from_lines"] = bool(data.get("amount_from_lines"))
    if given("expected_close"):
        out["expected_close"] = clean_date(errors, "expected_close", data.get("expected_close"))
    if given("contact_id"):
        out["contact"] = _visible_client(
            actor, errors, "contact_id", Contact, data.get("contact_id")
        )
    if given("company_id"):
        out["company"] = _visible_client(
            actor, errors, "company_id", Company, data.get("company_id")
        )
    for name, limit in (("source", 20), ("invoice_number", 50), ("contract_number", 50)):
        if given(name):
            out[name] = clean_text(errors, name, data.get(name), max_length=limit)
    if given("notes"):
        out["notes"] = clean_text(
            errors, "notes", data.get("notes"), max_length=10000, multiline=True
        )
    if given("owner_id"):
        try:
            out["owner_id"] = resolve_owner(
                actor, data.get("owner_id"), deal.owner_id if deal else None
            )
        except ValidationFailed as error:
            for message in error.field_errors.get("owner_id", []):
                errors.add("owner_id", message)
    pipeline, stage = _clean_pipeline_stage(errors, data, deal)
    tags = clean_tags(errors, data["tags"]) if "tags" in data else None
    custom = None
    if given("custom"):
        contact = out.get("contact", deal.contact if deal else None)
        company = out.get("company", deal.company if deal else None)
        custom = clean_custom_values(
            errors,
            definitions=custom_field_definitions(FieldEntity.DEAL),
            client_type=deal_client_type(contact=contact, company=company),
            values=data.get("custom"),
            previous=deal.custom if deal else None,
        )
    errors.raise_if_any()
    return CleanDeal(fields=out, pipeline=pipeline, stage=stage, tags=tags, custom=custom)


# --- stage requirements --------------------------------------------------------------------------


def _custom_labels() -> dict[str, str]:
    return dict(CustomField.objects.filter(entity=FieldEntity.DEAL).values_list("key", "label"))


def requirement_label(name: str, custom_labels: dict[str, str] | None = None) -> str:
    if name.startswith("custom."):
        key = name.removeprefix("custom.")
        return (custom_labels if custom_labels is not None else _custom_labels()).get(key, key)
    return str(DealField(name).label) if name in DealField.values else name


def missing_fields(deal: Deal, stage: Stage) -> list[str]:
    """The requirements of ``stage`` that ``deal`` does not meet (field names)."""
    from crm.sales.services.payments import deal_has_prepayment, deal_is_paid

    missing = []
    for name in stage.required_fields or []:
        if name == DealField.AMOUNT:
            ok = deal.amount is not None and deal.amount > 0
        elif name == DealField.CLIENT:
            ok = deal.contact_id is not None or deal.company_id is not None
        elif name == DealField.CONTACT:
            ok = deal.contact_id is not None
        elif name == DealField.COMPANY:
            ok = deal.company_id is not None
        elif name == DealField.LINES:
            ok = deal.pk is not None and deal.lines.exists()
        elif name == DealField.PREPAYMENT:
            ok = deal.pk is not None and deal_has_prepayment(deal)
        elif name == DealField.PAID:
            ok = deal.pk is not None and deal_is_paid(deal)
        elif name.startswith("custom."):
            ok = (deal.custom or {}).get(name.removeprefix("custom.")) not in (None, "", [])
        else:
            ok = bool(getattr(deal, name, None))
        if not ok:
            missing.append(name)
    return missing


def _refuse_missing(deal: Deal, stage: Stage) -> None:
    missing = missing_fields(deal, stage)
    if not missing:
        return
    labels = _custom_labels()
    names = ", ".join(requirement_label(name, labels) for name in missing)
    message = _("To move the deal to “%(stage)s”, fill in: %(fields)s.") % {
        "stage": stage.name,
        "fields": names,
    }
    raise ValidationFailed(
        message,
        field_errors={
            name: [_("Required at the stage “%(stage)s”.") % {"stage": stage.name}]
            for name in missing
        },
    )


# --- writing --------------------------------------------------------------------------------------


def _display(deal: Deal, name: str) -> str:
    value = getattr(deal, name)
    if value is None or value == "":
        return ""
    if isinstance(value, bool):
        return gettext_noop("yes") if value else gettext_noop("no")
    if isinstance(value, Decimal | dt.date):
        return str(value)
    return str(value)


def _snapshot(deal: Deal) -> dict[str, str]:
    return {name: _display(deal, name) for name in TRACKED}


def _diff(before: dict[str, str], after: dict[str, str]) -> list[dict[str, str]]:
    return [
        {
            "field": name,
            "label": field_verbose_name(Deal, name),
            "old": before[name],
            "new": after[name],
        }
        for name in TRACKED
        if before[name] != after[name]
    ]


def _apply(deal: Deal, clean: CleanDeal) -> None:
    for name, value in clean.fields.items():
        setattr(deal, name, value)
    deal.search_text = fold(deal.title)[:200]
    if clean.custom is not None:
        deal.custom = clean.custom


def _sync_tags(deal: Deal, names: list[str]) -> None:
    tags = []
    for name in names:
        tag = Tag.objects.filter(name__iexact=name).first() or Tag.objects.create(name=name)
        tags.append(tag)
    deal.tags.set(tags)


def stale_due(deal: Deal, since: dt.datetime) -> dt.datetime | None:
    """When an open deal idle since ``since`` becomes stale in its current stage."""
    days = deal.stage.stale_after_days
    if deal.status != DealStatus.OPEN or not days:
        return None
    return since + dt.timedelta(days=days)


def _active(deal: Deal, now: dt.datetime) -> None:
    deal.last_activity_at = now
    deal.stale_notified_at = None
    deal.stale_escalated_at = None
    deal.stale_due_at = stale_due(deal, now)


def _touch_clients(deal: Deal) -> None:
    """Activity on a deal is a touch of its contact and company (their stored last touch,
    ``customers.services.touch``); call after saving the deal."""
    clients_touch(at=deal.last_activity_at, contact_id=deal.contact_id, company_id=deal.company_id)


def _enter(deal: Deal, stage: Stage, actor: User, now: dt.datetime) -> None:
    deal.stage = stage
    closed: dict[str, str] = {StageKind.WON: DealStatus.WON, StageKind.LOST: DealStatus.LOST}
    deal.status = closed.get(stage.kind, DealStatus.OPEN)
    deal.stage_entered_at = now
    _active(deal, now)
    deal.closed_at = now if deal.status != DealStatus.OPEN else None
    if deal.status != DealStatus.LOST:
        deal.lost_reason = None
        deal.lost_comment = ""


@transaction.atomic
def deal_create(*, actor: User, data: dict[str, Any]) -> Deal:
    """Create a deal in the given (or the client type's default) pipeline and stage."""
    deal_check_writable(actor=actor, deal=None)
    clean = clean_deal(actor, data)
    pipeline, stage = clean.pipeline, clean.stage
    if pipeline is None:
        client_type = deal_client_type(
            contact=clean.fields.get("contact"), company=clean.fields.get("company")
        )
        pipeline = pipeline_for_client_type(client_type)
        if pipeline is None:
            raise ValidationFailed(field_errors={"pipeline_id": [_("Create a pipeline first.")]})
    if stage is None:
        stage = first_open_stage(pipeline)
    if stage is None or stage.kind != StageKind.OPEN:
        raise ValidationFailed(
            field_errors={"stage_id": [_("A new deal starts in an open stage.")]}
        )
    now = timezone.now()
    deal = Deal(
        pipeline=pipeline,
        created_by=actor,
        owner_id=actor.pk,
        stage_entered_at=now,
        last_activity_at=now,
    )
    _apply(deal, clean)
    _enter(deal, stage, actor, now)
    _refuse_missing(deal, stage)
    deal.save()
    _touch_clients(deal)
    if clean.tags:
        _sync_tags(deal, clean.tags)
    visit_begin(deal=deal, stage=stage, actor=actor, now=now)
    timeline_record(subject=deal, kind=EntryKind.CREATED, author=actor, data={"stage": stage.name})
    run_stage_actions(deal=deal, stage=stage, actor=actor)
    return deal


@transaction.atomic
def deal_update(*, actor: User, pk: Any, data: dict[str, Any]) -> Deal:
    """Change a deal's fields; a new ``stage_id`` (or ``pipeline_id``) moves it."""
    deal = deal_get(actor=actor, pk=pk, for_update=True)
    deal_check_writable(actor=actor, deal=deal)
    clean = clean_deal(actor, data, deal=deal)
    before = _snapshot(deal)
    clients_before = (deal.contact_id, deal.company_id)
    owner_before = deal.owner_id
    _apply(deal, clean)
    if deal.amount_from_lines:
        from crm.sales.services.lines import deal_amount_from_lines  # lines imports this module

        deal.amount = deal_amount_from_lines(deal)
    target = clean.stage
    moving = target is not None and target.pk != deal.stage_id
    if not moving:
        # The requirements of the current stage keep holding while the deal sits in it.
        _refuse_missing(deal, deal.stage)
    _active(deal, timezone.now())
    deal.save()
    if deal.owner_id != owner_before and not moving:  # a move settles the visits itself
        visits_settle([deal.pk])
    _touch_clients(deal)
    # A client the deal left loses the deal's activity from its last touch.
    if clients_before[0] != deal.contact_id:
        clients_touch_recompute(Contact, [clients_before[0]])
    if clients_before[1] != deal.company_id:
        clients_touch_recompute(Company, [clients_before[1]])
    if clean.tags is not None:
        _sync_tags(deal, clean.tags)
    timeline_record_changes(subject=deal, author=actor, changes=_diff(before, _snapshot(deal)))
    if moving:
        assert target is not None
        _move(
            actor=actor,
            deal=deal,
            stage=target,
            lost_reason_id=data.get("lost_reason_id"),
            lost_comment=data.get("lost_comment"),
        )
    return deal


def _clean_lost(
    stage: Stage, lost_reason_id: Any, lost_comment: Any
) -> tuple[LostReason | None, str]:
    errors = Errors()
    comment = clean_text(errors, "lost_comment", lost_comment, max_length=500)
    reason = None
    if stage.kind == StageKind.LOST:
        reasons = LostReason.objects.filter(archived=False)
        if lost_reason_id in (None, ""):
            if reasons.exists():
                errors.add("lost_reason_id", _("Choose the reason for the loss."))
        else:
            try:
                reason = reasons.get(pk=int(lost_reason_id))
            except (LostReason.DoesNotExist, TypeError, ValueError):
                errors.add("lost_reason_id", _("No such reason."))
    errors.raise_if_any()
    return reason, comment


def _move(
    *,
    actor: User,
    deal: Deal,
    stage: Stage,
    lost_reason_id: Any = None,
    lost_comment: Any = "",
) -> Deal:
    if stage.pipeline_id != deal.pipeline_id:
        raise ValidationFailed(
            field_errors={"stage_id": [_("The stage belongs to another pipeline.")]}
        )
    if stage.archived:
        raise ValidationFailed(field_errors={"stage_id": [_("This stage is archived.")]})
    reason, comment = _clean_lost(stage, lost_reason_id, lost_comment)
    _refuse_missing(deal, stage)
    previous = deal.stage
    now = timezone.now()
    StageVisit.objects.filter(deal=deal, left_at__isnull=True).update(left_at=now)
    visit_begin(deal=deal, stage=stage, actor=actor, now=now)
    _enter(deal, stage, actor, now)
    if stage.kind == StageKind.LOST:
        deal.lost_reason = reason
        deal.lost_comment = comment
    deal.save()
    visits_settle([deal.pk])
    _touch_clients(deal)
    data: dict[str, Any] = {
        "from": previous.name,
        "to": stage.name,
        "from_id": previous.pk,
        "to_id": stage.pk,
    }
    changes = [
        {"field": "stage", "label": gettext_noop("stage"), "old": previous.name, "new": stage.name}
    ]
    if reason is not None:
        data["reason"] = reason.name
        changes.append(
            {
                "field": "lost_reason",
                "label": gettext_noop("reason for loss"),
                "old": "",
                "new": reason.name,
            }
        )
    if comment:
        data["comment"] = comment
    data["changes"] = changes
    # A field change (stage: old → new), so the card's timeline shows where the deal went.
    timeline_record(
        subject=deal, kind=EntryKind.FIELD_CHANGE, author=actor, body=comment, data=data
    )
    run_stage_actions(deal=deal, stage=stage, actor=actor)
    return deal


@transaction.atomic
def deal_move(
    *,
    actor: User,
    pk: Any,
    stage_id: Any,
    lost_reason_id: Any = None,
    lost_comment: Any = "",
    updates: dict[str, Any] | None = None,
) -> Deal:
    """Move a deal to another stage of its pipeline (drag on the board, form, API).

    ``updates`` are field changes applied in the same transaction first — the board's
    "fill in the missing fields" dialog sends them with the move.
    """
    deal = deal_get(actor=actor, pk=pk, for_update=True)
    deal_check_writable(actor=actor, deal=deal)
    try:
        stage = Stage.objects.get(pk=int(stage_id))
    except (Stage.DoesNotExist, TypeError, ValueError):
        raise ValidationFailed(field_errors={"stage_id": [_("No such stage.")]}) from None
    owner_before = deal.owner_id
    if updates:
        clean = clean_deal(actor, updates, deal=deal)
        before = _snapshot(deal)
        _apply(deal, clean)
        if clean.tags is not None:
            _sync_tags(deal, clean.tags)
        changes = _diff(before, _snapshot(deal))
    else:
        changes = []
    if stage.pk == deal.stage_id:
        if changes:
            # The requirements of the current stage keep holding while the deal sits in it.
            _refuse_missing(deal, deal.stage)
            deal.save()
            if deal.owner_id != owner_before:
                visits_settle([deal.pk])
            timeline_record_changes(subject=deal, author=actor, changes=changes)
        return deal
    _move(
        actor=actor,
        deal=deal,
        stage=stage,
        lost_reason_id=lost_reason_id,
        lost_comment=lost_comment,
    )  # the move settles the visits, with the owner the updates gave the deal
    timeline_record_changes(subject=deal, author=actor, changes=changes)
    return deal


def _closing_stage(deal: Deal, kind: str) -> Stage:
    stage = (
        deal.pipeline.stages.filter(kind=kind, archived=False).order_by("position", "id").first()
    )
    if stage is None:
        raise ValidationFailed(field_errors={"stage_id": [_("This pipeline has no such stage.")]})
    return stage


@transaction.atomic
def deal_win(*, actor: User, pk: Any) -> Deal:
    deal = deal_get(actor=actor, pk=pk, for_update=True)
    deal_check_writable(actor=actor, deal=deal)
    return _move(actor=actor, deal=deal, stage=_closing_stage(deal, StageKind.WON))


@transaction.atomic
def deal_lose(*, actor: User, pk: Any, lost_reason_id: Any, lost_comment: Any = "") -> Deal:
    deal = deal_get(actor=actor, pk=pk, for_update=True)
    deal_check_writable(actor=actor, deal=deal)
    stage = _closing_stage(deal, StageKind.LOST)
    return _move(
        actor=actor,
        deal=deal,
        stage=stage,
        lost_reason_id=lost_reason_id,
        lost_comment=lost_comment,
    )


@transaction.atomic
def deal_reopen(*, actor: User, pk: Any) -> Deal:
    """Back to the last open stage the deal was in (or the pipeline's first)."""
    deal = deal_get(actor=actor, pk=pk, for_update=True)
    deal_check_writable(actor=actor, deal=deal)
    if deal.status == DealStatus.OPEN:
        raise ValidationFailed(field_errors={"status": [_("The deal is open.")]})
    last_open = (
        StageVisit.objects.filter(
            deal=deal,
            stage__kind=StageKind.OPEN,
            stage__archived=False,
            stage__pipeline=deal.pipeline,
        )
        .select_related("stage")
        .order_by("-entered_at", "-id")
        .first()
    )
    stage = last_open.stage if last_open else first_open_stage(deal.pipeline)
    if stage is None:
        raise ValidationFailed(field_errors={"stage_id": [_("This pipeline has no open stage.")]})
    return _move(actor=actor, deal=deal, stage=stage)


def deal_touch(*, deal: Deal) -> None:
    """Note activity on a deal (a note, a call, a task done): a new idle period starts."""
    _active(deal, timezone.now())
    deal.save(
        update_fields=[
            "last_activity_at",
            "stale_notified_at",
            "stale_escalated_at",
            "stale_due_at",
        ]
    )
    _touch_clients(deal)


@transaction.atomic
def deal_share(*, actor: ScopedUser, pk: Any, user_ids: list[int]) -> Deal:
    deal = deal_get(actor=actor, pk=pk, for_update=True)
    deal_check_writable(actor=actor, deal=deal)
    from django.contrib.auth import get_user_model

    users = list(get_user_model().objects.filter(pk__in=user_ids, is_active=True))
    before = list(deal.shared_with.all())
    deal.shared_with.set(users)
    timeline_record_sharing(subject=deal, author=actor, before=before, after=users)
    return deal


def deals_hand_over(deal_ids: list[int], from_user_id: int, to_user_id: int) -> int:
    """Give the deals ``deal_ids`` still owned by ``from_user_id`` to ``to_user_id`` (a
    leaving manager's handover), with their stage visits' copy of the owner recomputed
    (``visits_settle``, chunked); answers how many deals moved. The UPDATE locks the rows,
    so a concurrent move of one of them waits for the handover's transaction."""
    moved = owner_hand_over(Deal, deal_ids, from_user_id, to_user_id)
    visits_settle(deal_ids)
    return moved
