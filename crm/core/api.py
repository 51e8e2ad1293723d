"""The API base every app's router shares: field types, the error body and small schemas.

It lives in ``core`` (not in ``crm.api``) because the domain apps define their routers and
must not import the edge package that mounts them. The authentication, the error handlers
and the mounting live in ``crm.api``.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Schema
from ninja.operation import Operation
from pydantic import AfterValidator, BeforeValidator, ConfigDict, Field, Strict

# The largest primary key the databases store (a signed 64-bit integer).
MAX_ID = 2**63 - 1

DatabaseId = Annotated[int, Field(ge=1, le=MAX_ID)]
"""A primary key: bigger or negative numbers are refused before they reach the database."""


def _storable(value: str) -> str:
    # PostgreSQL refuses NUL in text and no database stores a lone surrogate ("\ud800"
    # escaped in JSON): refuse both here, with the field's name, instead of failing later.
    if "\x00" in value:
        raise ValueError(_("NUL characters are not allowed."))
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError(_("Invalid Unicode (a lone surrogate).")) from None
    return value


Storable = AfterValidator(_storable)
"""The last part of every text field type: refuses what no database stores.

A text type is ``Annotated[str, StringConstraints(max_length=N), Storable]``. The cap only
throws out garbage early; the services apply the real (lower) limits with their own
messages, so the UI and the API share one set of rules.
"""


_ISO_DATE_START = re.compile(r"\d{4}-\d{2}-\d{2}")


def _iso_text(value: Any) -> Any:
    # Pydantic reads a number (0, "0", 1.5e9) as a Unix time: an entry dated 1970-01-01 by
    # mistake. Dates and moments travel as ISO 8601 text only.
    if value is None or (isinstance(value, str) and _ISO_DATE_START.match(value.strip())):
        return value
    raise ValueError(_("Expected a date as ISO 8601 text (YYYY-MM-DD)."))


IsoDate = Annotated[dt.date, Strict(False), BeforeValidator(_iso_text)]
"""A date: ISO 8601 text (``"2026-03-01"``) only, never a number."""

IsoDateTime = Annotated[dt.datetime, Strict(False), BeforeValidator(_iso_text)]
"""A moment: ISO 8601 text (``"2026-03-01T10:00:00+03:00"``) only, never a number."""


class InputSchema(Schema):
    """Base of request bodies: unknown keys are refused, never silently dropped, and types
    are strict — no number for a date, no text or number for a yes/no, no fraction, text
    or yes/no for a whole number. Dates and moments are ``IsoDate``/``IsoDateTime`` (text,
    as JSON carries them); amounts take text or a number by their own types."""

    model_config = ConfigDict(extra="forbid", strict=True)


class ErrorOut(Schema):
    """Every error answer: a message and the messages of each offending field."""

    detail: str
    errors: dict[str, list[str]] = Field(default_factory=dict)


class UserRefOut(Schema):
    """A user as other records show them: the id and the display name."""

    id: int
    name: str

    @staticmethod
    def resolve_name(obj: Any) -> str:
        return str(obj)


# Error answers documented on every operation (the handlers in ``crm.api.errors`` make them).
READ_ERRORS: dict[int, Any] = {401: ErrorOut, 404: ErrorOut, 422: ErrorOut}
WRITE_ERRORS: dict[int, Any] = {
    400: ErrorOut,
    401: ErrorOut,
    403: ErrorOut,
    404: ErrorOut,
    413: ErrorOut,
    415: ErrorOut,
    422: ErrorOut,
}


_RESPONSE_MODELS: dict[Any, type[Schema] | None] = {}
_create_response_model = Operation._create_response_model


def _shared_response_model(operation: Operation, response_param: Any) -> type[Schema] | None:
    """The wrapper model ninja validates an answer with, one per answer type, not per use.

    Ninja builds a new pydantic model ``{"response": <type>}`` for every status code of every
    operation: 632 models, 529 of them for ``ErrorOut``, a third of the API's start-up time.
    The model holds nothing but the type, so operations answering the same type share one;
    the served schema and the validation are unchanged (``api/tests/test_openapi.py``).
    """
    try:
        return _RESPONSE_MODELS[response_param]
    except KeyError:
        model = _RESPONSE_MODELS[response_param] = _create_response_model(operation, response_param)
        return model
    except TypeError:  # an unhashable answer type: built for this use only
        return _create_response_model(operation, response_param)


# Every router imports this module (for ``ErrorOut``) before it adds an operation.
Operation._create_response_model = _shared_response_model  # type: ignore[method-assign,assignment]


def request_user(request: HttpRequest) -> Any:
    """The user the API authenticated (by token or session) for this request."""
    return request.auth  # type: ignore[attr-defined]
