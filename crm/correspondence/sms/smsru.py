"""SMS.ru's HTTP API (https://sms.ru/api), the parts the CRM uses.

* Send: POST ``/sms/send`` with ``api_id``, ``to`` (digits of the number), ``msg``, ``from``
  (when a sender is set) and ``json=1``. The answer's ``status`` is ``OK`` or ``ERROR`` with a
  ``status_code``; per number, ``sms[<to>]`` holds ``status``, ``status_code`` and ``sms_id``
  (or ``status_text`` for an error). Per-message ``cost`` when given.
* Status: POST ``/sms/status`` with ``api_id``, ``sms_id`` (comma-separated) and ``json=1``;
  ``sms[<id>]`` holds ``status_code`` (the codes below), ``status_text`` and ``cost``.
* Balance: POST ``/my/balance`` with ``api_id`` and ``json=1``; the answer's ``balance``.
* Callback: SMS.ru POSTs form fields ``data[0]``, ``data[1]``, … each a block of lines
  ``sms_status``, the id, the status code and a unix time; other kinds of block (incoming
  messages, its test call) are skipped. It expects the body ``100`` in answer, else it
  repeats the call.

Codes of a message: 100 queued at SMS.ru, 101 passing to the operator, 102 sent (on its
way), 103 delivered, 110 read (messengers) — the rest of 104–108 and 150 are final
failures (lifetime expired, deleted by the operator, phone failure, unknown reason,
rejected, no route). Request codes: 220 (service temporarily unavailable) and 500 are
"try later"; every other error code is a refusal.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from crm.correspondence.sms.gateway import (
    Accepted,
    GatewayRefused,
    GatewayUnavailable,
    StatusReport,
)

TIMEOUT_SECONDS = 15
SENT_CODES = {"100", "101", "102"}
DELIVERED_CODES = {"103", "110"}
FAILED_CODES = {"104", "105", "106", "107", "108", "150"}
RETRY_CODES = {"220", "500"}
STATUS_BATCH = 100  # ids per status request


def _decimal(value: Any) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        return Decimal(str(value)).quantize(Decimal("0.01"))
    except (InvalidOperation, ValueError):
        return None


def _state(code: str) -> str | None:
    if code in SENT_CODES:
        return "sent"
    if code in DELIVERED_CODES:
        return "delivered"
    if code in FAILED_CODES:
        return "failed"
    return None


class SmsRu:
    """The SMS.ru adapter (see the module). ``base_url`` points elsewhere in tests."""

    name = "smsru"
    callback_answer = "100"

    def __init__(self, *, api_id: str, base_url: str = "https://sms.ru") -> None:
        if not base_url.startswith(("https://", "http://")):
            raise ValueError("The SMS.ru address must be an http(s) URL.")
        self._api_id = api_id
        self._base_url = base_url.rstrip("/")

    def __repr__(self) -> str:  # never the key
        return f"SmsRu(base_url={self._base_url!r})"

    def _call(self, path: str, fields: dict[str, str]) -> dict[str, Any]:
        """POST the form to ``path`` and answer the JSON; a transport failure, a 5xx or a
        "try later" code raises ``GatewayUnavailable``, another error ``GatewayRefused``."""
        body = urllib.parse.urlencode({"api_id": self._api_id, **fields, "json": "1"}).encode()
        request = urllib.request.Request(  # noqa: S310 (an http(s) URL: checked in __init__)
            self._base_url + path,
            data=body,
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:  # noqa: S310
                raw = response.read(1_000_000)
        except urllib.error.HTTPError as error:
            if error.code >= 500 or error.code == 429:
                raise GatewayUnavailable(f"SMS.ru answered HTTP {error.code}") from None
            raise GatewayRefused(f"SMS.ru answered HTTP {error.code}") from None
        except (urllib.error.URLError, TimeoutError, OSError) as error:
            reason = getattr(error, "reason", error)
            raise GatewayUnavailable(f"SMS.ru unreachable: {reason}") from None
        try:
            data = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            raise GatewayUnavailable("SMS.ru answered something that is not JSON") from None
        if not isinstance(data, dict):
            raise GatewayUnavailable("SMS.ru answered something that is not JSON") from None
        if data.get("status") != "OK":
            code = str(data.get("status_code", ""))
            reason = f"SMS.ru {code}: {data.get('status_text') or 'error'}"
            if code in RETRY_CODES:
                raise GatewayUnavailable(reason)
            raise GatewayRefused(reason)
        return data

    def send(self, *, phone: str, text: str, sender: str) -> Accepted:
        to = phone.lstrip("+")
        fields = {"to": to, "msg": text}
        if sender:
            fields["from"] = sender
        data = self._call("/sms/send", fields)
        sms = (data.get("sms") or {}).get(to)
        if not isinstance(sms, dict):
            raise GatewayUnavailable("SMS.ru did not answer for the number")
        code = str(sms.get("status_code", ""))
        if sms.get("status") != "OK" or not sms.get("sms_id"):
            reason = f"SMS.ru {code}: {sms.get('status_text') or 'error'}"
            if code in RETRY_CODES:
                raise GatewayUnavailable(reason)
            raise GatewayRefused(reason)
        return Accepted(provider_id=str(sms["sms_id"])[:64], cost=_decimal(sms.get("cost")))

    def statuses(self, provider_ids: list[str]) -> list[StatusReport]:
        reports: list[StatusReport] = []
        for start in range(0, len(provider_ids), STATUS_BATCH):
            batch = provider_ids[start : start + STATUS_BATCH]
            data = self._call("/sms/status", {"sms_id": ",".join(batch)})
            found = data.get("sms") or {}
            for provider_id in batch:
                item = found.get(provider_id)
                if not isinstance(item, dict) or item.get("status") != "OK":
                    continue
                code = str(item.get("status_code", ""))
                state = _state(code)
                if state is not None:
                    reports.append(
                        StatusReport(
                            provider_id=provider_id,
                            state=state,
                            code=code,
                            text=str(item.get("status_text") or "")[:200],
                            cost=_decimal(item.get("cost")),
                        )
                    )
        return reports

    def parse_callback(self, form: Mapping[str, list[str]]) -> list[StatusReport]:
        reports: list[StatusReport] = []
        for key, values in form.items():
            if not key.startswith("data["):
                continue
            for block in values:
                lines = [line.strip() for line in block.replace("\r", "").split("\n")]
                if len(lines) < 3 or lines[0] != "sms_status" or not lines[1]:
                    continue
                state = _state(lines[2])
                if state is None:
                    continue
                at = None
                if len(lines) > 3 and lines[3].isdigit():
                    try:
                        at = datetime.fromtimestamp(int(lines[3]), tz=UTC)
                    except (OverflowError, ValueError, OSError):
                        at = None
                reports.append(
                    StatusReport(provider_id=lines[1][:64], state=state, code=lines[2], at=at)
                )
        return reports

    def balance(self) -> Decimal | None:
        return _decimal(self._call("/my/balance", {}).get("balance"))
