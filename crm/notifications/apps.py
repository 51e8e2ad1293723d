from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class NotificationsConfig(AppConfig):
    name = "crm.notifications"
    label = "notifications"
    verbose_name = _("Notifications")

    def ready(self) -> None:
        from crm.core import periodic

        periodic.register("notifications.outbox", 120, _outbox_sweep)


def _outbox_sweep() -> dict[str, int]:
    """The sweep, answering only the non-zero counts (the scheduler logs a non-empty answer)."""
    from crm.notifications.services import outbox_sweep

    return {name: count for name, count in outbox_sweep().items() if count}
