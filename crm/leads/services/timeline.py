"""Notes, calls and e-mails on a lead's timeline; the first one stops the response clock."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from crm.activities.models import TimelineEntry
from crm.activities.services import timeline_entry_add
from crm.core.permissions import ScopedUser
from crm.leads.models import Lead
from crm.leads.services.leads import _check_writable, lead_mark_responded


@transaction.atomic
def lead_timeline_add(*, actor: ScopedUser, record: Lead, **entry: Any) -> TimelineEntry:
    _check_writable(actor, record)
    row = timeline_entry_add(actor=actor, subject=record, **entry)
    if row.kind in ("call", "email", "meeting"):
        lead_mark_responded(lead=record, actor=actor, how=row.kind)
    return row
