from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class NotificationsConfig(AppConfig):
    name = "crm.notifications"
    label = "notifications"
    verbose_name = _("Notifications")

    def ready(self) -> None:
        from crm.core.records import register_app

        register_app(self)  # what this app declares in its records.py
