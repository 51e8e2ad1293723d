from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AnalyticsConfig(AppConfig):
    """Reports and the home dashboard: reads every domain app, writes no business data."""

    name = "crm.analytics"
    label = "analytics"
    verbose_name = _("Analytics")

    def ready(self) -> None:
        from crm.core.records import register_app

        register_app(self)  # what this app declares in its records.py: the weekly summary
