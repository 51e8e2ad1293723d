from django.urls import path

from crm.correspondence import views

app_name = "correspondence"

urlpatterns = [
    path("write/<str:kind>/<int:pk>/", views.compose, name="compose"),
    path("write/<str:kind>/<int:pk>/preview/", views.compose_preview, name="compose_preview"),
    path("sms/<str:kind>/<int:pk>/", views.sms_compose, name="sms_compose"),
    path("sms/callback/<str:token>/", views.sms_callback, name="sms_callback"),
    path("templates/", views.template_list, name="template_list"),
    path("templates/new/", views.template_create, name="template_create"),
    path("templates/<int:pk>/", views.template_edit, name="template_edit"),
    path("templates/<int:pk>/delete/", views.template_delete, name="template_delete"),
    path("sender/", views.sender, name="sender"),
]
