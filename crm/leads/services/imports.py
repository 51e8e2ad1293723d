"""Importing leads: the leads app's ``Importer`` contribution.

Each row goes through the same intake as a lead typed in by hand (``lead_create_manual``:
its checks, the match to clients, the classification and the routing rules), in a
savepoint, so a refused row fails alone; the import then makes the row's responsible the
lead's. With the "skip" policy a row whose phone or e-mail is already on an open lead is
skipped; otherwise the intake's own classification marks a repeated request.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from crm.activities.choices import EntryKind
from crm.activities.services import timeline_bulk_record, timeline_entry_build
from crm.core.errors import DomainError
from crm.core.normalize import normalize_email, normalize_phone
from crm.core.records import ImportBatch, ImportField, ImportOutcome, ImportUndo
from crm.customers.services.imports import import_changed_since, import_records_remove
from crm.leads.choices import OPEN_STATUSES
from crm.leads.models import Lead
from crm.leads.services.leads import lead_create_manual

_FIELDS = {"title": "title", "full_name": "name", "phone": "phone", "email": "email",
           "company": "company", "description": "message"}  # fmt: skip


def lead_import_fields() -> list[ImportField]:
    """What a column of a leads file may fill."""
    return [
        ImportField("title", gettext_lazy("Title")),
        ImportField("full_name", gettext_lazy("Name")),
        ImportField("phone", gettext_lazy("Phone")),
        ImportField("email", gettext_lazy("E-mail")),
        ImportField("company", gettext_lazy("Company")),
        ImportField("description", gettext_lazy("Message")),
        ImportField("owner", gettext_lazy("Responsible")),
    ]


def _normal(normalize: Any, text: str) -> str:
    try:
        return str(normalize(text))
    except ValueError:
        return ""


def _open_leads(batch: ImportBatch) -> tuple[set[str], set[str]]:
    """The phones and e-mails of the batch already on open leads (one query)."""
    phones = {_normal(normalize_phone, (r.values.get("phone") or [""])[0]) for r in batch.rows}
    emails = {_normal(normalize_email, (r.values.get("email") or [""])[0]) for r in batch.rows}
    phones.discard("")
    emails.discard("")
    if not phones and not emails:
        return set(), set()
    rows = Lead.objects.filter(
        Q(phone__in=phones) | Q(email__in=emails), status__in=OPEN_STATUSES
    ).values_list("phone", "email")
    return {phone for phone, _email in rows}, {email for _phone, email in rows}


def leads_load(batch: ImportBatch) -> list[ImportOutcome]:
    """``Importer.load`` of leads."""
    known_phones, known_emails = _open_leads(batch) if batch.policy == "skip" else (set(), set())
    outcomes = []
    notes = []
    for row in batch.rows:
        data = {
            target: "\n".join(row.values[key]) if key == "description" else row.values[key][0]
            for key, target in _FIELDS.items()
            if row.values.get(key)
        }
        phone = _normal(normalize_phone, data.get("phone", ""))
        email = _normal(normalize_email, data.get("email", ""))
        if (phone and phone in known_phones) or (email and email in known_emails):
            outcomes.append(
                ImportOutcome(row.number, "skipped", "lead", reason=_("An open lead has it."))
            )
            continue
        try:
            with transaction.atomic():
                lead = lead_create_manual(actor=batch.actor, data=data, allow_duplicate=True)
                if lead.owner_id != row.owner_id:
                    Lead.objects.filter(pk=lead.pk).update(
                        owner_id=row.owner_id, assigned_at=timezone.now()
                    )
        except DomainError as error:
            reason = "; ".join(
                f"{name}: {' '.join(messages)}" for name, messages in error.field_errors.items()
            )
            outcomes.append(ImportOutcome(row.number, "failed", reason=reason or error.message))
            continue
        known_phones.add(phone)
        known_emails.add(email)
        outcomes.append(ImportOutcome(row.number, "created", "lead", lead.pk))
        notes.append(
            timeline_entry_build(
                subject_model=Lead,
                subject_id=lead.pk,
                kind=EntryKind.SYSTEM,
                author=batch.actor,
                title=batch.note,
            )
        )
    timeline_bulk_record(entries=notes)
    return outcomes


def leads_undo(actor: Any, entries: list[ImportUndo]) -> dict[int, str]:
    """``Importer.undo`` of leads: removed, except leads changed since."""
    if not entries:
        return {}
    ids = [entry.record_id for entry in entries]
    left = import_changed_since(Lead, ids, min(entry.since for entry in entries))
    left.update(import_records_remove(Lead, [pk for pk in ids if pk not in left]))
    return left
