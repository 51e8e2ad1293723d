from django.urls import path

from crm.mailings import views, views_mailings

app_name = "mailings"

urlpatterns = [
    path("", views_mailings.mailing_list, name="mailing_list"),
    path("new/", views_mailings.mailing_create, name="mailing_create"),
    path("preview/", views_mailings.mailing_preview, name="mailing_preview"),
    path("<int:pk>/", views_mailings.mailing_detail, name="mailing_detail"),
    path("<int:pk>/progress/", views_mailings.mailing_progress, name="mailing_progress"),
    path("<int:pk>/start/", views_mailings.mailing_start, name="mailing_start"),
    path("<int:pk>/pause/", views_mailings.mailing_pause, name="mailing_pause"),
    path("<int:pk>/resume/", views_mailings.mailing_resume, name="mailing_resume"),
    path("<int:pk>/cancel/", views_mailings.mailing_cancel, name="mailing_cancel"),
    path(
        "<int:pk>/recipients/<str:figure>/",
        views_mailings.mailing_recipients,
        name="mailing_recipients",
    ),
    path("segments/", views.segment_list, name="segment_list"),
    path("segments/new/", views.segment_edit, name="segment_create"),
    path("segments/count/", views.segment_count, name="segment_count"),
    path("segments/<int:pk>/", views.segment_edit, name="segment_edit"),
    path("segments/<int:pk>/delete/", views.segment_delete, name="segment_delete"),
    path("contacts/<int:pk>/consent/", views.consent_edit, name="consent_edit"),
    path("unsubscribe/<str:token>/", views.unsubscribe, name="unsubscribe"),
]
