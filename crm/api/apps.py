from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "crm.api"
    label = "api"
    verbose_name = "API"

    def ready(self) -> None:
        from crm.core.records import register_app

        register_app(self)  # what this app declares in its records.py
