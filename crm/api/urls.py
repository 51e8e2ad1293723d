"""The REST API: one NinjaAPI mounting each app's router under /api/v1.

Every operation requires a personal API token (``Authorization: Bearer crm_…``) or a
signed-in browser session (with CSRF for unsafe methods). The schema is served at
``/api/v1/openapi.json`` and the interactive docs at ``/api/v1/docs``, from the Swagger UI
files that django-ninja ships (no CDN).
"""

from typing import Any

from ninja import NinjaAPI, Swagger
from ninja.openapi.schema import OpenAPISchema

from crm.accounts.api import router as users_router
from crm.analytics.api import router as reports_router
from crm.api import idempotency
from crm.api.auth import session_auth, token_auth
from crm.api.docs import docs_access
from crm.api.errors import install_error_handlers
from crm.api.transport import JsonParser, Utf8JsonRenderer
from crm.correspondence.api import emails_router, sms_router, templates_router
from crm.customers.api import companies_router, contacts_router, custom_fields_router
from crm.customers.api_handover import router as handover_router
from crm.leads.api import router as leads_router
from crm.mailings.api import router as mailings_router
from crm.notifications.api import router as notifications_router
from crm.planner.api import router as planner_router
from crm.sales.api import router as sales_router
from crm.transfer.api import router as imports_router

DESCRIPTION = """
REST API of the CRM: contacts, companies, their timelines, custom fields and users.

**Authentication.** Send a personal API token (create one on your profile page) as
`Authorization: Bearer crm_…`. A signed-in browser may use its session; then unsafe methods
need the `X-CSRFToken` header.

**Errors.** Every error is `{"detail": "…", "errors": {"field": ["message", …]}}`; field
names follow the body (`phones[0]`, `custom.budget`). 400 — the body is not JSON (or is
nested too deep) or a malformed `Idempotency-Key`, 401 — not authenticated, 403 — your
role may not do this, 404 — no such record or you may not see it, 409 — an exact duplicate
(the answer lists `duplicates`; repeat with `"allow_duplicate": true` to save anyway), a
business rule (an archived record, a stage with deals) or an `Idempotency-Key` reused for
another request, 413 — body too large, 415 — body is not JSON, 422 — invalid input (types
are strict: dates as ISO text, whole numbers without a fraction, `true`/`false`).

**Retries.** Every POST takes an `Idempotency-Key` header (1–255 printable ASCII
characters, e.g. a UUID): sent again with the same key and body, the request is not done
twice but answers what the first one answered (with `Idempotent-Replayed: true`); the same
key with another request answers 409. A retry while the first is still running waits for
it. Keys are kept for 24 hours.

**Pagination.** Lists answer `{"items": […], "next_cursor": "…"}`; pass `cursor` to get the
next page, `limit` (1–200, default 50) to size it.
"""

KEY_PARAMETER: dict[str, Any] = {
    "in": "header",
    "name": idempotency.HEADER,
    "required": False,
    "description": (
        "Makes a retry safe: the same key with the same request answers the first answer "
        "without doing the work again; with another request, 409. Kept for 24 hours."
    ),
    "schema": {
        "type": "string",
        "minLength": 1,
        "maxLength": idempotency.MAX_KEY_LENGTH,
        "pattern": idempotency.KEY_PATTERN,
    },
}


class CrmAPI(NinjaAPI):
    """The API, whose schema documents the ``Idempotency-Key`` header on every POST."""

    def get_openapi_schema(
        self, *, path_prefix: str | None = None, path_params: dict[str, Any] | None = None
    ) -> OpenAPISchema:
        schema = super().get_openapi_schema(path_prefix=path_prefix, path_params=path_params)
        for operations in schema["paths"].values():
            post = operations.get("post")
            if post is None:
                continue
            post.setdefault("parameters", []).append(dict(KEY_PARAMETER))
            responses = post.setdefault("responses", {})
            for status in (400, 409):
                responses.setdefault(
                    status,
                    {
                        "description": "Bad Request" if status == 400 else "Conflict",
                        "content": {
                            "application/json": {
                                "schema": {"$ref": "#/components/schemas/ErrorOut"}
                            }
                        },
                    },
                )
        return schema


api = CrmAPI(
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
api.add_decorator(idempotency.idempotent, mode="view")

api.add_router("/contacts", contacts_router)
api.add_router("/companies", companies_router)
api.add_router("/custom-fields", custom_fields_router)
api.add_router("/handovers", handover_router)
api.add_router("/users", users_router)
api.add_router("/notifications", notifications_router)
api.add_router("/leads", leads_router)
api.add_router("", sales_router)  # /pipelines, /stages, /lost-reasons, /deals, /products
api.add_router("", planner_router)  # /tasks, /absences
api.add_router("/reports", reports_router)
api.add_router("/imports", imports_router)
api.add_router("/email-templates", templates_router)
api.add_router("/emails", emails_router)
api.add_router("/sms", sms_router)
api.add_router("", mailings_router)  # /segments, /contacts/{id}/consent
