"""Strict types on every request body of the API: a number is not a date (``occurred_at:
0`` once dated an entry 1970-01-01), text or a number is not a yes/no, and a fraction,
text or a yes/no is not a whole number. Each wrongly typed value answers 422 naming the
field, whatever the operation; the test walks the served OpenAPI schema, so a new
operation is covered the day it is added."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from crm.customers.tests.factories import make_contact

pytestmark = pytest.mark.django_db

WRONG: dict[str, list[Any]] = {
    "date": [0, 1_700_000_000, "0", "1700000000", 1.5, True],
    "date-time": [0, 1_700_000_000, "0", "1700000000", 1.5, True],
    "boolean": ["true", "yes", 1, 0, 1.0],
    "integer": [1.0, 1.5, "1", True, False],
}


def _kind(schema: dict[str, Any]) -> str | None:
    """``date``, ``date-time``, ``boolean`` or ``integer`` when every non-null member of
    the property's schema is that; None for anything else (text, amounts, objects)."""
    members = schema.get("anyOf") or [schema]
    kinds = set()
    for member in members:
        if member.get("type") == "null":
            continue
        if member.get("type") == "string" and member.get("format") in ("date", "date-time"):
            kinds.add(member["format"])
        elif member.get("type") in ("boolean", "integer"):
            kinds.add(member["type"])
        else:
            return None
    return kinds.pop() if len(kinds) == 1 else None


def _resolve(schema: dict[str, Any], components: dict[str, Any]) -> dict[str, Any]:
    if "$ref" in schema:
        return components[schema["$ref"].rsplit("/", 1)[1]]
    members = [m for m in schema.get("anyOf", []) if m.get("type") != "null"]
    if len(members) == 1:
        return _resolve(members[0], components)
    return schema


def _typed_fields(
    schema: dict[str, Any], components: dict[str, Any], prefix: str = ""
) -> Iterator[tuple[str, Any, str]]:
    """``(field name as errors name it, a body holding it, kind)`` for every typed field,
    one level into nested objects and lists of objects."""
    schema = _resolve(schema, components)
    for name, prop in schema.get("properties", {}).items():
        kind = _kind(prop)
        if kind is not None:
            yield f"{prefix}{name}", name, kind
            continue
        if prefix:
            continue
        nested = _resolve(prop, components)
        if nested.get("type") == "object" and "properties" in nested:
            for sub, sub_key, sub_kind in _typed_fields(nested, components, f"{name}."):
                yield sub, {name: {sub_key: None}}, sub_kind
        elif nested.get("type") == "array":
            items = _resolve(nested.get("items", {}), components)
            for sub, sub_key, sub_kind in _typed_fields(items, components, f"{name}[0]."):
                yield sub, {name: [{sub_key: None}]}, sub_kind


def _body(shape: Any, value: Any) -> dict[str, Any]:
    if isinstance(shape, str):
        return {shape: value}
    ((name, inner),) = shape.items()
    if isinstance(inner, list):
        (key,) = inner[0]
        return {name: [{key: value}]}
    (key,) = inner
    return {name: {key: value}}


def _cases(schema: dict[str, Any]) -> Iterator[tuple[str, str, str, Any, Any]]:
    components = schema["components"]["schemas"]
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            content = operation.get("requestBody", {}).get("content", {})
            body_schema = content.get("application/json", {}).get("schema")
            if body_schema is None:
                continue
            url = path.replace("/api/v1", "")
            for part in ("{", "}"):
                url = url.replace(part, "")
            for name, shape, kind in _typed_fields(body_schema, components):
                for value in WRONG[kind]:
                    yield method, url, name, shape, value


def test_every_wrongly_typed_body_value_answers_422_naming_the_field(org, api_as):
    client = api_as(org.admin)
    contact = make_contact(org.admin, last_name="Петров")
    schema = client.get("/openapi.json").json()
    checked, wrong = 0, []
    for method, url, name, shape, value in _cases(schema):
        # Any path id will do: the body is checked before the record is looked up.
        path = "".join(
            str(contact.pk) if segment.endswith("_id") else segment for segment in _split(url)
        )
        response = client.request(method.upper(), path, _body(shape, value))
        checked += 1
        errors = response.json().get("errors", {}) if response.status_code == 422 else {}
        if response.status_code != 422 or name not in errors:
            wrong.append(f"{method.upper()} {url} {name}={value!r}: {response.status_code}")
        elif any(m.startswith(("Input should", "Value error")) for m in errors[name]):
            wrong.append(f"{method.upper()} {url} {name}={value!r}: pydantic's {errors[name]}")
    assert checked > 100
    assert not wrong, "\n".join(wrong)


def _split(url: str) -> list[str]:
    """``/contacts/contact_id/timeline`` → segments, keeping the slashes."""
    parts: list[str] = []
    for segment in url.split("/"):
        if parts:
            parts.append("/")
        parts.append(segment)
    return parts


def test_an_iso_date_and_moment_are_still_accepted(org, api_as):
    client = api_as(org.manager)
    contact = make_contact(org.manager, last_name="Петров")

    entry = client.post(
        f"/contacts/{contact.pk}/timeline",
        {"kind": "note", "body": "Звонок", "occurred_at": "2026-03-01T10:00:00+03:00"},
    )
    absence = client.post(
        "/absences", {"kind": "vacation", "starts_on": "2026-08-01", "ends_on": "2026-08-14"}
    )

    assert entry.status_code == 201, entry.json()
    assert entry.json()["occurred_at"].startswith("2026-03-01T")
    assert absence.status_code == 201, absence.json()


def test_occurred_at_zero_is_refused_naming_the_field(org, api_as):
    contact = make_contact(org.manager, last_name="Петров")

    response = api_as(org.manager).post(
        f"/contacts/{contact.pk}/timeline", {"kind": "note", "body": "x", "occurred_at": 0}
    )

    assert response.status_code == 422
    assert response.json()["errors"] == {
        "occurred_at": ["Нужна дата текстом в формате ISO 8601 (ГГГГ-ММ-ДД)."]
    }
