"""Every error the API returns has one shape: ``{"detail": "...", "errors": {field: [...]}}``.

Domain errors answer with their own status (``ValidationFailed`` 422, ``PermissionDenied``
403, ``NotFound`` 404, ``Conflict`` 409 with its payload, e.g. the duplicates); schema errors
answer 422 naming the field the way the services do (``phones[1].value``); a body that is
not JSON answers 400, one of another media type 415, one too big 413. Bad input never
reaches a 500.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext as _
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError

from crm.api.transport import UnsupportedMediaType
from crm.core.errors import DomainError, ValidationFailed

PARAM_SOURCES = {"body", "query", "path", "header", "cookie", "form", "file"}
# Every operation names its body parameter ``payload``; clients never see that name.
BODY_PARAM = "payload"


def error_body(detail: str, errors: dict[str, list[str]] | None = None) -> dict[str, Any]:
    return {"detail": str(detail), "errors": errors or {}}


def _is_union_tag(part: Any, previous: Any) -> bool:
    """Whether a loc part names a member of a union type (``constrained-str``, ``int`` …)
    rather than a field. The part after ``custom`` is a custom field key, never a tag."""
    if not isinstance(part, str) or previous == "custom":
        return False
    return part in UNION_TAGS or part.startswith(("constrained-", "function-")) or "[" in part


UNION_TAGS = {"str", "int", "float", "bool", "none", "list", "dict", "date", "datetime"}


def field_name(loc: tuple[Any, ...] | list[Any]) -> tuple[str, bool]:
    """``("body", "payload", "phones", 1, "value")`` → ``"phones[1].value"``.

    Returns the name and whether a union member was dropped from the path (the value
    matched none of the accepted types).
    """
    parts = list(loc)
    source = parts.pop(0) if parts and parts[0] in PARAM_SOURCES else ""
    if source == "body" and parts and parts[0] == BODY_PARAM:
        parts.pop(0)
    name = ""
    previous: Any = None
    for index, part in enumerate(parts):
        if _is_union_tag(part, previous):
            return name or source or "body", True
        previous = part
        if isinstance(part, int) and index:
            name += f"[{part}]"
        else:
            name += f".{part}" if name else str(part)
    return name or source or "body", False


# Pydantic's error types whose English message is replaced by one in the user's language.
TYPE_MESSAGES = {
    "int_type": "whole",
    "int_parsing": "whole",
    "int_from_float": "whole",
    "bool_type": "yes_no",
    "bool_parsing": "yes_no",
    "string_type": "text",
    "date_type": "date",
    "date_parsing": "date",
    "date_from_datetime_parsing": "date",
    "date_from_datetime_inexact": "date",
    "datetime_type": "date",
    "datetime_parsing": "date",
    "datetime_from_date_parsing": "date",
    "list_type": "list",
    "dict_type": "object",
    "model_type": "object",
    "model_attributes_type": "object",
}


def _type_message(kind: str) -> str:
    messages = {
        "whole": _("Expected a whole number."),
        "yes_no": _("Expected true or false."),
        "text": _("Expected text."),
        "date": _("Expected a date as ISO 8601 text (YYYY-MM-DD)."),
        "list": _("Expected a list."),
        "object": _("Expected an object."),
    }
    return messages[kind]


def _schema_message(error: dict[str, Any], in_union: bool) -> str:
    if in_union:
        return _("Unexpected type of value.")
    kind = error.get("type")
    if kind == "missing":
        return _("This field is required.")
    if kind == "extra_forbidden":
        return _("Unknown field.")
    if kind in TYPE_MESSAGES:
        return _type_message(TYPE_MESSAGES[kind])
    if kind == "value_error" and (error.get("ctx") or {}).get("error"):
        # Our validators raise ValueError with a message already in the user's language.
        return str(error["ctx"]["error"])
    return str(error.get("msg", _("Invalid value.")))


def install_error_handlers(api: NinjaAPI) -> None:
    """Replace ninja's default handlers with ones that answer in the one error shape."""

    def respond(
        request: HttpRequest, body: dict[str, Any], status: int, **headers: str
    ) -> HttpResponse:
        response = api.create_response(request, body, status=status)
        for name, value in headers.items():
            response[name] = value
        return response

    @api.exception_handler(DomainError)
    def domain_error(request: HttpRequest, exc: DomainError) -> HttpResponse:
        body = exc.as_dict()
        if isinstance(exc, ValidationFailed) and not exc.message:
            body["detail"] = _("Please correct the marked fields.")
        return respond(request, body, exc.status_code)

    @api.exception_handler(ValidationError)
    def schema_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
        errors: dict[str, list[str]] = {}
        for error in exc.errors:
            name, in_union = field_name(error.get("loc", ()))
            message = _schema_message(error, in_union)
            if message not in errors.setdefault(name, []):
                errors[name].append(message)
        return respond(request, error_body(_("Please correct the marked fields."), errors), 422)

    @api.exception_handler(AuthenticationError)
    def unauthenticated(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
        return respond(
            request,
            error_body(_("Sign in or send a personal API token (Authorization: Bearer …).")),
            401,
            **{"WWW-Authenticate": 'Bearer realm="crm"'},
        )

    @api.exception_handler(HttpError)
    def http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
        cause = exc.__cause__
        if isinstance(cause, UnsupportedMediaType):
            return respond(
                request,
                error_body(
                    _("Send the body as JSON (Content-Type: application/json)."),
                    {"body": [_("Unsupported media type.")]},
                ),
                415,
            )
        if isinstance(cause, ValueError | RecursionError | UnicodeDecodeError):
            return respond(
                request,
                error_body(_("The body is not valid JSON."), {"body": [_("Malformed JSON.")]}),
                400,
            )
        return respond(request, error_body(exc.message), exc.status_code)

    @api.exception_handler(Http404)
    def not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
        return respond(request, error_body(str(exc) or _("Not found.")), 404)

    @api.exception_handler(DjangoPermissionDenied)
    def forbidden(request: HttpRequest, exc: DjangoPermissionDenied) -> HttpResponse:
        return respond(request, error_body(str(exc) or _("Forbidden.")), 403)

    @api.exception_handler(RequestDataTooBig)
    def too_big(request: HttpRequest, exc: RequestDataTooBig) -> HttpResponse:
        return respond(
            request,
            error_body(_("The request body is too large."), {"body": [_("Too large.")]}),
            413,
        )


def api_not_found(request: HttpRequest, path: str = "") -> JsonResponse:
    """Unknown paths under /api/v1 answer JSON like every other API error, not an HTML page."""
    return JsonResponse(error_body(str(_("No such API endpoint."))), status=404)
