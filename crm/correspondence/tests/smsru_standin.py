"""A local stand-in for SMS.ru's HTTP API, started by the tests: it speaks the documented
protocol (``crm.correspondence.sms.smsru``) over real HTTP and records what it was asked.

* ``POST /sms/send`` (``api_id``, ``to``, ``msg``, ``from``, ``json=1``): a wrong ``api_id``
  answers status ERROR 200; otherwise ``sms[<to>]`` OK with a fresh ``sms_id`` and its cost,
  or the error ``refuse_numbers`` names. ``fail_next`` answers that many HTTP 500s first;
  ``delay`` makes every answer wait (to provoke a client timeout).
* ``POST /sms/status`` (``sms_id`` comma-separated): each known id's ``status_code``
  (``statuses``, 102 by default), ``status_text`` and ``cost``; an unknown id answers
  ``status`` ERROR with -1, as SMS.ru does.
* ``POST /my/balance``: ``balance``.
* ``callback(url, reports)`` POSTs the callback as SMS.ru does (``data[0]``, ``data[1]``, …,
  each ``sms_status\\n<id>\\n<code>\\n<unix time>``) and answers (status, body).
"""

from __future__ import annotations

import itertools
import json
import threading
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

API_ID = "test-api-id-SECRET"
CALLBACK_TOKEN = "cb-token"
COST = "2.49"


@dataclass
class StandIn:
    url: str = ""
    requests: list[tuple[str, dict[str, list[str]]]] = field(default_factory=list)
    sent: dict[str, dict[str, str]] = field(default_factory=dict)
    statuses: dict[str, int] = field(default_factory=dict)
    refuse_numbers: dict[str, tuple[int, str]] = field(default_factory=dict)
    fail_next: int = 0
    delay: float = 0.0
    balance: str = "4122.56"
    _ids: Any = field(default_factory=lambda: itertools.count(1))

    def paths(self) -> list[str]:
        return [path for path, _form in self.requests]

    def answer(self, path: str, form: dict[str, list[str]]) -> tuple[int, dict[str, Any]]:
        self.requests.append((path, form))
        if self.delay:
            time.sleep(self.delay)
        if self.fail_next > 0:
            self.fail_next -= 1
            return 500, {}
        if form.get("api_id") != [API_ID]:
            return 200, {
                "status": "ERROR",
                "status_code": 200,
                "status_text": "Неправильный api_id",
            }
        if path == "/sms/send":
            to = form["to"][0]
            if to in self.refuse_numbers:
                code, text = self.refuse_numbers[to]
                sms = {"status": "ERROR", "status_code": code, "status_text": text}
            else:
                sms_id = f"000000-{next(self._ids):08d}"
                self.sent[sms_id] = {
                    "to": to,
                    "msg": form["msg"][0],
                    "from": form.get("from", [""])[0],
                }
                sms = {"status": "OK", "status_code": 100, "sms_id": sms_id}
            return 200, {"status": "OK", "status_code": 100, "sms": {to: sms}, "balance": 4122.56}
        if path == "/sms/status":
            found: dict[str, Any] = {}
            for sms_id in form["sms_id"][0].split(","):
                if sms_id in self.sent:
                    code = self.statuses.get(sms_id, 102)
                    found[sms_id] = {
                        "status": "OK",
                        "status_code": code,
                        "cost": float(COST),
                        "status_text": {103: "Сообщение доставлено"}.get(code, "В пути"),
                    }
                else:
                    found[sms_id] = {
                        "status": "ERROR",
                        "status_code": -1,
                        "status_text": "Не найдено",
                    }
            return 200, {"status": "OK", "status_code": 100, "sms": found, "balance": 4122.56}
        if path == "/my/balance":
            return 200, {"status": "OK", "status_code": 100, "balance": float(self.balance)}
        return 404, {}


def callback(url: str, reports: list[tuple[str, int]]) -> tuple[int, str]:
    """POST SMS.ru's callback with one ``sms_status`` block per (id, code) to ``url``."""
    now = int(time.time())
    fields = {
        f"data[{i}]": f"sms_status\n{sms_id}\n{code}\n{now}"
        for i, (sms_id, code) in enumerate(reports)
    }
    request = urllib.request.Request(  # noqa: S310 (the test's own http URL)
        url, data=urllib.parse.urlencode(fields).encode(), method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def configure(settings: Any, state: StandIn) -> None:
    """Point the CRM's SMS settings (pytest-django's ``settings``) at the stand-in."""
    settings.CRM_SMS_PROVIDER = "smsru"
    settings.CRM_SMS_API_ID = API_ID
    settings.CRM_SMS_BASE_URL = state.url
    settings.CRM_SMS_SENDER = "Ventprom"
    settings.CRM_SMS_CALLBACK_TOKEN = CALLBACK_TOKEN


def start() -> tuple[StandIn, ThreadingHTTPServer]:
    state = StandIn()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            form = urllib.parse.parse_qs(self.rfile.read(length).decode(), keep_blank_values=True)
            status, body = state.answer(urllib.parse.urlsplit(self.path).path, form)
            raw = json.dumps(body).encode() if status == 200 else b"error"
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)
            except OSError:
                pass  # the client gave up (a timeout test)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return state, server
