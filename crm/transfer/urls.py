"""Addresses of the import's and the export's pages (``transfer:``)."""

from django.urls import path

from crm.transfer import views
from crm.transfer.urls_export import urlpatterns as export_urlpatterns

app_name = "transfer"

urlpatterns = [
    path("imports/", views.import_list, name="import_list"),
    path("imports/new/", views.import_new, name="import_upload"),
    path("imports/<int:pk>/", views.import_detail, name="import_detail"),
    path("imports/<int:pk>/setup/", views.import_setup, name="import_setup"),
    path("imports/<int:pk>/preview/", views.import_preview, name="import_preview"),
    path("imports/<int:pk>/failed-rows/", views.import_failed_rows, name="import_failed_rows"),
    path("imports/<int:pk>/cancel/", views.import_cancel, name="import_cancel"),
    path("imports/<int:pk>/undo/", views.import_undo, name="import_undo"),
    *export_urlpatterns,
]
