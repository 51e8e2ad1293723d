"""Report pages under /reports/ (the dashboard itself is the site's root, ``home``)."""

from django.urls import path

from crm.analytics import views

app_name = "analytics"

urlpatterns = [
    path("funnel/", views.funnel, name="funnel"),
    path("sales/", views.sales, name="sales"),
]
