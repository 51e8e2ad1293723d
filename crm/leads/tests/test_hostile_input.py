"""Hostile input on every public intake path: JSON nested far too deep and NUL (or another
C0 control) in a value. Each answers 4xx naming what is wrong, never 500; a real submission
with a stray control character is stored (and becomes a lead), never dropped.

PostgreSQL is where NUL fails (text and jsonb refuse ``\\u0000``): run these on both.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time

import pytest
from django.test import Client

from crm.leads.models import Inbound, Lead
from crm.leads.services.webforms import webform_save

pytestmark = pytest.mark.django_db

DEEP = b"[" * 30_000 + b"]" * 30_000
DEEP_OBJECT = b'{"name": ' + DEEP + b', "phone": "+79123456789"}'
FIELDS = [
    {"name": "name", "label": "Имя", "type": "text", "required": True},
    {"name": "phone", "label": "Телефон", "type": "tel", "required": True},
    {"name": "message", "label": "Сообщение", "type": "textarea"},
    {"name": "city", "label": "Город", "type": "text"},
]


@pytest.fixture
def form(org):
    return webform_save(
        actor=org.admin,
        name="Заявка",
        fields=FIELDS,
        allowed_origins=["https://shop.example.ru"],
        min_fill_seconds=0,
    )


def submit(form, body, *, content_type="application/json", **headers):
    return Client(enforce_csrf_checks=True).post(
        f"/f/{form.key}",
        body,
        content_type=content_type,
        HTTP_ACCEPT="application/json",
        HTTP_ORIGIN="https://shop.example.ru",
        REMOTE_ADDR="203.0.113.9",
        **headers,
    )


# --- the public web form ------------------------------------------------------------------


@pytest.mark.parametrize("body", [DEEP, DEEP_OBJECT], ids=["deep-array", "deep-in-a-field"])
def test_web_form_json_nested_too_deep_answers_400_naming_the_body(form, body):
    response = submit(form, body)

    assert response.status_code == 400
    assert response.json()["errors"] == {"body": [response.json()["errors"]["body"][0]]}
    assert not Inbound.objects.exists()


def test_web_form_a_nested_value_in_a_field_answers_422_naming_it(form):
    body = {"name": {"first": ["Анна"]}, "phone": "+79123456789"}

    response = submit(form, json.dumps(body))

    assert response.status_code == 422
    assert list(response.json()["errors"]) == ["name"]
    assert not Inbound.objects.exists()


def test_web_form_json_with_nul_keeps_the_submission_as_a_lead(
    form, django_capture_on_commit_callbacks
):
    body = {
        "name": "Ан\u0000на\u0007",
        "phone": "+7 912 345-67-89",
        "message": "Привет\u0000\nмир\tвсем\r\n",
        "city": "\u0000",
        "utm_source": "ya\u0000",
    }

    with django_capture_on_commit_callbacks(execute=True):
        response = submit(form, json.dumps(body))

    assert response.status_code == 200, response.content
    inbound = Inbound.objects.get()
    assert inbound.payload["name"] == "Анна"
    assert inbound.payload["message"] == "Привет\nмир\tвсем\r\n"
    assert "\\u0000" in inbound.raw  # what arrived is kept, as sent
    lead = Lead.objects.get()
    assert lead.name == "Анна"
    assert lead.phone == "+79123456789"


def test_web_form_urlencoded_with_nul_keeps_the_submission(
    form, django_capture_on_commit_callbacks
):
    body = "name=%D0%90%D0%BD%00%D0%BD%D0%B0&phone=%2B79123456789&message=a%00b&_ts=" + str(
        int((time.time() - 10) * 1000)
    )

    with django_capture_on_commit_callbacks(execute=True):
        response = submit(form, body, content_type="application/x-www-form-urlencoded")

    assert response.status_code == 200, response.content
    assert Inbound.objects.get().payload["message"] == "ab"
    assert Lead.objects.get().name == "Анна"


def test_web_form_multipart_with_a_raw_nul_byte_keeps_the_submission(
    form, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = Client().post(
            f"/f/{form.key}",
            {"name": "Анна\x00", "phone": "+79123456789", "message": "x\x00y"},
            HTTP_ACCEPT="application/json",
            REMOTE_ADDR="203.0.113.9",
        )

    assert response.status_code == 200, response.content
    assert Inbound.objects.get().payload["name"] == "Анна"
    assert Lead.objects.get().name == "Анна"


def test_web_form_only_control_characters_in_a_required_field_answers_422_naming_it(form):
    response = submit(form, json.dumps({"name": "\u0000\u0001", "phone": "+79123456789"}))

    assert response.status_code == 422
    assert list(response.json()["errors"]) == ["name"]


def test_web_form_nul_in_headers_is_stored_without_it(form):
    response = submit(
        form,
        json.dumps({"name": "Анна", "phone": "+79123456789"}),
        HTTP_USER_AGENT="bot\x00agent",
        HTTP_REFERER="https://shop.example.ru/\x00",
    )

    assert response.status_code == 200, response.content
    assert Inbound.objects.get().meta["user_agent"] == "botagent"


# --- telephony (generic JSON and Zadarma) ------------------------------------------------------

PBX_SECRET = "pbx-secret"
ZADARMA_SECRET = "zadarma-api-secret"


@pytest.fixture
def pbx(settings, org):
    settings.CRM_TELEPHONY_SECRET = PBX_SECRET
    settings.CRM_TELEPHONY_ZADARMA_SECRET = ZADARMA_SECRET


def call(body: bytes):
    signature = "sha256=" + hmac.new(PBX_SECRET.encode(), body, hashlib.sha256).hexdigest()
    return Client().post(
        "/leads/inbound/telephony/",
        body,
        content_type="application/json",
        HTTP_X_CRM_SIGNATURE=signature,
    )


def call_event(**fields):
    return {
        "event": "incoming",
        "call_id": "c-1",
        "from": "8 (912) 345-67-89",
        "to": "+7 495 123-45-67",
        "direction": "in",
        "started_at": "2026-11-23T10:00:00+03:00",
        **fields,
    }


def test_telephony_json_nested_too_deep_answers_400(pbx):
    response = call(DEEP)

    assert response.status_code == 400
    assert "body" in response.json()["errors"]


def test_telephony_nul_in_a_field_answers_422_naming_it(pbx):
    response = call(json.dumps(call_event(call_id="c\u00001")).encode())

    assert response.status_code == 422
    assert list(response.json()["errors"]) == ["call_id"]
    assert not Inbound.objects.exists()


def test_telephony_nul_in_a_field_it_ignores_is_stored(pbx):
    response = call(json.dumps(call_event(note="\u0000")).encode())

    assert response.status_code == 202, response.content
    assert Inbound.objects.get().payload["call_id"] == "c-1"


def zadarma_post(fields: dict[str, str], *, raw: bytes | None = None):
    import base64
    from urllib.parse import urlencode

    signed = fields["caller_id"] + fields["called_did"] + fields["call_start"]
    digest = hmac.new(ZADARMA_SECRET.encode(), signed.encode(), hashlib.sha1).hexdigest()
    signature = base64.b64encode(digest.encode()).decode()
    body = raw if raw is not None else urlencode(fields).encode()
    return Client().post(
        "/leads/inbound/telephony/zadarma/",
        body,
        content_type="application/x-www-form-urlencoded",
        HTTP_SIGNATURE=signature,
    )


ZADARMA_START = {
    "event": "NOTIFY_START",
    "call_start": "2026-11-23 10:00:00",
    "pbx_call_id": "in_1",
    "caller_id": "79123456789",
    "called_did": "74951234567",
}


def test_zadarma_nul_in_a_signed_field_is_stored_without_it(pbx):
    response = zadarma_post({**ZADARMA_START, "caller_id": "7912\x003456789"})

    assert response.status_code == 202, response.content
    assert Inbound.objects.get().payload["from"] == "79123456789"


def test_zadarma_a_raw_nul_byte_in_the_body_is_stored(pbx):
    from urllib.parse import urlencode

    raw = urlencode(ZADARMA_START).encode() + b"&note=a\x00b"

    response = zadarma_post(ZADARMA_START, raw=raw)

    assert response.status_code == 202, response.content
    assert "\x00" not in Inbound.objects.get().raw


def test_zadarma_nul_in_the_disposition_is_stored_without_it(pbx):
    fields = {
        **ZADARMA_START,
        "event": "NOTIFY_END",
        "disposition": "busy\x00",
        "duration": "0",
        "status_code": "1\x007",
    }

    response = zadarma_post(fields)

    assert response.status_code == 202, response.content
    assert "\x00" not in json.dumps(Inbound.objects.get().payload)


# --- inbound e-mail ---------------------------------------------------------------------------

MAIL_SECRET = "mail-hook-secret"


def mail(raw: bytes):
    return Client().post(
        "/leads/inbound/email/",
        raw,
        content_type="message/rfc822",
        HTTP_X_CRM_SECRET=MAIL_SECRET,
    )


def test_inbound_email_with_nul_is_stored(settings):
    settings.CRM_LEADS_INBOUND_EMAIL_SECRET = MAIL_SECRET
    raw = (
        b"From: Anna <anna@example.ru>\r\nTo: sales@example.ru\r\n"
        b"Subject: Hi\x00there\r\nMessage-ID: <n1@example.ru>\r\n\r\nBody\x00text\r\n"
    )

    response = mail(raw)

    assert response.status_code == 202, response.content
    assert "\x00" not in Inbound.objects.get().meta["subject"]


def test_inbound_email_deeply_nested_mime_answers_4xx_or_is_stored(settings):
    settings.CRM_LEADS_INBOUND_EMAIL_SECRET = MAIL_SECRET
    parts = [b"From: a@example.ru\r\nMessage-ID: <deep@example.ru>\r\n"]
    for depth in range(3000):
        parts.append(
            f'Content-Type: multipart/mixed; boundary="b{depth}"\r\n\r\n--b{depth}\r\n'.encode()
        )
    parts.append(b"Content-Type: text/plain\r\n\r\nhi\r\n")

    response = mail(b"".join(parts))

    assert response.status_code in (202, 400), response.content


def test_web_form_a_lone_surrogate_is_stored_replaced(form, django_capture_on_commit_callbacks):
    body = '{"name": "\\u0410\\u043d\\ud800\\u043d\\u0430", "phone": "+79123456789"}'

    with django_capture_on_commit_callbacks(execute=True):
        response = submit(form, body)

    assert response.status_code == 200, response.content
    assert Inbound.objects.get().payload["name"] == "Ан\ufffdна"
    assert Lead.objects.count() == 1


def test_web_form_a_huge_fill_time_mark_is_not_a_server_error(form):
    body = {"name": "Анна", "phone": "+79123456789", "_ts": "9" * 5000}

    response = submit(form, json.dumps(body))

    assert response.status_code == 200, response.content
    assert Inbound.objects.count() == 1
