"""URLs of the export, part of the transfer app's ``urls`` (``transfer:export_*``)."""

from django.urls import URLPattern, path

from crm.transfer import views_export as views

urlpatterns: list[URLPattern] = [
    path("export/base/", views.export_base, name="export_base"),
    path("export/jobs/<str:job_id>/", views.export_job, name="export_job"),
    path("export/jobs/<str:job_id>/file/", views.export_job_download, name="export_job_file"),
    path("export/<str:kind>.<str:fmt>", views.export_list, name="export_list"),
]
