from collections.abc import Callable

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PlannerConfig(AppConfig):
    name = "crm.planner"
    label = "planner"
    verbose_name = _("Tasks and calendar")

    def ready(self) -> None:
        from crm.accounts.models import register_scope_extension
        from crm.core import periodic
        from crm.notifications.services import register_cover
        from crm.planner.services import (
            covered_user_ids,
            digests_send,
            escalations_run,
            reminders_deliver,
            substitutes_today,
        )

        # A substitute sees the records of the colleague they cover, while the absence lasts.
        register_scope_extension(covered_user_ids)
        # ... and the notices about those records that reach the colleague while away.
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
