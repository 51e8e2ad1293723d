from django.urls import path

from crm.mailings import views

app_name = "mailings"

urlpatterns = [
    path("segments/", views.segment_list, name="segment_list"),
    path("segments/new/", views.segment_edit, name="segment_create"),
    path("segments/count/", views.segment_count, name="segment_count"),
    path("segments/<int:pk>/", views.segment_edit, name="segment_edit"),
    path("segments/<int:pk>/delete/", views.segment_delete, name="segment_delete"),
    path("contacts/<int:pk>/consent/", views.consent_edit, name="consent_edit"),
    path("unsubscribe/<str:token>/", views.unsubscribe, name="unsubscribe"),
]
