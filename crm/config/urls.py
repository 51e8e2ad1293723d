"""Root URL configuration."""

from django.urls import include, path, re_path

from crm.analytics import views as analytics_views
from crm.api.errors import api_not_found
from crm.api.urls import api
from crm.leads.views import public as public_forms

urlpatterns = [
    path("", analytics_views.home, name="home"),
    path("reports/", include("crm.analytics.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("accounts/", include("crm.accounts.urls")),
    path("customers/", include("crm.customers.urls")),
    path("", include("crm.activities.urls")),
    path("sales/", include("crm.sales.urls")),
    path("leads/", include("crm.leads.urls")),
    path("mail/", include("crm.correspondence.urls")),
    path("mailings/", include("crm.mailings.urls")),
    path("f/", include(public_forms.urlpatterns)),
    path("notifications/", include("crm.notifications.urls")),
    path("tasks/", include("crm.planner.urls")),
    path("", include("crm.transfer.urls")),  # /imports/… and /export/…
    path("api/v1/", api.urls),
    re_path(r"^api/(?P<path>.*)$", api_not_found),
]
