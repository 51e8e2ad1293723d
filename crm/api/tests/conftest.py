"""Fixtures of the API tests: a JSON client per user, authenticated by a personal token."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from crm.accounts.models import User
from crm.accounts.services import api_token_create


class ApiClient:
    """A Django test client that speaks JSON to /api/v1 with a bearer token (or none)."""

    def __init__(self, token: str | None = None, client: Client | None = None):
        self.client = client or Client()
        self.headers = {"Authorization": f"Bearer {token}"} if token else {}

    def request(self, method: str, path: str, body: Any = None, **params: Any) -> Any:
        url = path if path.startswith("/api/") else f"/api/v1{path}"
        call = getattr(self.client, method.lower())
        if method.upper() == "GET":
            return call(url, params, headers=self.headers)
        raw = (
            body if isinstance(body, str | bytes) else json.dumps(body if body is not None else {})
        )
        return call(url, raw, content_type="application/json", headers=self.headers)

    def get(self, path: str, **params: Any) -> Any:
        return self.request("GET", path, **params)

    def post(self, path: str, body: Any = None) -> Any:
        return self.request("POST", path, body)

    def patch(self, path: str, body: Any = None) -> Any:
        return self.request("PATCH", path, body)


def token_for(user: User) -> str:
    _token, secret = api_token_create(user=user, name="tests")
    return secret


@pytest.fixture
def api_as():
    """``api_as(user)`` → a token-authenticated client; ``api_as(None)`` → anonymous."""

    def make(user: User | None) -> ApiClient:
        return ApiClient(token_for(user) if user is not None else None)

    return make
