"""Notes, calls and e-mails on a lead's timeline; the first one stops the response clock."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from crm.activities.models import TimelineEntry
from crm.core.permissions import ScopedUser
from crm.customers.services.timeline import customer_timeline_add
from crm.leads.models import Lead
from crm.leads.services.leads import _check_writable, lead_mark_responded


@transaction.atomic
def lead_timeline_add(*, actor: ScopedUser, record: Lead, **entry: Any) -> TimelineEntry:
    _check_writable(actor, record)
    row = customer_timeline_add(actor=actor, record=record, check=False, **entry)
    if row.kind in ("call", "email", "meeting"):
        lead_mark_responded(lead=record, actor=actor, how=row.kind)
    return row
