"""Every error is JSON in one shape, and no input, however bad, gets a 500."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crm.api.errors import field_name
from crm.api.tests.conftest import ApiClient, token_for
from crm.api.urls import api
from crm.customers.api import CompanyIn, ContactIn, ShareIn, TimelineEntryIn
from crm.customers.tests.factories import make_company, make_contact

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_api(org):
    return ApiClient(token_for(org.admin))


def _assert_error_shape(response, status):
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert isinstance(body["detail"], str) and body["detail"]
    assert isinstance(body["errors"], dict)
    return body


# --- the wire ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    ["{", "{'first_name': 'x'}", "[1,]", "NaN", '{"first_name": NaN}', "\xff\xfe", "первый"],
)
def test_malformed_json_is_400_naming_the_body(admin_api, raw):
    response = admin_api.post("/contacts", raw.encode("utf-8", "surrogateescape"))

    body = _assert_error_shape(response, 400)
    assert "body" in body["errors"]


def test_invalid_utf8_is_400(admin_api):
    response = admin_api.post("/contacts", b'{"first_name": "\xff"}')

    _assert_error_shape(response, 400)


def test_deeply_nested_json_is_400_not_a_crash(admin_api):
    raw = "[" * 100_000 + "]" * 100_000

    _assert_error_shape(admin_api.post("/contacts", raw), 400)


@pytest.mark.parametrize("content_type", ["text/plain", "multipart/form-data; boundary=x", ""])
def test_a_body_that_is_not_json_is_415(org, content_type):
    client = ApiClient(token_for(org.admin)).client
    headers = {"Authorization": f"Bearer {token_for(org.admin)}"}

    response = client.post(
        "/api/v1/contacts", '{"first_name": "Анна"}', content_type=content_type, headers=headers
    )

    body = _assert_error_shape(response, 415)
    assert "body" in body["errors"]


def test_an_oversized_body_is_413(admin_api, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000

    response = admin_api.post("/contacts", {"first_name": "А", "notes": "x" * 20_000})

    _assert_error_shape(response, 413)


def test_a_body_that_is_not_an_object_is_422(admin_api):
    for raw in ("[]", "1", '"text"', "null", "true"):
        _assert_error_shape(admin_api.post("/contacts", raw), 422)


def test_domain_errors_keep_their_status(org):
    contact = make_contact(org.manager)
    viewer = ApiClient(token_for(org.viewer))

    body = _assert_error_shape(viewer.patch(f"/contacts/{contact.pk}", {"notes": "x"}), 403)
    assert body["errors"] == {}


@pytest.mark.parametrize(
    ("loc", "name"),
    [
        (("body", "payload", "phones", 1, "value"), "phones[1].value"),
        (("body", "payload", "first_name"), "first_name"),
        (("query", "limit"), "limit"),
        (("path", "contact_id"), "contact_id"),
        (("body", "payload", "custom", "budget", "constrained-int"), "custom.budget"),
        (("body", "payload", "custom", "str", "bool"), "custom.str"),
        (("body", "payload"), "body"),
        (("body",), "body"),
    ],
)
def test_field_names_follow_the_body(loc, name):
    assert field_name(loc)[0] == name


# --- nothing reaches a 500 ---------------------------------------------------------------------


def _world(org) -> dict[str, int]:
    company = make_company(org.manager, legal_name="Фаззинг")
    contact = make_contact(org.manager, employments=[{"company_id": company.pk, "position": ""}])
    return {"contact_id": contact.pk, "company_id": company.pk, "user_id": org.manager.pk}


def _operations(ids: dict[str, int]) -> list[tuple[str, str, str]]:
    """(method, concrete path, template) of every operation of the API."""
    result = []
    for template, methods in api.get_openapi_schema()["paths"].items():
        path = template.removeprefix("/api/v1")
        for name, value in ids.items():
            path = path.replace("{" + name + "}", str(value))
        result += [(method.upper(), path, template) for method in methods]
    return result


def _body_schema(method: str, template: str) -> Any:
    if method == "GET":
        return None
    if template.endswith("/share"):
        return ShareIn
    if template.endswith("/timeline"):
        return TimelineEntryIn
    return CompanyIn if "/companies" in template else ContactIn


NASTY_VALUES: list[Any] = [
    None,
    True,
    0,
    -1,
    2**63,
    -(2**80),
    1e308,
    "",
    " ",
    "x" * 100_000,
    "\u0000",
    "\ud800",
    "\udfff\ud800",
    "<script>alert(1)</script>",
    "'; DROP TABLE customers_contact; --",
    "%s%s%s%n",
    "𝕳𝖊𝖑𝖑𝖔 👩‍👩‍👧‍👦 \u202e",
    [],
    [None],
    [[[[[]]]]],
    {},
    {"a": {"b": {"c": [1, {"d": None}]}}},
    [{"value": None, "label": {"x": 1}}],
    [{"value": "+79161234567", "label": "work"}] * 60,
    [{"company_id": 2**70}],
    [{"company_id": "1"}],
    {"": None, "\ud800": 1, "x" * 200: "y"},
    ["a"] * 1000,
]

NASTY_PATHS = [
    "/contacts/0",
    "/contacts/-1",
    "/contacts/99999999999999999999999999",
    "/contacts/abc",
    "/contacts/1e3",
    "/contacts/%00",
    "/contacts/%F0%9F%92%A9",
    "/companies/9223372036854775807",
    "/companies/9223372036854775808/people",
    "/users/-5",
    "/users/1.5",
    "/contacts?q=%ED%A0%80&cursor=%FF%FE&limit=%00",
    "/companies?tag=%C0%AF&source=%ED%BF%BF",
]

NASTY_CURSORS = [
    "",
    "=",
    "%%%",
    "x" * 5000,
    "\u0000",
    "😀",
    base64.urlsafe_b64encode(b"[1,2]").decode(),
    base64.urlsafe_b64encode(b'[{"dt":"never"},1]').decode(),
    base64.urlsafe_b64encode(b'[{"dt":"2020-01-01T00:00:00"},1]').decode(),
    base64.urlsafe_b64encode(
        b'[{"dt":"2020-01-01T00:00:00+00:00"},99999999999999999999999]'
    ).decode(),
    base64.urlsafe_b64encode(b'["a","b",1]').decode(),
    base64.urlsafe_b64encode(b"[[],{},null]").decode(),
    base64.urlsafe_b64encode(b"\xff\xfe").decode(),
    base64.urlsafe_b64encode(json.dumps(["x"] * 3).encode()).decode(),
]


# Values likely to pass the schema and reach the services, tried field by field.
FIELD_BY_FIELD = [
    None,
    "",
    " ",
    "<script>alert(1)</script>",
    "𝕳𝖊𝖑𝖑𝖔 👩‍👩‍👧‍👦 \u202e",
    2**63,
    [],
    {},
]
LIMITS = ["1", "-1", "0", "1e9", "x", "200", "201"]


@pytest.mark.slow
def test_nasty_payloads_never_get_a_500(org, admin_api):
    ids = _world(org)
    seen_schemas = set()
    for method, path, template in _operations(ids):
        schema = _body_schema(method, template)
        if schema is None:
            for index, cursor in enumerate(NASTY_CURSORS):
                limit = LIMITS[index % len(LIMITS)]
                response = admin_api.get(path, cursor=cursor, limit=limit)
                assert response.status_code < 500, (path, cursor, limit)
            for value in NASTY_VALUES:
                # A query string carries UTF-8 only; lone surrogates go in as raw bytes below.
                text = str(value).encode("utf-8", "replace").decode()
                params = {"q": text[:300], "owner_id": text[:50], "kind": text[:50]}
                assert admin_api.get(path, **params).status_code < 500, (path, value)
            continue
        # Every field at once with each nasty value: the schema checks all fields together.
        for value in NASTY_VALUES:
            body = dict.fromkeys(schema.model_fields, value)
            assert admin_api.request(method, path, body).status_code < 500, (method, path, value)
        # Field by field (once per schema and method) with values that reach the services.
        if (schema, method) not in seen_schemas:
            seen_schemas.add((schema, method))
            for field in schema.model_fields:
                for value in FIELD_BY_FIELD:
                    response = admin_api.request(method, path, {field: value})
                    assert response.status_code < 500, (method, path, field, value)
        for raw in ('{"first_name": "\\ud800"}', '{"title": "\\udfff", "kind": "note"}', "[]"):
            assert admin_api.request(method, path, raw).status_code < 500, (method, path, raw)
    for path in NASTY_PATHS:
        for method in ("GET", "PATCH", "POST"):
            response = admin_api.request(method, path, {"first_name": "А"})
            assert response.status_code < 500, (method, path)
            if "?" not in path:
                assert response.status_code != 200, (method, path)


JSON_LEAVES = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=40)
)
JSON_VALUES = st.recursive(
    JSON_LEAVES,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=12,
)


def _bodies(schema: Any) -> Any:
    fields = list(schema.model_fields)
    well_typed = {
        "value": st.text(max_size=30),
        "label": st.sampled_from(["work", "mobile", "home", "other", "space"]),
    }
    point = st.fixed_dictionaries({}, optional={k: v | JSON_VALUES for k, v in well_typed.items()})
    by_field = {name: JSON_VALUES for name in fields}
    for name in ("phones", "emails", "messengers", "addresses", "employments"):
        if name in by_field:
            by_field[name] = st.lists(point | JSON_VALUES, max_size=3) | JSON_VALUES
    return st.fixed_dictionaries({}, optional=by_field) | JSON_VALUES


@pytest.mark.slow
@pytest.mark.parametrize("schema_name", ["contact", "company", "timeline", "share"])
def test_random_bodies_never_get_a_500(org, admin_api, schema_name):
    ids = _world(org)
    targets = {
        "contact": (
            ContactIn,
            [("POST", "/contacts"), ("PATCH", f"/contacts/{ids['contact_id']}")],
        ),
        "company": (
            CompanyIn,
            [("POST", "/companies"), ("PATCH", f"/companies/{ids['company_id']}")],
        ),
        "timeline": (
            TimelineEntryIn,
            [
                ("POST", f"/contacts/{ids['contact_id']}/timeline"),
                ("POST", f"/companies/{ids['company_id']}/timeline"),
            ],
        ),
        "share": (
            ShareIn,
            [
                ("POST", f"/contacts/{ids['contact_id']}/share"),
                ("POST", f"/companies/{ids['company_id']}/share"),
            ],
        ),
    }
    schema, calls = targets[schema_name]

    @settings(
        max_examples=40,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(body=_bodies(schema), call=st.sampled_from(calls))
    def check(body, call):
        method, path = call
        response = admin_api.request(method, path, body)
        assert response.status_code < 500, (method, path, body)
        if response.status_code >= 400:
            assert set(response.json()) >= {"detail", "errors"}

    check()


@pytest.mark.slow
@settings(
    max_examples=60,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    params=st.dictionaries(
        st.sampled_from(
            [
                "q",
                "owner_id",
                "client_type",
                "tag",
                "source",
                "company_id",
                "order",
                "cursor",
                "limit",
                "kind",
                "entity",
            ]
        ),
        st.text(max_size=60) | st.integers().map(str),
        max_size=5,
    ),
    path=st.sampled_from(["/contacts", "/companies", "/users", "/custom-fields"]),
)
def test_random_list_parameters_never_get_a_500(org, admin_api, params, path):
    response = admin_api.get(path, **params)

    assert response.status_code in (200, 422), (path, params, response.content)


def test_unknown_api_path_answers_json_404(client):
    response = client.get("/api/v1/no-such-thing")
    assert response.status_code == 404
    assert response.json()["detail"]
