from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "crm.core"
    label = "core"
    verbose_name = "Core"

    def ready(self) -> None:
        from django.core import checks

        from crm.core import periodic
        from crm.core.counters import counters_sweep
        from crm.core.http import check_trusted_proxies

        checks.register(check_trusted_proxies)
        periodic.register("core.counters", 3600, counters_sweep)
