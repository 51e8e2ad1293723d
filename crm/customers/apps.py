from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CustomersConfig(AppConfig):
    name = "crm.customers"
    label = "customers"
    verbose_name = _("Customers")

    def ready(self) -> None:
        from crm.core.records import register_app

        register_app(self)  # what this app declares in its records.py
