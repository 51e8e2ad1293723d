"""Domain errors raised by services and turned into 4xx answers by the views and the API."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """A refused operation. ``field_errors`` maps a field name to its messages."""

    status_code = 400

    def __init__(self, message: str = "", *, field_errors: dict[str, list[str]] | None = None):
        self.message = str(message)
        self.field_errors = {k: [str(m) for m in v] for k, v in (field_errors or {}).items()}
        super().__init__(
            self.message
            or "; ".join(f"{field}: {', '.join(msgs)}" for field, msgs in self.field_errors.items())
        )

    def as_dict(self) -> dict[str, Any]:
        return {"detail": self.message or str(self), "errors": self.field_errors}


class ValidationFailed(DomainError):
    """Input that breaks a rule; every message is tied to a field."""

    status_code = 422


class PermissionDenied(DomainError):
    """The actor may see the record but not do this to it."""

    status_code = 403


class NotFound(DomainError):
    """The record does not exist or the actor may not see it (the two look the same)."""

    status_code = 404


class Conflict(DomainError):
    """The write would break uniqueness, e.g. an exact duplicate of an existing client."""

    status_code = 409

    def __init__(
        self,
        message: str = "",
        *,
        field_errors: dict[str, list[str]] | None = None,
        payload: dict[str, Any] | None = None,
    ):
        super().__init__(message, field_errors=field_errors)
        self.payload = payload or {}

    def as_dict(self) -> dict[str, Any]:
        return {**super().as_dict(), **self.payload}
