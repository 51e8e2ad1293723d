"""The schema and the docs page: valid JSON listing every path, served without a CDN."""

from __future__ import annotations

import json
import re

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db

EXPECTED_PATHS = {
    "/api/v1/contacts",
    "/api/v1/contacts/{contact_id}",
    "/api/v1/contacts/{contact_id}/share",
    "/api/v1/contacts/{contact_id}/timeline",
    "/api/v1/companies",
    "/api/v1/companies/{company_id}",
    "/api/v1/companies/{company_id}/share",
    "/api/v1/companies/{company_id}/people",
    "/api/v1/companies/{company_id}/timeline",
    "/api/v1/custom-fields",
    "/api/v1/handovers",
    "/api/v1/handovers/preview",
    "/api/v1/handovers/{handover_id}",
    "/api/v1/users",
    "/api/v1/users/me",
    "/api/v1/users/{user_id}",
    "/api/v1/notifications",
    "/api/v1/notifications/read",
}

# crm/sales/api/
EXPECTED_PATHS |= {
    "/api/v1/pipelines",
    "/api/v1/pipelines/{pipeline_id}",
    "/api/v1/pipelines/{pipeline_id}/archive",
    "/api/v1/pipelines/{pipeline_id}/restore",
    "/api/v1/pipelines/{pipeline_id}/stages",
    "/api/v1/pipelines/{pipeline_id}/stages/order",
    "/api/v1/stages/{stage_id}",
    "/api/v1/stages/{stage_id}/archive",
    "/api/v1/stages/{stage_id}/restore",
    "/api/v1/lost-reasons",
    "/api/v1/lost-reasons/{reason_id}",
    "/api/v1/lost-reasons/{reason_id}/archive",
    "/api/v1/lost-reasons/{reason_id}/restore",
    "/api/v1/deals",
    "/api/v1/deals/{deal_id}",
    "/api/v1/deals/{deal_id}/move",
    "/api/v1/deals/{deal_id}/win",
    "/api/v1/deals/{deal_id}/lose",
    "/api/v1/deals/{deal_id}/reopen",
    "/api/v1/deals/{deal_id}/share",
    "/api/v1/deals/{deal_id}/history",
    "/api/v1/deals/{deal_id}/lines",
    "/api/v1/deals/{deal_id}/lines/{line_id}",
    "/api/v1/deals/{deal_id}/payments",
    "/api/v1/deals/{deal_id}/payments/{payment_id}",
    "/api/v1/deals/{deal_id}/payments/{payment_id}/receive",
    "/api/v1/deals/{deal_id}/payments/{payment_id}/cancel",
    "/api/v1/products",
    "/api/v1/products/{product_id}",
    "/api/v1/products/{product_id}/archive",
    "/api/v1/products/{product_id}/restore",
}

# crm/planner/api.py
EXPECTED_PATHS |= {
    "/api/v1/tasks",
    "/api/v1/tasks/{task_id}",
    "/api/v1/tasks/{task_id}/complete",
    "/api/v1/tasks/{task_id}/reopen",
    "/api/v1/tasks/{task_id}/reschedule",
    "/api/v1/tasks/{task_id}/reassign",
    "/api/v1/tasks/{task_id}/reminders",
    "/api/v1/tasks/{task_id}/reminders/{reminder_id}",
    "/api/v1/absences",
    "/api/v1/absences/away",
    "/api/v1/absences/{absence_id}",
}
PLANNER_TAGS = {"Tasks", "Absences"}

# crm/analytics/api.py
EXPECTED_PATHS |= {"/api/v1/reports/funnel", "/api/v1/reports/sales"}
EXPECTED_PATHS |= {"/api/v1/reports/leads", "/api/v1/reports/activity"}
EXPECTED_PATHS |= {"/api/v1/reports/plans", "/api/v1/reports/bonus-rules"}
EXPECTED_PATHS |= {"/api/v1/reports/forecast", "/api/v1/reports/clients"}
REPORT_TAGS = {"Reports"}

# crm/leads/api.py
EXPECTED_PATHS |= {
    "/api/v1/leads",
    "/api/v1/leads/{lead_id}",
    "/api/v1/leads/{lead_id}/status",
    "/api/v1/leads/{lead_id}/assign",
    "/api/v1/leads/{lead_id}/convert",
}

# crm/transfer/api.py
EXPECTED_PATHS |= {
    "/api/v1/imports",
    "/api/v1/imports/fields",
    "/api/v1/imports/{import_id}",
    "/api/v1/imports/{import_id}/report",
    "/api/v1/imports/{import_id}/failed-rows",
    "/api/v1/imports/{import_id}/cancel",
    "/api/v1/imports/{import_id}/undo",
}
TRANSFER_TAGS = {"Import"}

# crm/correspondence/api.py
EXPECTED_PATHS |= {
    "/api/v1/email-templates",
    "/api/v1/email-templates/{template_id}",
    "/api/v1/emails",
    "/api/v1/emails/preview",
    "/api/v1/emails/{email_id}",
    "/api/v1/sms",
    "/api/v1/sms/{sms_id}",
}
CORRESPONDENCE_TAGS = {"E-mail", "SMS"}
# crm/mailings/api.py
EXPECTED_PATHS |= {
    "/api/v1/segments",
    "/api/v1/segments/count",
    "/api/v1/segments/{segment_id}",
    "/api/v1/segments/{segment_id}/count",
    "/api/v1/segments/{segment_id}/recipients",
    "/api/v1/contacts/{contact_id}/consent",
    "/api/v1/mailings",
    "/api/v1/mailings/{mailing_id}",
    "/api/v1/mailings/{mailing_id}/start",
    "/api/v1/mailings/{mailing_id}/pause",
    "/api/v1/mailings/{mailing_id}/resume",
    "/api/v1/mailings/{mailing_id}/cancel",
    "/api/v1/mailings/{mailing_id}/report",
    "/api/v1/mailings/{mailing_id}/recipients",
}
MAILINGS_TAGS = {"Segments", "Mailings"}


def test_openapi_json_is_valid_and_lists_the_paths():
    response = Client().get("/api/v1/openapi.json")

    assert response.status_code == 200
    schema = json.loads(response.content)
    assert schema["openapi"].startswith("3.")
    assert schema["info"]["title"] == "CRM API"
    assert schema["info"]["version"] == "1"
    assert "Bearer" in schema["info"]["description"]
    assert set(schema["paths"]) == EXPECTED_PATHS


def test_openapi_documents_bearer_auth_on_every_operation():
    schema = Client().get("/api/v1/openapi.json").json()

    assert schema["components"]["securitySchemes"]["TokenAuth"] == {
        "type": "http",
        "scheme": "bearer",
        "description": schema["components"]["securitySchemes"]["TokenAuth"]["description"],
    }
    for methods in schema["paths"].values():
        for operation in methods.values():
            assert {"TokenAuth": []} in operation["security"]
            assert "401" in operation["responses"]


def test_operations_are_grouped_by_resource():
    schema = Client().get("/api/v1/openapi.json").json()

    tags = {
        tag for methods in schema["paths"].values() for op in methods.values() for tag in op["tags"]
    }
    tags -= PLANNER_TAGS  # crm/planner/api.py
    tags -= REPORT_TAGS  # crm/analytics/api.py
    tags -= TRANSFER_TAGS  # crm/transfer/api.py
    tags -= CORRESPONDENCE_TAGS  # crm/correspondence/api.py
    tags -= MAILINGS_TAGS  # crm/mailings/api.py

    assert tags == {"Contacts", "Companies", "Custom fields", "Handover", "Users"} | {
        "Notifications",
        "Pipelines",
        "Deals",
        "Products",
        "Leads",
    }


def test_docs_page_loads_swagger_from_local_static_files():
    response = Client().get("/api/v1/docs")

    html = response.content.decode()
    assert response.status_code == 200
    assert "/static/ninja/swagger-ui-bundle.js" in html
    assert "/static/ninja/swagger-ui.css" in html
    assert not re.search(r"https?://", html), "the docs page must not load anything remote"


def test_the_swagger_files_are_found_by_staticfiles():
    from django.contrib.staticfiles import finders

    for name in ("ninja/swagger-ui-bundle.js", "ninja/swagger-ui.css", "ninja/swagger-ui-init.js"):
        assert finders.find(name), name


def test_operations_answering_one_type_share_one_response_model():
    # Ninja wraps each answer type in a model per status code and operation; crm.core.api
    # makes it one per type (start-up time), and the shared model still validates answers.
    from crm.api.urls import api
    from crm.core.api import ErrorOut

    api._get_bound_routers()  # fills ``_routers`` with the nested routers too
    operations = [
        operation
        for _prefix, router in api._routers
        for view in router.path_operations.values()
        for operation in view.operations
    ]
    error_models = {
        model
        for operation in operations
        for model in operation.response_models.values()
        if model is not None and model.model_fields["response"].annotation is ErrorOut
    }
    assert len(operations) > 50
    assert len(error_models) == 1
    (model,) = error_models
    answer = model.model_validate({"response": {"detail": "No such record."}})
    assert answer.response.errors == {}
