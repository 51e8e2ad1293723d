from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "crm.core"
    label = "core"
    verbose_name = "Core"

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_in
        from django.core import checks

        from crm.core.counters import counters_sweep
        from crm.core.http import check_trusted_proxies
        from crm.core.middleware import session_signed_in
        from crm.core.records import Sweep, registry

        checks.register(check_trusted_proxies)
        # The kernel's one sweep (its records module is the registry itself).
        registry.add(Sweep("core.counters", 3600, counters_sweep))

        # Session bookkeeping, not domain logic: every sign-in (the form, two-factor, the
        # tests' force_login) starts the session's clocks in the same save as the sign-in.
        user_logged_in.connect(session_signed_in, dispatch_uid="crm.core.session_signed_in")
