from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PlannerConfig(AppConfig):
    name = "crm.planner"
    label = "planner"
    verbose_name = _("Tasks and calendar")

    def ready(self) -> None:
        from crm.accounts.models import register_scope_extension
        from crm.core.records import register_app
        from crm.planner.services import covered_user_ids

        # A substitute sees the records of the colleague they cover, while the absence lasts.
        register_scope_extension(covered_user_ids)
        register_app(self)  # what this app declares in its records.py
