"""Sales pages: each views module owns its URL patterns; this joins them."""

from crm.sales.views import board, deals, documents, payments, pipelines, products

app_name = "sales"

urlpatterns = [
    *deals.urlpatterns,
    *board.urlpatterns,
    *pipelines.urlpatterns,
    *products.urlpatterns,
    *payments.urlpatterns,
    *documents.urlpatterns,
]
