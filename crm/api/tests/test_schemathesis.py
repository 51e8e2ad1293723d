"""Schemathesis fuzzes every operation from the OpenAPI schema: no 500s, answers as declared.

Runs in-process against the WSGI app (same database transaction as the test), with a few
examples per operation so the whole run stays well under a minute.
"""

from __future__ import annotations

import pytest

schemathesis = pytest.importorskip("schemathesis")

from django.core.wsgi import get_wsgi_application  # noqa: E402
from hypothesis import (  # noqa: E402
    HealthCheck,
    given,
    settings,
)
from schemathesis.checks import (  # noqa: E402
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from crm.api.tests.conftest import token_for  # noqa: E402
from crm.customers.tests.factories import make_company, make_contact  # noqa: E402

CHECKS = [not_a_server_error, status_code_conformance, response_schema_conformance]


@pytest.fixture
def keep_connection():
    """Like Django's test Client: a finished request must not close the test's connection
    (on PostgreSQL that would end the transaction the test runs in)."""
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def admin_token(org):
    company = make_company(org.manager, legal_name="Схема")
    make_contact(org.manager, employments=[{"company_id": company.pk, "position": ""}])
    return token_for(org.admin)


def test_api_never_answers_500(admin_token, keep_connection):
    # The pytest plugin of schemathesis does not support pytest 9 yet; drive it directly.
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", get_wsgi_application())
    headers = {"Authorization": f"Bearer {admin_token}"}
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 17

    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=15, deadline=None, database=None, suppress_health_check=list(HealthCheck)
        )
        def check(case):
            response = case.call(headers=headers)
            case.validate_response(response, checks=CHECKS)

        check()
