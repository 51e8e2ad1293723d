from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "crm.api"
    label = "api"
    verbose_name = "API"

    def ready(self) -> None:
        from crm.api.idempotency import idempotency_prune
        from crm.core import periodic

        periodic.register("api.idempotency_prune", 3600, idempotency_prune)
