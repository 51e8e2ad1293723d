"""URLs of the timeline app."""

from django.urls import path

from crm.activities import views

app_name = "activities"

urlpatterns = [
    path("files/<int:pk>/", views.attachment_download, name="attachment_download"),
]
