"""Report pages under /reports/ (the dashboard itself is the site's root, ``home``)."""

from django.urls import URLPattern

app_name = "analytics"

urlpatterns: list[URLPattern] = []
