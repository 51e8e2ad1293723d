"""The REST API: one NinjaAPI mounting each app's router under /api/v1.

Every operation requires a personal API token (``Authorization: Bearer crm_…``) or a
signed-in browser session (with CSRF for unsafe methods). The schema is served at
``/api/v1/openapi.json`` and the interactive docs at ``/api/v1/docs``, from the Swagger UI
files that django-ninja ships (no CDN).
"""

from ninja import NinjaAPI, Swagger

from crm.accounts.api import router as users_router
from crm.api.auth import session_auth, token_auth
from crm.api.docs import docs_access
from crm.api.errors import install_error_handlers
from crm.api.transport import JsonParser, Utf8JsonRenderer
from crm.customers.api import companies_router, contacts_router, custom_fields_router
from crm.leads.api import router as leads_router
from crm.notifications.api import router as notifications_router
from crm.planner.api import router as planner_router
from crm.sales.api import router as sales_router

DESCRIPTION = """
REST API of the CRM: contacts, companies, their timelines, custom fields and users.

**Authentication.** Send a personal API token (create one on your profile page) as
`Authorization: Bearer crm_…`. A signed-in browser may use its session; then unsafe methods
need the `X-CSRFToken` header.

**Errors.** Every error is `{"detail": "…", "errors": {"field": ["message", …]}}`; field
names follow the body (`phones[0]`, `custom.budget`). 401 — not authenticated, 403 — your
role may not do this, 404 — no such record or you may not see it, 409 — an exact duplicate
(the answer lists `duplicates`; repeat with `"allow_duplicate": true` to save anyway),
413 — body too large, 415 — body is not JSON, 422 — invalid input.

**Pagination.** Lists answer `{"items": […], "next_cursor": "…"}`; pass `cursor` to get the
next page, `limit` (1–200, default 50) to size it.
"""

api = NinjaAPI(
    title="CRM API",
    version="1",
    description=DESCRIPTION.strip(),
    urls_namespace="api",
    auth=[token_auth, session_auth],
    parser=JsonParser(),
    renderer=Utf8JsonRenderer(),
    # No online validator badge: it would load an image from swagger.io, which the page's
    # Content-Security-Policy refuses (and which would leak the schema's address).
    docs=Swagger(settings={"validatorUrl": None}),
    docs_decorator=docs_access,
)
install_error_handlers(api)

api.add_router("/contacts", contacts_router)
api.add_router("/companies", companies_router)
api.add_router("/custom-fields", custom_fields_router)
api.add_router("/users", users_router)
api.add_router("/notifications", notifications_router)
api.add_router("/leads", leads_router)
api.add_router("", sales_router)  # /pipelines, /stages, /lost-reasons, /deals, /products
api.add_router("", planner_router)  # /tasks, /absences
