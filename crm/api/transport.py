"""How bodies travel: strict JSON in, readable UTF-8 JSON out."""

from __future__ import annotations

import json
from typing import Any

from django.http import HttpRequest
from ninja.parser import Parser
from ninja.renderers import JSONRenderer


class UnsupportedMediaType(Exception):
    """The request body is not JSON (by its ``Content-Type``)."""


class JsonParser(Parser):
    """Parse request bodies as strict JSON: ``application/json`` only, no NaN/Infinity."""

    def parse_body(self, request: HttpRequest) -> Any:
        content_type = (request.content_type or "").lower()
        if content_type != "application/json" and not content_type.endswith("+json"):
            raise UnsupportedMediaType(content_type)
        return json.loads(request.body, parse_constant=_refuse_constant)


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


class Utf8JsonRenderer(JSONRenderer):
    """JSON with Cyrillic as is (not ``\\u0418``), so answers stay readable and small.

    A string that cannot be UTF-8 (a lone surrogate echoed from the input) falls back to
    ASCII escapes instead of failing.
    """

    def render(self, request: HttpRequest, data: Any, *, response_status: int) -> Any:
        text = json.dumps(data, cls=self.encoder_class, ensure_ascii=False)
        try:
            return text.encode("utf-8")
        except UnicodeEncodeError:
            return json.dumps(data, cls=self.encoder_class).encode("ascii")
