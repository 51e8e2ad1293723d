"""URLs of the accounts app."""

from django.urls import path

from crm.accounts import views

app_name = "accounts"

urlpatterns = [
    path("login/", views.LoginView.as_view(), name="login"),
    path("login/code/", views.login_code, name="login_code"),
    path("two-factor/", views.two_factor_page, name="two_factor"),
    path("password/", views.password_change, name="password_change"),
    path("time-zone/", views.time_zone, name="time_zone"),
    path("logout/", views.logout_view, name="logout"),
    path("language/", views.language, name="language"),
    path("users/", views.user_list, name="user_list"),
    path("users/new/", views.user_create, name="user_create"),
    path("users/<int:pk>/", views.user_edit, name="user_edit"),
    path("users/<int:pk>/deactivate/", views.user_deactivate, name="user_deactivate"),
    path("users/<int:pk>/reactivate/", views.user_reactivate, name="user_reactivate"),
    path(
        "users/<int:pk>/two-factor/reset/",
        views.user_two_factor_reset,
        name="user_two_factor_reset",
    ),
    path("teams/", views.team_list, name="team_list"),
    path("teams/new/", views.team_create, name="team_create"),
    path("teams/<int:pk>/", views.team_edit, name="team_edit"),
    path("tokens/", views.token_list, name="token_list"),
    path("tokens/<int:pk>/revoke/", views.token_revoke, name="token_revoke"),
    path("security/", views.security_log, name="security_log"),
    path("security/export/", views.security_log_export, name="security_log_export"),
]
