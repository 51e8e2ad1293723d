"""``Idempotency-Key`` on every POST of the API: a retried request gets the first answer.

A client that lost the answer to a POST (a timeout, a dropped connection, a killed server)
sends it again with the same key and gets what the first one answered, without the work
being done twice:

* same user, same key, same request (method, path, query and body): the stored answer —
  status and body — with ``Idempotent-Replayed: true``;
* same key with another request: 409 naming the header;
* a key malformed (not 1–255 printable ASCII characters): 400 naming the header;
* the first request with the key still running: the second waits for it (on the key's
  unique row) and then answers as above; if the first failed, the second does the work.

The key's row is inserted at the start of the request's transaction and filled with the
answer at its end, in the same transaction as the work: a committed write always has its
answer stored, and a rolled-back one (an answer of 500) leaves no trace. Every answer but
5xx and 429 is stored (a 422 stays a 422 for the same body). Keys expire after
``CRM_API_IDEMPOTENCY_HOURS`` (24 by default); ``idempotency_prune`` deletes them, from
the scheduler's periodic sweep.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import re
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja.operation import Operation

from crm.accounts.models import User
from crm.api.errors import error_body
from crm.api.models import IdempotentRequest

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
MAX_KEY_LENGTH = 255
# Printable ASCII, no space at either end (a proxy would strip it).
KEY_PATTERN = r"^[!-~]([ -~]{0,253}[!-~])?$"
_KEY = re.compile(KEY_PATTERN)
# Statuses that say "try again later" rather than answer the request: never stored.
_NOT_STORED = {429}

Respond = Callable[[], HttpResponseBase]


def idempotency_key_problem(key: str) -> str | None:
    """Why ``key`` cannot be an idempotency key, or None when it can."""
    if not _KEY.match(key):
        return _("1 to 255 printable ASCII characters, no space at either end.")
    return None


def request_fingerprint(request: HttpRequest) -> str:
    """What makes two requests "the same": method, path with query, body (SHA-256)."""
    digest = hashlib.sha256()
    for part in (request.method or "", request.get_full_path()):
        digest.update(part.encode("utf-8", "replace") + b"\n")
    digest.update(request.body)
    return digest.hexdigest()


def _expired_before() -> dt.datetime:
    return timezone.now() - dt.timedelta(hours=settings.CRM_API_IDEMPOTENCY_HOURS)


def _claim(
    *, user: User, key: str, fingerprint: str, request: HttpRequest
) -> tuple[IdempotentRequest | None, IdempotentRequest | None]:
    """Insert the key's row (``(row, None)``), or find the committed one of an earlier
    request (``(None, row)``). The insert waits while another transaction holds the key."""
    for _attempt in range(3):
        try:
            with transaction.atomic():
                row = IdempotentRequest.objects.create(
                    user=user,
                    key=key,
                    fingerprint=fingerprint,
                    method=(request.method or "")[:10],
                    path=request.path[:2000],
                    status_code=0,
                    content_type="",
                    body=b"",
                )
            return row, None
        except IntegrityError:
            existing = IdempotentRequest.objects.filter(user=user, key=key).first()
            if existing is None:  # pruned in between: claim again
                continue
            if existing.created_at < _expired_before():
                IdempotentRequest.objects.filter(pk=existing.pk).delete()
                continue
            return None, existing
    raise RuntimeError("could not claim the idempotency key")  # pragma: no cover


def _replay(row: IdempotentRequest) -> HttpResponse:
    response = HttpResponse(bytes(row.body), status=row.status_code, content_type=row.content_type)
    response[REPLAYED_HEADER] = "true"
    return response


def idempotent_answer(
    *, user: User, key: str, request: HttpRequest, respond: Respond, reused: Callable[[], Any]
) -> HttpResponseBase:
    """Answer ``request`` once per ``(user, key)``: run ``respond`` and store its answer in
    the same transaction, or give back the stored one; ``reused()`` makes the answer for
    a key reused with another request."""
    fingerprint = request_fingerprint(request)
    with transaction.atomic():
        row, earlier = _claim(user=user, key=key, fingerprint=fingerprint, request=request)
        if earlier is not None:
            return _replay(earlier) if earlier.fingerprint == fingerprint else reused()
        assert row is not None
        response = respond()
        status = response.status_code
        if status >= 500 or status in _NOT_STORED:
            # Nothing is kept: the work (if any) and the key roll back, a retry does it again.
            transaction.set_rollback(True)
            return response
        if not isinstance(response, HttpResponse):  # a stream cannot be stored: keep the work
            row.delete()
            return response
        row.status_code = status
        row.content_type = response.get("Content-Type", "application/json")[:100]
        row.body = response.content
        row.save(update_fields=["status_code", "content_type", "body"])
    return response


def idempotency_prune() -> int:
    """Delete stored answers older than ``CRM_API_IDEMPOTENCY_HOURS``; returns how many."""
    deleted, _by_model = IdempotentRequest.objects.filter(created_at__lt=_expired_before()).delete()
    return deleted


def idempotent(run: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
    """Ninja "view" decorator (``api.add_decorator(idempotent, mode="view")``): honours the
    ``Idempotency-Key`` header of a POST. The caller is authenticated first (a key belongs
    to a user); ninja authenticates again when the operation runs, which is cheap."""
    bound_to = getattr(run, "__self__", None)
    operation = bound_to if isinstance(bound_to, Operation) else None

    @functools.wraps(run)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        key = request.headers.get(HEADER)
        if request.method != "POST" or key is None or operation is None:
            return run(request, *args, **kwargs)
        api = operation.api
        problem = idempotency_key_problem(key)
        if problem:
            body = error_body(_("The Idempotency-Key header is malformed."), {HEADER: [problem]})
            return api.create_response(request, body, status=400)
        if operation.auth_callbacks:
            refused = operation._run_authentication(request)
            if refused is not None:
                return refused
        try:
            request.body  # noqa: B018 (read it now: a body too large is answered by ninja)
        except RequestDataTooBig:
            return run(request, *args, **kwargs)
        user = getattr(request, "auth", None)
        if not isinstance(user, User) or user.pk is None:
            return run(request, *args, **kwargs)

        def reused() -> HttpResponseBase:
            body = error_body(
                _("This Idempotency-Key was already used for another request."),
                {HEADER: [_("Use a new key for a new request.")]},
            )
            return api.create_response(request, body, status=409)

        return idempotent_answer(
            user=user,
            key=key,
            request=request,
            respond=lambda: run(request, *args, **kwargs),
            reused=reused,
        )

    return wrapper
