"""Schemathesis fuzzes every operation of the served OpenAPI schema, as a manager and as an
administrator: no answer is a server error, and every answer is one the schema declares
(status code, content type, body schema).

Marked ``fuzz`` and run by its own CI step (``.ci/run``), not by ``make test``: set
``CRM_FUZZ=1`` to run it (``CRM_FUZZ_EXAMPLES``, 20 by default, sizes the run: both roles
take 80 s on SQLite here, 60 examples 8 min on PostgreSQL). A failure exits non-zero, so
the CI step fails on any finding. It runs in-process against the WSGI app, in
the test's database transaction. Every failing operation is reported, not only the first.
"""

from __future__ import annotations

import os
import uuid

import pytest

schemathesis = pytest.importorskip("schemathesis")

from django.core.wsgi import get_wsgi_application  # noqa: E402
from hypothesis import HealthCheck, Phase, given, settings  # noqa: E402
from schemathesis.checks import (  # noqa: E402
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from crm.api.idempotency import HEADER  # noqa: E402
from crm.api.tests.conftest import token_for  # noqa: E402
from crm.customers.tests.factories import make_company, make_contact  # noqa: E402

pytestmark = [
    pytest.mark.fuzz,
    pytest.mark.skipif(not os.environ.get("CRM_FUZZ"), reason="set CRM_FUZZ=1 (a CI step)"),
]

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
EXAMPLES = int(os.environ.get("CRM_FUZZ_EXAMPLES") or 20)


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


@pytest.mark.parametrize("role", ["manager", "admin"])
def test_api_answers_as_its_schema_says(org, keep_connection, role):
    user = getattr(org, role)
    company = make_company(user, legal_name="Схема")
    make_contact(user, employments=[{"company_id": company.pk, "position": ""}])
    headers = {"Authorization": f"Bearer {token_for(user)}"}
    # The pytest plugin of schemathesis does not support pytest 9 yet; drive it directly.
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", get_wsgi_application())
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 60
    failures: list[str] = []

    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            database=None,
            derandomize=True,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        def check(case):
            if case.headers and HEADER in case.headers:
                # A fresh key: the work runs (and its answer is stored) on every example
                # instead of most examples replaying one generated key.
                case.headers[HEADER] = str(uuid.uuid4())
            response = case.call(headers=headers)
            case.validate_response(response, checks=CHECKS)

        try:
            check()
        except Exception as error:  # every operation is fuzzed, then all failures shown
            failures.append(f"{operation.label}: {error}")

    assert not failures, "\n\n".join(failures)
