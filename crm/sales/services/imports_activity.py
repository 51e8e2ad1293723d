"""Importing tasks and timeline notes, contributed by sales for the planner's and the
timeline's kinds because their rows name contacts, companies and deals (a higher app adds
to a lower app's kind, as the registry allows).

A row's subject is its deal (by title, among those the importing user sees), else its
contact (full name, phone or e-mail), else its company (name or ИНН), resolved for the
whole batch in a few queries. Tasks are created with ``task_create`` (its checks, its
reminder and the subject's "task planned" entry), each in a savepoint; notes are written in
bulk with ``timeline_bulk_record`` at the moment the file gives. Tasks and notes are always
created: a file of history has no duplicates to merge.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import models, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from crm.accounts.models import User
from crm.activities.choices import EntryKind
from crm.activities.models import TimelineEntry
from crm.activities.services import timeline_bulk_record, timeline_entry_build
from crm.core.cells import parse_bool_cell, parse_date_cell
from crm.core.errors import DomainError
from crm.core.records import ImportBatch, ImportField, ImportOutcome, ImportRow, ImportUndo
from crm.customers.models import Company, Contact
from crm.customers.services.cleaning import Errors, clean_text
from crm.customers.services.imports import (
    import_changed_since,
    import_clients_find,
    import_records_remove,
    spellings,
)
from crm.planner.choices import Priority
from crm.planner.models import Task
from crm.planner.services.tasks import task_complete, task_create
from crm.sales.models import Deal

CREATED, FAILED = "created", "failed"
_NOTE_KINDS = {
    EntryKind.CALL: {"call", "звонок", "phone", "телефон"},
    EntryKind.MEETING: {"meeting", "встреча"},
    EntryKind.EMAIL: {"e-mail", "email", "письмо", "почта", "mail"},
    EntryKind.NOTE: {"note", "заметка", "комментарий", "comment", ""},
}
_PRIORITIES = {
    Priority.LOW: {"low", "низкий", "1"},
    Priority.NORMAL: {"normal", "обычный", "средний", "2", ""},
    Priority.HIGH: {"high", "высокий", "срочно", "3"},
}


def _subject_fields() -> list[ImportField]:
    return [
        ImportField(
            "contact", gettext_lazy("Contact"), help=gettext_lazy("Full name, phone or e-mail")
        ),
        ImportField("company", gettext_lazy("Company"), help=gettext_lazy("Name or ИНН")),
        ImportField("deal", gettext_lazy("Deal"), help=gettext_lazy("Its title")),
    ]


def task_import_fields() -> list[ImportField]:
    """What a column of a tasks file may fill."""
    return [
        ImportField("title", gettext_lazy("Title"), required=True),
        ImportField("description", gettext_lazy("Description")),
        ImportField("due", gettext_lazy("Due"), help=gettext_lazy("A date, or a date and time")),
        ImportField("owner", gettext_lazy("Responsible")),
        ImportField("done", gettext_lazy("Done"), help=gettext_lazy("Yes or no")),
        ImportField("priority", gettext_lazy("Priority")),
        *_subject_fields(),
    ]


def note_import_fields() -> list[ImportField]:
    """What a column of a file of timeline notes may fill."""
    return [
        ImportField("text", gettext_lazy("Text"), required=True),
        ImportField("date", gettext_lazy("When")),
        ImportField("owner", gettext_lazy("Author")),
        ImportField("kind", gettext_lazy("Kind"), help=gettext_lazy("Call, meeting, e-mail, note")),
        *_subject_fields(),
    ]


def _first(row: ImportRow, key: str) -> str:
    cells = row.values.get(key) or []
    return cells[0] if cells else ""


def _moment(text: str) -> dt.datetime:
    """A date, or a date and a time ("31.12.2024 15:30"), in the current time zone."""
    parts = text.split()
    day = parse_date_cell(text)
    time = dt.time(12, 0)
    if len(parts) > 1 and ":" in parts[-1]:
        try:
            hours, minutes = (int(part) for part in parts[-1].split(":")[:2])
            time = dt.time(hours, minutes)
        except ValueError:
            raise ValueError(_("“%(value)s” is not a time.") % {"value": parts[-1][:20]}) from None
    return timezone.make_aware(dt.datetime.combine(day, time))


class _Subjects:
    """The records the rows of a batch name, found in a few queries."""

    def __init__(self, batch: ImportBatch) -> None:
        self.contacts, self.companies = import_clients_find(
            actor=batch.actor,
            contacts=[_first(row, "contact") for row in batch.rows],
            companies=[_first(row, "company") for row in batch.rows],
        )
        titles = {_first(row, "deal") for row in batch.rows} - {""}
        self.deals: dict[str, int] = {}
        if titles:
            found = (
                Deal.objects.visible_to(batch.actor)
                .filter(title__in=spellings(titles))
                .order_by("-pk")
                .values_list("pk", "title")
            )
            for pk, title in found:
                self.deals.setdefault(title.casefold(), pk)

    def of(self, row: ImportRow) -> tuple[type[models.Model], int] | None:
        """The row's subject (deal, else contact, else company); ``ValueError`` naming a
        record not found; None when the row names none."""
        deal, contact, company = _first(row, "deal"), _first(row, "contact"), _first(row, "company")
        if deal:
            if deal.casefold() not in self.deals:
                raise ValueError(_("No deal “%(name)s”.") % {"name": deal[:60]})
            return Deal, self.deals[deal.casefold()]
        if contact:
            if contact not in self.contacts:
                raise ValueError(_("No contact “%(name)s”.") % {"name": contact[:60]})
            return Contact, self.contacts[contact]
        if company:
            if company not in self.companies:
                raise ValueError(_("No company “%(name)s”.") % {"name": company[:60]})
            return Company, self.companies[company]
        return None


def _choice(text: str, table: dict[Any, set[str]], name: str) -> Any:
    folded = text.strip().casefold()
    for value, words in table.items():
        if folded in words:
            return value
    raise ValueError(
        _("%(field)s: “%(value)s” is not one of the choices.")
        % {
            "field": name,
            "value": text[:40],
        }
    )


def _reason(error: DomainError) -> str:
    if error.field_errors:
        return "; ".join(f"{name}: {' '.join(ms)}" for name, ms in error.field_errors.items())
    return error.message


def tasks_load(batch: ImportBatch) -> list[ImportOutcome]:
    """``Importer.load`` of tasks."""
    subjects = _Subjects(batch)
    owners = {
        user.pk: user for user in User.objects.filter(pk__in={r.owner_id for r in batch.rows})
    }
    outcomes = []
    for row in batch.rows:
        try:
            subject = subjects.of(row)
            due = _first(row, "due")
            arguments: dict[str, Any] = {
                "title": _first(row, "title"),
                "description": "\n".join(row.values.get("description") or []),
                "due_at": _moment(due) if due else None,
                "all_day": bool(due) and ":" not in due,
                "priority": _choice(_first(row, "priority"), _PRIORITIES, str(_("Priority"))),
            }
            done = parse_bool_cell(_first(row, "done")) if _first(row, "done") else False
        except ValueError as error:
            outcomes.append(ImportOutcome(row.number, FAILED, reason=str(error)))
            continue
        record = None
        if subject is not None:
            model, pk = subject
            record = model._default_manager.get(pk=pk)
        try:
            with transaction.atomic():
                task = task_create(
                    actor=batch.actor, owner=owners[row.owner_id], subject=record, **arguments
                )
                if done:
                    task_complete(actor=batch.actor, pk=task.pk, result=batch.note)
        except DomainError as error:
            outcomes.append(ImportOutcome(row.number, FAILED, reason=_reason(error)))
            continue
        outcomes.append(ImportOutcome(row.number, CREATED, "task", task.pk))
    return outcomes


def tasks_undo(actor: Any, entries: list[ImportUndo]) -> dict[int, str]:
    """``Importer.undo`` of tasks: removed, except tasks changed since."""
    if not entries:
        return {}
    ids = [entry.record_id for entry in entries]
    left = import_changed_since(Task, ids, min(entry.since for entry in entries))
    left.update(import_records_remove(Task, [pk for pk in ids if pk not in left]))
    return left


def notes_load(batch: ImportBatch) -> list[ImportOutcome]:
    """``Importer.load`` of timeline notes: written in bulk at their own moments."""
    subjects = _Subjects(batch)
    outcomes: list[ImportOutcome] = []
    entries: list[tuple[int, TimelineEntry]] = []
    for row in batch.rows:
        try:
            subject = subjects.of(row)
            if subject is None:
                raise ValueError(_("Name the contact, company or deal the note is about."))
            kind = _choice(_first(row, "kind"), _NOTE_KINDS, str(_("Kind")))
            when = _first(row, "date")
            errors = Errors()
            text = clean_text(
                errors,
                "text",
                "\n".join(row.values.get("text") or []),
                max_length=20000,
                multiline=True,
                required=True,
            )
            if errors.fields:
                raise ValueError("; ".join(m for ms in errors.fields.values() for m in ms))
        except ValueError as error:
            outcomes.append(ImportOutcome(row.number, FAILED, reason=str(error)))
            continue
        model, pk = subject
        entry = timeline_entry_build(
            subject_model=model,
            subject_id=pk,
            kind=kind,
            author=None,
            body=text,
            data={"imported": batch.note},
        )
        entry.author_id = row.owner_id
        if when:
            try:
                entry.occurred_at = _moment(when)
            except ValueError as error:
                outcomes.append(ImportOutcome(row.number, FAILED, reason=str(error)))
                continue
        entries.append((row.number, entry))
    timeline_bulk_record(entries=[entry for _number, entry in entries])
    outcomes += [ImportOutcome(number, CREATED, "note", entry.pk) for number, entry in entries]
    return sorted(outcomes, key=lambda outcome: outcome.number)


def notes_undo(actor: Any, entries: list[ImportUndo]) -> dict[int, str]:
    """``Importer.undo`` of notes: the entries removed (an entry is never changed)."""
    TimelineEntry.objects.filter(pk__in=[entry.record_id for entry in entries]).delete()
    return {}
