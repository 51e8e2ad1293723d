from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SalesConfig(AppConfig):
    name = "crm.sales"
    label = "sales"
    verbose_name = _("Sales")

    def ready(self) -> None:
        from crm.core.records import register_app

        register_app(self)  # what this app declares in its records.py
