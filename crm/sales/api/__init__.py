"""REST API of sales: pipelines and stages, reasons for loss, deals (with their stage history,
line items and payments) and the product catalogue.

Endpoints are adapters: a schema (``crm.sales.api.schemas``) parses the request, one
selector or service does the work, a schema renders the answer. The services apply the same
rules as the pages (a stage's required fields, the reason for a loss, money bounds) and
refuse in one transaction, so a refused call changes nothing.

Access follows the UI: everyone signed in reads pipelines, stages, reasons for loss and the
catalogue; administrators configure pipelines; administrators and heads of sales edit the
catalogue. A deal (and its lines and payments) the caller may not see answers 404; a change
the caller's role may not make answers 403. Deals are never deleted: their history is kept,
a deal that will not happen is lost instead.
"""

from ninja import Router

from crm.sales.api.deals import deals_router
from crm.sales.api.pipelines import lost_reasons_router, pipelines_router, stages_router
from crm.sales.api.products import products_router

# Mounted at the root of /api/v1 by ``crm.api.urls``; the sub-routers carry the paths.
router = Router()
router.add_router("/pipelines", pipelines_router)
router.add_router("/stages", stages_router)
router.add_router("/lost-reasons", lost_reasons_router)
router.add_router("/deals", deals_router)
router.add_router("/products", products_router)
