"""More sections for "My day" from the apps above the planner (new leads waiting …).

An app registers a section in its ``AppConfig.ready``; "My day" calls ``items(user)`` and
shows what it returns under ``title``. The planner cannot import those apps, so they come
to it, as record kinds do (``crm.planner.subjects``)::

    from crm.planner.myday import DayItem, DaySection, register
    register(DaySection("leads", _("New leads waiting"), lambda user: [
        DayItem(str(lead), reverse("leads:lead_detail", args=[lead.pk]), lead.source)
        for lead in waiting_leads(user=user)[:20]
    ]))
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class DayItem:
    title: str
    url: str
    detail: str = ""
    is_urgent: bool = False


@dataclass(frozen=True)
class DaySection:
    key: str
    title: Any  # a lazy translated string
    items: Callable[[Any], list[DayItem]]


SECTIONS: dict[str, DaySection] = {}


def register(section: DaySection) -> None:
    """Add (or replace) the section ``section.key``."""
    SECTIONS[section.key] = section
