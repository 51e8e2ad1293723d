"""The stage map of a deals import: another CRM's pipelines and stages, as its file names
them, mapped to this base's stages (the wizard's step, the API's ``stage_mapping``), and
the missing clients of a deals file created like a contacts import would.

A value is guessed by name (case, ё and punctuation ignored; in the pipeline of the same
name when there is one), then by the words other CRMs write for a closed deal — won:
«Успешно реализовано» (amoCRM), «Сделка успешна» (Bitrix24), "Closed Won" (Salesforce,
HubSpot); lost: «Закрыто и не реализовано», «Сделка провалена», "Closed Lost" — which go to
the won or lost stage of that pipeline (else of the first one), then by a close spelling.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from crm.core.records import ImportBatch, ImportOutcome, ImportRow
from crm.core.text import fold
from crm.customers.services.imports import companies_load, contacts_load
from crm.sales.choices import StageKind
from crm.sales.models import Stage

STAGE_MAPPING = "stage_mapping"
CREATE_CLIENTS = "create_clients"
SIMILAR = 85
"""The least ``rapidfuzz`` ratio of a close spelling («Переговоры» / «Переговор»)."""

_LOST = (
    "закрыто и не реализовано",
    "не реализовано",
    "сделка провалена",
    "провалена",
    "проиграна",
    "проигрыш",
    "отказ",
    "closed lost",
    "lost",
    "closed unsuccessful",
)
_WON = (
    "успешно реализовано",
    "сделка успешна",
    "успешна",
    "выиграна",
    "выигрыш",
    "closed won",
    "won",
    "closed successful",
)


def _has(folded: str, phrases: tuple[str, ...]) -> bool:
    padded = f" {folded} "
    return any(re.search(rf"\b{re.escape(phrase)}\b", padded) for phrase in phrases)


def closed_kind(name: str) -> str:
    """``lost``, ``won`` or "" for a stage name in another CRM's words."""
    folded = fold(name)
    if _has(folded, _LOST):
        return StageKind.LOST
    if _has(folded, _WON):
        return StageKind.WON
    return ""


def _stages() -> list[Stage]:
    return list(
        Stage.objects.filter(archived=False, pipeline__archived=False)
        .select_related("pipeline")
        .order_by("pipeline__position", "pipeline_id", "position", "pk")
    )


def stage_choices() -> list[tuple[str, str]]:
    """This base's live stages as ``(id, "Pipeline — Stage")``, pipelines in their order."""
    return [(str(stage.pk), f"{stage.pipeline.name} — {stage.name}") for stage in _stages()]


def stage_guess(values: tuple[str, ...]) -> str:
    """The id of the stage a file's ``(pipeline, stage)`` most likely means, or ""."""
    pipeline_name, stage_name = (*values, "", "")[:2]
    stages = _stages()
    if not stages or not stage_name.strip():
        return ""
    wanted = fold(pipeline_name)
    same = [stage for stage in stages if wanted and fold(stage.pipeline.name) == wanted]
    candidates = same or stages
    folded = fold(stage_name)
    for stage in candidates:
        if fold(stage.name) == folded:
            return str(stage.pk)
    kind = closed_kind(stage_name)
    if kind:
        first_pipeline = candidates[0].pipeline_id
        closing = [s for s in candidates if s.kind == kind and s.pipeline_id == first_pipeline]
        return str(closing[0].pk) if closing else ""
    from rapidfuzz import fuzz  # loaded by the first guess, not by every process at start

    scored = [
        (fuzz.ratio(folded, fold(stage.name)), -index, stage)
        for index, stage in enumerate(candidates)
        if stage.kind == StageKind.OPEN
    ]
    best = max(scored, default=None, key=lambda item: (item[0], item[1]))
    return str(best[2].pk) if best and best[0] >= SIMILAR else ""


def stage_map(options: Mapping[str, Any]) -> dict[tuple[str, str], int]:
    """The job's stage map as ``{(folded pipeline, folded stage): stage id}`` (values left
    unmapped are not in it)."""
    mapped: dict[tuple[str, str], int] = {}
    for item in options.get(STAGE_MAPPING) or []:
        if item.get("to"):
            key = (fold(item.get("pipeline", "")), fold(item.get("stage", "")))
            mapped[key] = int(item["to"])
    return mapped


def _first(row: ImportRow, key: str) -> str:
    cells = row.values.get(key) or []
    return cells[0] if cells else ""


def _contact_values(cell: str) -> dict[str, list[str]]:
    if "@" in cell:
        return {"email": [cell]}
    if sum(ch.isdigit() for ch in cell) >= 7 and not any(ch.isalpha() for ch in cell):
        return {"phone": [cell]}
    return {"full_name": [cell]}


def clients_create(
    batch: ImportBatch, clients: tuple[dict[str, int], dict[str, int]]
) -> list[ImportOutcome]:
    """Create the companies and contacts the rows of ``batch`` name and ``clients`` lacks
    (``{cell: id}`` each, completed in place), through the companies' and contacts'
    importers (their cleaning, duplicate matching — a likely duplicate is taken, not
    created again — and bulk writes; a contact is linked to the row's company). Answers the
    outcomes of the records created, journaled with the deal's row so the undo removes
    them; a name the importers refuse is left out, and its deal fails naming the client."""
    contacts, companies = clients
    created: list[ImportOutcome] = []
    for kind, key, found, load in (
        ("company", "company", companies, companies_load),
        ("contact", "contact", contacts, contacts_load),
    ):
        named: dict[str, ImportRow] = {}
        for row in batch.rows:
            cell = _first(row, key)
            if cell and cell not in found and cell not in named:
                named[cell] = row
        if not named:
            continue
        rows = []
        for cell, row in named.items():
            values = {"name": [cell]} if kind == "company" else _contact_values(cell)
            company = _first(row, "company")
            if kind == "contact" and company in companies:
                values["company"] = [company]
            rows.append(ImportRow(row.number, values, row.owner_id))
        cells = {row.number: cell for row, cell in zip(rows, named, strict=True)}
        outcomes = load(ImportBatch(batch.actor, rows, "skip", batch.note))
        for outcome in outcomes:
            if outcome.kind not in ("", kind) or outcome.record_id is None:
                continue
            if outcome.action in ("created", "skipped", "updated"):
                found.setdefault(cells[outcome.number], outcome.record_id)
            if outcome.action == "created":
                created.append(
                    ImportOutcome(
                        outcome.number, "created", kind, outcome.record_id, outcome.reason
                    )
                )
    return created
