"""Importing deals: the sales app's ``Importer`` contribution.

A deal row names its pipeline and stage by name, its client by a contact's full name,
phone or e-mail and a company's name or ИНН (``import_clients_find``: a few queries per
batch), its amount as a spreadsheet writes it. Each deal is created with ``deal_create``
(its stage visit, timeline and the stage's automations, as a deal made by hand), in a
savepoint, so a refused row fails alone; a deal whose stage is won or lost is created in
the pipeline's first stage and then closed with ``deal_update``. A row matches a deal
already there when an open deal has the same title and the same client.

Another CRM's file: the job's stage map (``imports_stages``) gives the stage of each of the
file's pipeline and stage names, and with the option ``create_clients`` the companies and
contacts the base lacks are created first, as their own imports would, journaled with the
row for the undo.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from crm.activities.choices import EntryKind
from crm.activities.services import timeline_bulk_record, timeline_entry_build
from crm.core.cells import parse_date_cell, parse_decimal_cell
from crm.core.errors import DomainError, ValidationFailed
from crm.core.records import ImportBatch, ImportField, ImportOutcome, ImportRow, ImportUndo
from crm.core.text import fold
from crm.customers.choices import FieldEntity
from crm.customers.models import CustomField
from crm.customers.services.imports import (
    import_changed_since,
    import_clients_find,
    import_records_remove,
)
from crm.sales.choices import Currency, DealStatus, StageKind
from crm.sales.models import Deal, LostReason, Pipeline, Stage
from crm.sales.services.deals import deal_create, deal_update
from crm.sales.services.imports_stages import CREATE_CLIENTS, clients_create, stage_map

CREATED, UPDATED, SKIPPED, FAILED = "created", "updated", "skipped", "failed"
_CURRENCY_SIGNS = {"₽": "RUB", "руб": "RUB", "р": "RUB", "$": "USD", "€": "EUR", "¥": "CNY"}
_CHANGEABLE = ("amount", "currency", "expected_close", "notes", "source")


def deal_import_fields() -> list[ImportField]:
    """What a column of a deals file may fill."""
    custom = CustomField.objects.filter(entity=FieldEntity.DEAL, is_active=True)
    return [
        ImportField("title", gettext_lazy("Title"), required=True),
        ImportField("amount", gettext_lazy("Amount")),
        ImportField("currency", gettext_lazy("Currency")),
        ImportField("pipeline", gettext_lazy("Pipeline")),
        ImportField("stage", gettext_lazy("Stage")),
        ImportField(
            "contact", gettext_lazy("Contact"), help=gettext_lazy("Full name, phone or e-mail")
        ),
        ImportField("company", gettext_lazy("Company"), help=gettext_lazy("Name or ИНН")),
        ImportField("owner", gettext_lazy("Responsible")),
        ImportField("expected_close", gettext_lazy("Expected close date")),
        ImportField("source", gettext_lazy("Source")),
        ImportField("notes", gettext_lazy("Notes")),
        ImportField("lost_reason", gettext_lazy("Reason for loss")),
        ImportField("tags", gettext_lazy("Tags")),
        *(
            ImportField(f"custom.{field.key}", field.label, help=field.help_text)
            for field in custom.order_by("position", "pk")
        ),
    ]


def _first(row: ImportRow, key: str) -> str:
    cells = row.values.get(key) or []
    return cells[0] if cells else ""


def _currency(text: str) -> str:
    folded = text.strip().casefold().rstrip(".")
    if not folded:
        return ""
    for sign, code in _CURRENCY_SIGNS.items():
        if folded.startswith(sign):
            return code
    return folded.upper()


class _Pipelines:
    """The live pipelines, stages and reasons for loss, read once per batch, by name."""

    def __init__(self) -> None:
        self.pipelines = {
            p.name.casefold(): p
            for p in Pipeline.objects.filter(archived=False).order_by("position")
        }
        self.stages: dict[tuple[int, str], Stage] = {}
        self.any_stage: dict[str, Stage] = {}
        stages = Stage.objects.filter(archived=False, pipeline__archived=False).select_related(
            "pipeline"
        )
        self.by_id: dict[int, Stage] = {}
        for stage in stages.order_by("pipeline__position", "position"):
            self.stages.setdefault((stage.pipeline_id, stage.name.casefold()), stage)
            self.any_stage.setdefault(stage.name.casefold(), stage)
            self.by_id[stage.pk] = stage
        self.reasons = {
            reason.name.casefold(): reason.pk
            for reason in LostReason.objects.filter(archived=False)
        }

    def resolve(
        self, pipeline_name: str, stage_name: str, mapped: dict[tuple[str, str], int]
    ) -> tuple[Pipeline | None, Stage | None]:
        """The pipeline and stage a row names: the stage the job's stage map gives for them,
        else by name; raises ``ValueError`` naming what is unknown."""
        chosen = mapped.get((fold(pipeline_name), fold(stage_name)))
        if chosen is not None:
            stage = self.by_id.get(chosen)
            if stage is None:
                raise ValueError(
                    _("The stage chosen for “%(name)s” is gone.") % {"name": stage_name[:60]}
                )
            return stage.pipeline, stage
        pipeline = None
        if pipeline_name:
            pipeline = self.pipelines.get(pipeline_name.casefold())
            if pipeline is None:
                raise ValueError(_("No pipeline “%(name)s”.") % {"name": pipeline_name[:60]})
        if not stage_name:
            return pipeline, None
        if pipeline is not None:
            stage = self.stages.get((pipeline.pk, stage_name.casefold()))
        else:
            stage = self.any_stage.get(stage_name.casefold())
        if stage is None:
            raise ValueError(_("No stage “%(name)s”.") % {"name": stage_name[:60]})
        return stage.pipeline, stage


def _data(row: ImportRow, clients: tuple[dict[str, int], dict[str, int]]) -> dict[str, Any]:
    """The input of ``deal_create`` for a row; raises ``ValueError`` with the reason."""
    contacts, companies = clients
    data: dict[str, Any] = {"title": _first(row, "title"), "owner_id": row.owner_id}
    amount = _first(row, "amount")
    if amount:
        data["amount"] = str(parse_decimal_cell(amount))
    currency = _currency(_first(row, "currency"))
    if currency:
        if currency not in Currency.values:
            raise ValueError(_("Unknown currency “%(value)s”.") % {"value": currency[:20]})
        data["currency"] = currency
    expected = _first(row, "expected_close")
    if expected:
        data["expected_close"] = parse_date_cell(expected).isoformat()
    for key in ("notes", "source"):
        if row.values.get(key):
            data[key] = "\n".join(row.values[key]) if key == "notes" else _first(row, key)
    if row.values.get("tags"):
        data["tags"] = [tag for cell in row.values["tags"] for tag in cell.split(",")]
    contact, company = _first(row, "contact"), _first(row, "company")
    if contact:
        if contact not in contacts:
            raise ValueError(_("No contact “%(name)s”.") % {"name": contact[:60]})
        data["contact_id"] = contacts[contact]
    if company:
        if company not in companies:
            raise ValueError(_("No company “%(name)s”.") % {"name": company[:60]})
        data["company_id"] = companies[company]
    custom = {key[7:]: cells[0] for key, cells in row.values.items() if key.startswith("custom.")}
    if custom:
        data["custom"] = custom
    return data


def _reason(error: DomainError) -> str:
    if error.field_errors:
        return "; ".join(f"{name}: {' '.join(ms)}" for name, ms in error.field_errors.items())
    return error.message


def _matches(rows: list[tuple[ImportRow, dict[str, Any]]]) -> dict[tuple[str, Any, Any], int]:
    """Open deals with the titles of the batch, by (folded title, contact, company): one
    query."""
    titles = {data["title"] for _row, data in rows if data.get("title")}
    found = (
        Deal.objects.filter(status=DealStatus.OPEN, title__in=titles)
        .order_by("pk")
        .values_list("pk", "title", "contact_id", "company_id")
    )
    matches: dict[tuple[str, Any, Any], int] = {}
    for pk, title, contact_id, company_id in found:
        matches.setdefault((title.casefold(), contact_id, company_id), pk)
    return matches


def deals_load(batch: ImportBatch) -> list[ImportOutcome]:
    """``Importer.load`` of deals."""
    pipelines = _Pipelines()
    mapped = stage_map(batch.options)
    clients = import_clients_find(
        actor=batch.actor,
        contacts=[_first(row, "contact") for row in batch.rows],
        companies=[_first(row, "company") for row in batch.rows],
    )
    outcomes: list[ImportOutcome] = []
    if batch.options.get(CREATE_CLIENTS):
        outcomes += clients_create(batch, clients)
    ready: list[tuple[ImportRow, dict[str, Any]]] = []
    for row in batch.rows:
        try:
            data = _data(row, clients)
            pipeline, stage = pipelines.resolve(
                _first(row, "pipeline"), _first(row, "stage"), mapped
            )
        except ValueError as error:
            outcomes.append(ImportOutcome(row.number, FAILED, reason=str(error)))
            continue
        if pipeline is not None:
            data["pipeline_id"] = pipeline.pk
        if stage is not None:
            data["_stage"] = stage
        ready.append((row, data))
    matches = _matches(ready) if batch.policy != "create" else {}
    notes: list[Any] = []
    for row, data in ready:
        key = (data["title"].casefold(), data.get("contact_id"), data.get("company_id"))
        match = row.record_id if row.record_id is not None else matches.get(key)
        try:
            with transaction.atomic():
                if match is None:
                    outcome = _create(batch, row, data, pipelines)
                    matches[key] = outcome.record_id or 0
                elif batch.policy == "skip":
                    outcome = ImportOutcome(
                        row.number, SKIPPED, "deal", match, _("Same as #%(id)s.") % {"id": match}
                    )
                else:
                    outcome = _update(batch, row, data, match)
        except (ValidationFailed, DomainError) as error:
            outcome = ImportOutcome(row.number, FAILED, reason=_reason(error))
        if outcome.action in (CREATED, UPDATED) and outcome.record_id:
            notes.append(
                timeline_entry_build(
                    subject_model=Deal,
                    subject_id=outcome.record_id,
                    kind=EntryKind.SYSTEM,
                    author=batch.actor,
                    title=batch.note,
                )
            )
        outcomes.append(outcome)
    timeline_bulk_record(entries=notes)
    return sorted(outcomes, key=lambda outcome: outcome.number)


def _create(
    batch: ImportBatch, row: ImportRow, data: dict[str, Any], pipelines: _Pipelines
) -> ImportOutcome:
    stage: Stage | None = data.pop("_stage", None)
    closing = stage if stage is not None and stage.kind != StageKind.OPEN else None
    if stage is not None and closing is None:
        data["stage_id"] = stage.pk
    deal = deal_create(actor=batch.actor, data=data)
    if closing is not None:
        move: dict[str, Any] = {"stage_id": closing.pk}
        if closing.kind == StageKind.LOST:
            reason = _first(row, "lost_reason")
            move["lost_reason_id"] = pipelines.reasons.get(reason.casefold()) if reason else None
            if reason and move["lost_reason_id"] is None:
                raise ValidationFailed(
                    field_errors={"lost_reason": [_("No such reason for loss.")]}
                )
        deal_update(actor=batch.actor, pk=deal.pk, data=move)
    return ImportOutcome(row.number, CREATED, "deal", deal.pk)


def _update(
    batch: ImportBatch, row: ImportRow, data: dict[str, Any], deal_id: int
) -> ImportOutcome:
    deal = Deal.objects.get(pk=deal_id)
    changes: dict[str, Any] = {}
    previous: dict[str, Any] = {}
    for name in _CHANGEABLE:
        if name not in data:
            continue
        current = getattr(deal, name)
        shown = current.isoformat() if hasattr(current, "isoformat") else current
        if batch.policy == "fill" and current not in (None, ""):
            continue
        if str(shown if shown is not None else "") != str(data[name]):
            changes[name] = data[name]
            previous[name] = str(shown) if shown is not None else None
    if not changes:
        return ImportOutcome(row.number, SKIPPED, "deal", deal_id, _("Nothing new."))
    deal_update(actor=batch.actor, pk=deal_id, data=changes)
    return ImportOutcome(row.number, UPDATED, "deal", deal_id, previous=previous)


def deals_undo(actor: Any, entries: list[ImportUndo]) -> dict[int, str]:
    """``Importer.undo`` of deals: created deals removed, changed fields restored, except
    deals changed since."""
    if not entries:
        return {}
    ids = [entry.record_id for entry in entries]
    left = import_changed_since(Deal, ids, min(entry.since for entry in entries))
    created = [e.record_id for e in entries if e.previous is None and e.record_id not in left]
    left.update(import_records_remove(Deal, created))
    for entry in entries:
        if entry.previous is None or entry.record_id in left:
            continue
        try:
            with transaction.atomic():
                deal_update(actor=actor, pk=entry.record_id, data=entry.previous)
        except (ValidationFailed, DomainError) as error:
            left[entry.record_id] = _reason(error)
    return left
