"""URLs of the timeline of every record kind that has one, and of its files.

The addresses are those the customer pages served before the timeline moved here (links
in old pages, e-mails and API answers keep working); ``entity`` is the kind's key in the
registry of record kinds (``contact``, ``company``, ``deal``, ``lead``).
"""

from __future__ import annotations

from django.urls import path

from crm.activities import views

app_name = "activities"

urlpatterns = [
    path("customers/<str:entity>/<int:pk>/timeline/", views.timeline_page, name="timeline_page"),
    path("customers/<str:entity>/<int:pk>/timeline/add/", views.timeline_add, name="timeline_add"),
    path("customers/files/<int:pk>/", views.attachment_download, name="attachment_download"),
]
