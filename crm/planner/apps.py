from collections.abc import Callable

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PlannerConfig(AppConfig):
    name = "crm.planner"
    label = "planner"
    verbose_name = _("Tasks and calendar")

    def ready(self) -> None:
        from crm.core import periodic
        from crm.notifications.services import register_cover
        from crm.planner.services import (
            digests_send,
            escalations_run,
            reminders_deliver,
            substitutes_today,
        )

        # A substitute gets the notices that reach the colleague they cover while away (what
        # they see of that colleague's records is the cover of the access policies).
        register_cover(substitutes_today)
        periodic.register("planner.reminders", 1, _quiet(reminders_deliver))
        periodic.register("planner.overdue_digests", 60, _quiet(digests_send))
        periodic.register("planner.escalations", 300, _quiet(escalations_run))


def _quiet(sweep: Callable[[], dict[str, int]]) -> Callable[[], dict[str, int] | None]:
    """The sweep, answering None when it did nothing, so the scheduler logs only work."""

    def run() -> dict[str, int] | None:
        counts = sweep()
        return counts if any(counts.values()) else None

    return run
