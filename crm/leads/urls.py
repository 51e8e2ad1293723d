"""Lead pages: each views module owns its URL patterns; this joins them."""

from crm.leads.views import channels, inbound, leads, rules, webforms

app_name = "leads"

urlpatterns = [
    *leads.urlpatterns,
    *webforms.urlpatterns,
    *rules.urlpatterns,
    *inbound.urlpatterns,
    *channels.urlpatterns,
]
