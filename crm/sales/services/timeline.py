"""Notes, calls, e-mails, meetings and files on a deal's timeline (the card's composer)."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from crm.activities.models import TimelineEntry
from crm.activities.services import timeline_entry_add
from crm.core.permissions import ScopedUser
from crm.sales.models import Deal
from crm.sales.services.deals import deal_check_writable, deal_touch


@transaction.atomic
def deal_timeline_add(*, actor: ScopedUser, record: Deal, **entry: Any) -> TimelineEntry:
    """Add a manual entry to a (visible) deal's timeline; it counts as activity."""
    deal_check_writable(actor=actor, deal=record)
    entry_row = timeline_entry_add(actor=actor, subject=record, **entry)
    deal_touch(deal=record)
    return entry_row
