"""The API docs and schema: public on a laptop, behind sign-in (session or token) in
production."""

from __future__ import annotations

import pytest
from django.test import Client, override_settings

from conftest import client_for
from crm.api.tests.conftest import token_for

pytestmark = pytest.mark.django_db

DOCS = "/api/v1/docs"
SCHEMA = "/api/v1/openapi.json"


@override_settings(CRM_API_DOCS_PUBLIC=False)
def test_production_docs_send_an_anonymous_browser_to_sign_in():
    response = Client().get(DOCS)

    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/api/v1/docs"


@override_settings(CRM_API_DOCS_PUBLIC=False)
def test_production_schema_answers_401_to_anonymous():
    response = Client().get(SCHEMA)

    assert response.status_code == 401
    assert response.json()["detail"]
    assert "no-store" in response["Cache-Control"]


@override_settings(CRM_API_DOCS_PUBLIC=False)
def test_production_schema_and_docs_open_to_a_signed_in_user(org):
    client = client_for(org.viewer)

    docs = client.get(DOCS)
    schema = client.get(SCHEMA)

    assert docs.status_code == 200
    assert schema.status_code == 200
    assert schema.json()["info"]["title"] == "CRM API"
    policy = docs["Content-Security-Policy"]
    assert "script-src 'self' 'nonce-" in policy
    assert b"<script>" not in docs.content  # Swagger UI starts from a static file


@override_settings(CRM_API_DOCS_PUBLIC=False)
def test_production_schema_opens_to_an_api_token(org):
    response = Client().get(SCHEMA, headers={"Authorization": f"Bearer {token_for(org.manager)}"})

    assert response.status_code == 200


@override_settings(CRM_API_DOCS_PUBLIC=False)
def test_production_schema_refuses_a_wrong_token():
    response = Client().get(SCHEMA, headers={"Authorization": "Bearer crm_nope_nope"})

    assert response.status_code == 401


@override_settings(CRM_API_DOCS_PUBLIC=True)
def test_development_docs_stay_public():
    assert Client().get(DOCS).status_code == 200
    assert Client().get(SCHEMA).status_code == 200


def test_docs_load_no_online_validator_badge(org):
    response = client_for(org.viewer).get(DOCS)

    assert b'"validatorUrl": null' in response.content
