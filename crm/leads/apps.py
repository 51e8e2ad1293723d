from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class LeadsConfig(AppConfig):
    name = "crm.leads"
    label = "leads"
    verbose_name = _("Leads")

    def ready(self) -> None:
        from crm.core.records import register_app

        register_app(self)  # what this app declares in its records.py
