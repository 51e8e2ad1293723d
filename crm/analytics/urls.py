"""Report pages under /reports/ (the dashboard itself is the site's root, ``home``)."""

from django.urls import path

from crm.analytics import views

app_name = "analytics"

urlpatterns = [
    *(
        route
        for name in views.REPORTS
        for route in (
            path(f"{name}/", views.report, {"name": name}, name=name),
            path(f"{name}/export/", views.report_export, {"name": name}, name=f"{name}_export"),
        )
    ),
    path("plans/", views.plans, name="plans"),
    path("plans/export/", views.plans_export, name="plans_export"),
    path("plans/plan/", views.plan_save, name="plan_save"),
    path("plans/bonus-rule/", views.bonus_rule_save, name="bonus_rule_save"),
]
