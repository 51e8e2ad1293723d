"""Reads of leads for pages and the API, scoped to what the viewer may see."""

from __future__ import annotations

from crm.activities.models import TimelineEntry
from crm.activities.selectors import timeline_for
from crm.core.pagination import Page, keyset_page
from crm.leads.models import Lead


def lead_timeline(
    *, lead: Lead, cursor: str | None = None, limit: int = 25, kinds: list[str] | None = None
) -> Page[TimelineEntry]:
    entries = timeline_for(subjects=[(Lead, [lead.pk])], kinds=kinds)
    return keyset_page(entries, order=["-occurred_at", "-id"], cursor=cursor, limit=limit)
