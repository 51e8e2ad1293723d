"""What the timeline declares in the registry (``crm.core.records``): its tables of the
full export — the attached files (written under ``files/``) and every timeline entry."""

from __future__ import annotations

from crm.activities.models import Attachment, TimelineEntry
from crm.core.records import BaseTable

CONTRIBUTIONS = [
    BaseTable("attachments", Attachment, order=95),
    BaseTable("timeline_entries", TimelineEntry, order=100),
]
