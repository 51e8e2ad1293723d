"""Report pages under /reports/ (the dashboard itself is the site's root, ``home``)."""

from django.urls import path

from crm.analytics import views

app_name = "analytics"

urlpatterns = [
    path("funnel/", views.funnel, name="funnel"),
    path("funnel/export/", views.funnel_export, name="funnel_export"),
    path("sales/", views.sales, name="sales"),
    path("sales/export/", views.sales_export, name="sales_export"),
    path("leads/", views.leads, name="leads"),
    path("leads/export/", views.leads_export, name="leads_export"),
    path("activity/", views.activity, name="activity"),
    path("activity/export/", views.activity_export, name="activity_export"),
]
urlpatterns += [
    path("plans/", views.plans, name="plans"),
    path("plans/export/", views.plans_export, name="plans_export"),
    path("plans/plan/", views.plan_save, name="plan_save"),
    path("plans/bonus-rule/", views.bonus_rule_save, name="bonus_rule_save"),
    path("forecast/", views.forecast, name="forecast"),
    path("forecast/export/", views.forecast_export, name="forecast_export"),
    path("clients/", views.clients, name="clients"),
    path("clients/export/", views.clients_export, name="clients_export"),
]
