"""Outgoing webhooks: writing them (``webhook_enqueue``), signing, and POSTing each until a
2xx answer, with back-off (``webhook_delivery_send``)."""

from __future__ import annotations

import hashlib
import hmac
import http.client
import ipaddress
import json
import logging
import socket
import ssl
import time
import urllib.error
import urllib.request
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import URLValidator
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from crm.core.errors import ValidationFailed
from crm.notifications.models import WebhookDelivery
from crm.notifications.services.queue import enqueue_webhooks

logger = logging.getLogger("crm.notifications")

URL_MAX = 500
WEBHOOK_MAX_ATTEMPTS = 8
WEBHOOK_LEASE = timedelta(minutes=2)
WEBHOOK_TIMEOUT_SECONDS = 10
PRIVATE_ADDRESS = gettext_lazy("Webhooks may not go to this machine or a private network address.")


def webhook_enqueue(*, url: str, event: str, payload: Any, secret: str) -> WebhookDelivery:
    """Write an outgoing webhook; after commit, POST it (see ``webhook_delivery_send``).

    ``payload`` is sent as JSON. Raises ``ValidationFailed`` for a URL that is not http(s),
    an empty event or one that is not printable ASCII (it travels in a header), or values
    longer than their columns.
    """
    errors: dict[str, list[str]] = {}
    if problem := webhook_url_problem(url):
        errors["url"] = [problem]
    if not (0 < len(event) <= 100 and event.isascii() and event.isprintable()):
        errors["event"] = [_("Name the event in at most 100 Latin characters.")]
    if len(secret) > 200:
        errors["secret"] = [_("At most 200 characters.")]
    if errors:
        raise ValidationFailed(field_errors=errors)
    delivery = WebhookDelivery.objects.create(url=url, event=event, payload=payload, secret=secret)
    transaction.on_commit(lambda: enqueue_webhooks([delivery.pk]), robust=True)
    return delivery


def webhook_url_problem(url: str) -> str:
    """Why ``url`` cannot take webhooks ("" when it can): not an http(s) address of at most
    500 characters, or one ``webhook_address_allowed`` refuses. The stage actions check their
    URL with it when saved, so a saved webhook is never refused when it is sent."""
    try:
        if len(url) > URL_MAX:
            raise DjangoValidationError("too long")
        URLValidator(schemes=["http", "https"])(url)
    except DjangoValidationError:
        return _("Enter an http(s) address of at most 500 characters.")
    if not webhook_address_allowed(urlsplit(url).hostname or ""):
        return str(PRIVATE_ADDRESS)
    return ""


def webhook_signature(*, secret: str, timestamp: str, body: bytes) -> str:
    """``sha256=<hex>``: the HMAC-SHA256, keyed with ``secret``, of ``<timestamp>.<body>``.

    A receiver recomputes it from the ``X-CRM-Timestamp`` header and the raw body, compares
    with ``hmac.compare_digest`` and refuses old timestamps, which stops replays.
    """
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return f"sha256={digest.hexdigest()}"


def webhook_retry_delay(attempts: int) -> timedelta:
    """Wait after the ``attempts``-th failure: 30 s, doubled each time (to 32 min)."""
    return timedelta(seconds=30 * 2 ** (attempts - 1))


def webhook_address_allowed(host: str) -> bool:
    """Whether a webhook may go to ``host`` (a name or an IP address): with
    ``CRM_WEBHOOK_ALLOW_PRIVATE`` off, an address must be public (not loopback, private,
    link-local such as the cloud metadata service, or reserved). A name passes here; the
    address it resolves to is checked when connecting (``_guarded_create_connection``)."""
    if settings.CRM_WEBHOOK_ALLOW_PRIVATE:
        return True
    name = host.strip("[]").lower()
    if name == "localhost" or name.endswith(".localhost"):
        return False
    try:
        address = ipaddress.ip_address(name)
    except ValueError:
        return True
    return _public(address)


def _public(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_global and not address.is_multicast


def _guarded_create_connection(
    address: tuple[str, int], *args: Any, **kwargs: Any
) -> socket.socket:
    """``socket.create_connection`` that refuses a peer ``webhook_address_allowed`` would
    refuse: the check is on the address actually connected to, so a name that resolves (or
    is re-pointed) to an internal address is caught too."""
    sock = socket.create_connection(address, *args, **kwargs)
    peer = sock.getpeername()[0]
    if not settings.CRM_WEBHOOK_ALLOW_PRIVATE and not _public(ipaddress.ip_address(peer)):
        sock.close()
        raise ConnectionRefusedError(
            f"{peer} is not a public address (CRM_WEBHOOK_ALLOW_PRIVATE is off)"
        )
    return sock


class _GuardedHTTPConnection(http.client.HTTPConnection):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._create_connection = _guarded_create_connection


class _GuardedHTTPSConnection(http.client.HTTPSConnection):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._create_connection = _guarded_create_connection


class _GuardedHTTPHandler(urllib.request.HTTPHandler):
    def http_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        return self.do_open(_GuardedHTTPConnection, req)


class _GuardedHTTPSHandler(urllib.request.HTTPSHandler):
    def https_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        return self.do_open(_GuardedHTTPSConnection, req, context=ssl.create_default_context())


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A redirect is an answer that is not 2xx: the receiver fixes its URL, we never follow."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


# No proxy from the environment: the guard must see the receiver's address, not a proxy's.
_opener = urllib.request.build_opener(
    urllib.request.ProxyHandler({}), _GuardedHTTPHandler, _GuardedHTTPSHandler, _NoRedirects
)


def _post(url: str, body: bytes, headers: dict[str, str]) -> tuple[int | None, str]:
    """POST and return the status code (None if no answer came) and an error message."""
    if not url.lower().startswith(("http://", "https://")):
        return None, "Not an http(s) URL."
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")  # noqa: S310
    try:
        with _opener.open(request, timeout=WEBHOOK_TIMEOUT_SECONDS) as response:
            return int(response.status), ""
    except urllib.error.HTTPError as error:
        error.close()
        return error.code, f"HTTP {error.code}"
    except (OSError, ValueError) as error:  # refused, timed out, DNS, TLS, a malformed URL
        return None, f"{type(error).__name__}: {error}"[:500]


def webhook_delivery_send(*, delivery_id: int) -> str:
    """POST one webhook unless it is sent, failed, being sent or not due yet.

    Claims the row like ``notification_email_send`` (one conditional UPDATE counting the
    attempt and moving ``next_attempt_at`` a lease ahead), then POSTs the JSON payload with
    ``X-CRM-Event``, ``X-CRM-Delivery`` (the id), ``X-CRM-Timestamp`` and
    ``X-CRM-Signature`` (``webhook_signature``), 10 s timeout, redirects not followed. A 2xx
    answer marks it sent and it is never sent again; anything else is retried with
    exponential back-off (``webhook_retry_delay``) until ``WEBHOOK_MAX_ATTEMPTS``, then the
    delivery is failed, with the last status and error kept.

    Returns "sent", "retry", "failed" or "skipped".
    """
    now = timezone.now()
    claimed = WebhookDelivery.objects.filter(
        pk=delivery_id,
        status=WebhookDelivery.Status.PENDING,
        attempts__lt=WEBHOOK_MAX_ATTEMPTS,
        next_attempt_at__lte=now,
    ).update(attempts=F("attempts") + 1, next_attempt_at=now + WEBHOOK_LEASE)
    if not claimed:
        return "skipped"
    delivery = WebhookDelivery.objects.get(pk=delivery_id)
    rows = WebhookDelivery.objects.filter(pk=delivery_id)
    body = json.dumps(delivery.payload, ensure_ascii=False, separators=(",", ":")).encode()
    timestamp = str(int(time.time()))
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        "User-Agent": "CRM-Webhooks/1",
        "X-CRM-Event": delivery.event,
        "X-CRM-Delivery": str(delivery.pk),
        "X-CRM-Timestamp": timestamp,
        "X-CRM-Signature": webhook_signature(
            secret=delivery.secret, timestamp=timestamp, body=body
        ),
    }
    status_code, error = _post(delivery.url, body, headers)
    if status_code is not None and 200 <= status_code < 300:
        rows.update(
            status=WebhookDelivery.Status.SENT,
            sent_at=timezone.now(),
            last_status_code=status_code,
            last_error="",
        )
        return "sent"
    error = error or f"HTTP {status_code}"
    if delivery.attempts >= WEBHOOK_MAX_ATTEMPTS:
        rows.update(
            status=WebhookDelivery.Status.FAILED, last_status_code=status_code, last_error=error
        )
        logger.error(
            "webhook_gave_up id=%s event=%s url=%s attempts=%s error=%s",
            delivery.pk,
            delivery.event,
            delivery.url,
            delivery.attempts,
            error,
        )
        return "failed"
    retry_at = timezone.now() + webhook_retry_delay(delivery.attempts)
    rows.update(last_status_code=status_code, last_error=error, next_attempt_at=retry_at)
    logger.warning(
        "webhook_retry id=%s event=%s attempts=%s at=%s error=%s",
        delivery.pk,
        delivery.event,
        delivery.attempts,
        retry_at.isoformat(),
        error,
    )
    enqueue_webhooks([delivery.pk], run_after=retry_at)
    return "retry"
