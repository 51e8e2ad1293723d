from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TransferConfig(AppConfig):
    """Import and export: files read into any record kind, lists and the whole base written
    out. It works through the registry's import and export contributions, so it knows no
    domain model."""

    name = "crm.transfer"
    label = "transfer"
    verbose_name = _("Import and export")

    def ready(self) -> None:
        from crm.core.records import register_app

        register_app(self)  # what this app declares in its records.py
