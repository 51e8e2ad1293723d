"""Addresses of the import's pages (``transfer:``)."""

from django.urls import path

from crm.transfer import views

app_name = "transfer"

urlpatterns = [
    path("", views.import_list, name="import_list"),
    path("new/", views.import_new, name="import_upload"),
    path("<int:pk>/", views.import_detail, name="import_detail"),
    path("<int:pk>/setup/", views.import_setup, name="import_setup"),
    path("<int:pk>/preview/", views.import_preview, name="import_preview"),
    path("<int:pk>/failed-rows/", views.import_failed_rows, name="import_failed_rows"),
    path("<int:pk>/cancel/", views.import_cancel, name="import_cancel"),
    path("<int:pk>/undo/", views.import_undo, name="import_undo"),
]
