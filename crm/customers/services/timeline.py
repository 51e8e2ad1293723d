"""Adding notes, calls, e-mails, meetings and files to a contact's or company's timeline."""

from __future__ import annotations

from typing import Any

from django.db import models, transaction

from crm.activities.models import TimelineEntry
from crm.activities.services import timeline_entry_add
from crm.core.permissions import ScopedUser
from crm.customers.services.records import Customer, customer_check_writable


@transaction.atomic
def customer_timeline_add(
    *, actor: ScopedUser, record: models.Model, check: bool = True, **entry: Any
) -> TimelineEntry:
    """Add a manual entry (note, call, e-mail, meeting, file) to a record's timeline.

    A file is checked by content before anything is written; a refused file writes nothing
    (``activities.services.timeline_entry_add``). ``record`` is a contact or a company;
    ``check=False`` skips the check for a caller that made it.
    """
    if check:
        assert isinstance(record, Customer), "other apps' records pass check=False"
        customer_check_writable(actor=actor, record=record)
    return timeline_entry_add(actor=actor, subject=record, **entry)
