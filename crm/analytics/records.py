"""What analytics declares in the registry (``crm.core.records``): the weekly e-mail summary's
sweep (``services_weekly``)."""

from __future__ import annotations

from crm.analytics.services_weekly import weekly_summaries_send
from crm.core.records import Sweep


def _weekly_summaries() -> dict[str, int]:
    return weekly_summaries_send()


CONTRIBUTIONS = [Sweep("analytics.weekly_summary", 300, _weekly_summaries)]
