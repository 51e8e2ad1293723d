"""Telephony as a lead channel: the generic JSON webhook (secret, signature, size, bad
fields), unknown callers becoming leads, known callers' calls on their timeline, one
call-back task per missed call, and the Zadarma adapter with payloads shaped as Zadarma's
documentation and official library send them."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
from urllib.parse import urlencode

import pytest
from django.contrib.contenttypes.models import ContentType
from django.test import Client
from django.utils import timezone

from crm.accounts.models import Team
from crm.activities.models import TimelineEntry
from crm.customers.tests.factories import make_company, make_contact
from crm.leads.choices import InboundStatus
from crm.leads.models import Inbound, Lead, RoutingRule
from crm.leads.services import intake, telephony
from crm.planner.models import Task

pytestmark = pytest.mark.django_db

SECRET = "pbx-secret"
ZADARMA_SECRET = "zadarma-api-secret"
URL = "/leads/inbound/telephony/"
ZADARMA_URL = "/leads/inbound/telephony/zadarma/"


@pytest.fixture
def pbx(settings, org):
    settings.CRM_TELEPHONY_SECRET = SECRET
    settings.CRM_TELEPHONY_ZADARMA_SECRET = ZADARMA_SECRET
    RoutingRule.objects.update(team=Team.objects.get(name="Москва"), strategy="round_robin")


def sign(body: bytes, secret: str = SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def send(payload, *, signature: str | None = "auto", secret: str | None = None, raw=None):
    body = raw if raw is not None else json.dumps(payload).encode()
    headers = {}
    if signature == "auto" and secret is None:
        headers["HTTP_X_CRM_SIGNATURE"] = sign(body)
    elif signature not in (None, "auto"):
        headers["HTTP_X_CRM_SIGNATURE"] = signature
    if secret is not None:
        headers["HTTP_X_CRM_SECRET"] = secret
    return Client(enforce_csrf_checks=True).post(
        URL, body, content_type="application/json", **headers
    )


def event(kind: str, call_id: str = "c-1", **fields):
    return {
        "event": kind,
        "call_id": call_id,
        "from": "8 (912) 345-67-89",
        "to": "+7 495 123-45-67",
        "direction": "in",
        "started_at": "2026-11-23T10:00:00+03:00",
        **fields,
    }


def calls(events, capture):
    """Post events in order, running what each stored row triggers on commit."""
    with capture(execute=True):
        return [send(item) for item in events]


def entries(subject, kind="call"):
    return TimelineEntry.objects.filter(
        subject_type=ContentType.objects.get_for_model(subject), subject_id=subject.pk, kind=kind
    )


def tasks(subject):
    return Task.objects.filter(
        subject_type=ContentType.objects.get_for_model(subject), subject_id=subject.pk
    )


# --- the generic webhook ------------------------------------------------------------------------


def test_an_unknown_caller_becomes_one_lead_whatever_events_of_the_call_arrive(
    pbx, django_capture_on_commit_callbacks
):
    answers = calls(
        [
            event("incoming"),
            event("answered", user_extension="101"),
            event("finished", duration=95, recording_url="https://pbx.example.ru/rec/c-1.mp3"),
        ],
        django_capture_on_commit_callbacks,
    )
    assert [answer.status_code for answer in answers] == [202, 202, 202]
    lead = Lead.objects.get()
    assert lead.channel == "phone" and lead.phone == "+79123456789" and lead.owner is not None
    assert lead.thread_key == "call:c-1" and lead.data["call_id"] == "c-1"
    assert set(Inbound.objects.values_list("lead_id", flat=True)) == {lead.pk}
    # The call is on the lead once, when it is over; no "repeated request" per event.
    entry = entries(lead).get()
    assert (entry.direction, entry.duration_seconds) == ("incoming", 95)
    assert entry.data["recording_url"] == "https://pbx.example.ru/rec/c-1.mp3"
    assert entry.occurred_at == dt.datetime(2026, 11, 23, 7, 0, tzinfo=dt.UTC)
    assert not entries(lead, kind="system").exists()
    assert not Task.objects.exists()


def test_a_repeated_event_is_stored_once(pbx, django_capture_on_commit_callbacks):
    first, again = calls([event("incoming"), event("incoming")], django_capture_on_commit_callbacks)
    assert (first.status_code, again.status_code) == (202, 200)
    assert again.json()["inbound_id"] == first.json()["inbound_id"]
    assert Inbound.objects.count() == 1 and Lead.objects.count() == 1


def test_a_missed_call_from_an_unknown_caller_makes_a_lead_and_one_call_back_task(
    pbx, django_capture_on_commit_callbacks
):
    calls(
        [event("incoming"), event("missed"), event("finished", duration=0)],
        django_capture_on_commit_callbacks,
    )
    lead = Lead.objects.get()
    task = tasks(lead).get()
    assert task.owner == lead.owner and task.type.code == "call"
    assert "+7 912 345-67-89" in task.title  # "Call back …" in the owner's language
    assert timezone.now() < task.due_at <= timezone.now() + dt.timedelta(minutes=15)
    assert entries(lead).get().direction == "missed"


def test_a_known_caller_gets_the_call_on_the_timeline_when_it_is_over_and_no_lead(
    pbx, org, django_capture_on_commit_callbacks
):
    contact = make_contact(org.manager, phones=[{"value": "+79123456789"}])
    calls([event("incoming"), event("answered")], django_capture_on_commit_callbacks)
    assert not entries(contact).exists()
    calls(
        [event("finished", duration=42, recording_url="https://pbx.example.ru/r.mp3")],
        django_capture_on_commit_callbacks,
    )
    assert not Lead.objects.exists()
    entry = entries(contact).get()
    assert (entry.direction, entry.duration_seconds, entry.title) == (
        "incoming",
        42,
        "+7 912 345-67-89",
    )
    assert entry.data["recording_url"] == "https://pbx.example.ru/r.mp3"
    assert entry.data["call_id"] == "c-1"
    assert not Task.objects.exists()


def test_a_known_callers_missed_call_is_one_task_for_the_responsible_manager(
    pbx, org, django_capture_on_commit_callbacks
):
    company = make_company(org.colleague, phones=[{"value": "+79123456789"}])
    calls(
        [event("incoming"), event("missed"), event("missed"), event("finished", duration=0)],
        django_capture_on_commit_callbacks,
    )
    assert not Lead.objects.exists()
    task = tasks(company).get()
    assert task.owner == org.colleague and task.origin == "missed-call:c-1"
    assert entries(company).get().direction == "missed"
    # Another missed call is another task.
    calls([event("missed", call_id="c-2")], django_capture_on_commit_callbacks)
    assert tasks(company).count() == 2


def test_an_outgoing_call_to_an_open_lead_counts_as_the_first_response(
    pbx, org, django_capture_on_commit_callbacks
):
    inbound, _created = intake.inbound_store(channel="api", payload={"phone": "+79123456789"})
    lead = intake.inbound_process(inbound.pk)
    assert lead.responded_at is None
    org.manager.phone = "101"
    org.manager.save()
    out = event(
        "finished",
        call_id="out-1",
        direction="out",
        **{"from": "101", "to": "+79123456789"},
        duration=30,
        user_extension="101",
    )
    calls([out], django_capture_on_commit_callbacks)
    lead.refresh_from_db()
    assert lead.responded_at is not None and Lead.objects.count() == 1
    entry = entries(lead).get()
    assert entry.direction == "outgoing" and entry.author == org.manager


def test_a_hidden_number_is_stored_but_makes_nothing(pbx, django_capture_on_commit_callbacks):
    calls([event("missed", **{"from": "anonymous"})], django_capture_on_commit_callbacks)
    inbound = Inbound.objects.get()
    assert inbound.status == InboundStatus.REJECTED and inbound.error == "hidden number"
    assert inbound.meta["applied"] is True
    assert not Lead.objects.exists() and not Task.objects.exists()


def test_secret_header_signature_and_configuration(pbx, settings):
    body = json.dumps(event("incoming")).encode()
    assert send(None, raw=body, signature=None, secret=SECRET).status_code == 202
    assert send(None, raw=body, signature=None, secret="wrong").status_code == 401
    assert send(None, raw=body, signature=None).status_code == 401
    assert send(None, raw=body, signature=sign(body, "other")).status_code == 401
    # A wrong signature is refused even with the right secret header.
    assert send(None, raw=body, signature="sha256=00", secret=SECRET).status_code == 401
    settings.CRM_TELEPHONY_SECRET = ""
    assert send(None, raw=body).status_code == 503
    assert Inbound.objects.count() == 1


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"event": "ringing"}, "event"),
        ({"call_id": ""}, "call_id"),
        ({"call_id": {"id": 1}}, "call_id"),
        ({"from": "12"}, "from"),
        ({"direction": "sideways"}, "direction"),
        ({"direction": "out", "to": "abc"}, "to"),
        ({"duration": -5}, "duration"),
        ({"duration": "1.5"}, "duration"),
        ({"started_at": "yesterday"}, "started_at"),
        ({"recording_url": "javascript:alert(1)"}, "recording_url"),
        ({"user_extension": "x" * 30}, "user_extension"),
    ],
)
def test_bad_fields_are_422_naming_the_field(pbx, change, field):
    response = send(event("finished", **change))
    assert response.status_code == 422 and field in response.json()["errors"]
    assert not Inbound.objects.exists()


def test_malformed_and_oversized_bodies(pbx):
    for raw in (b"{not json", b"[1, 2]", b"\xff\xfe", b"[" * 100000):
        body = raw[: telephony.MAX_BODY_BYTES]
        response = send(None, raw=body)
        assert response.status_code == 400 and "body" in response.json()["errors"]
    big = json.dumps(event("incoming", note="x" * 70000)).encode()
    assert send(None, raw=big).status_code == 413
    assert Client().get(URL).status_code == 405
    assert not Inbound.objects.exists()


def test_a_lost_after_commit_step_is_done_by_the_sweep(pbx, org):
    contact = make_contact(org.manager, phones=[{"value": "+79123456789"}])
    # Stored and processed, but the process died before its after-commit step.
    stored, _created = telephony.call_event_store(
        event=telephony.call_event_clean(event("missed")), raw="{}"
    )
    intake.inbound_process(stored.pk)
    assert not tasks(contact).exists()
    Inbound.objects.filter(pk=stored.pk).update(
        received_at=timezone.now() - dt.timedelta(minutes=5)
    )
    assert telephony.call_event_sweep() == {"applied": 1, "failed": 0}
    assert tasks(contact).count() == 1 and entries(contact).count() == 1
    assert telephony.call_event_sweep() == {}


# --- Zadarma ------------------------------------------------------------------------------------


def zadarma_signature(fields: dict[str, str], names: tuple[str, ...]) -> str:
    """As Zadarma's library computes it: base64 of the hex HMAC-SHA1."""
    text = "".join(fields[name] for name in names)
    digest = hmac.new(ZADARMA_SECRET.encode(), text.encode(), hashlib.sha1).hexdigest()
    return base64.b64encode(digest.encode()).decode()


SIGNED = {
    "NOTIFY_START": ("caller_id", "called_did", "call_start"),
    "NOTIFY_ANSWER": ("caller_id", "destination", "call_start"),
    "NOTIFY_END": ("caller_id", "called_did", "call_start"),
    "NOTIFY_OUT_END": ("internal", "destination", "call_start"),
}


def zadarma(fields: dict[str, str], *, signature: str | None = None):
    if signature is None and fields["event"] in SIGNED:
        signature = zadarma_signature(fields, SIGNED[fields["event"]])
    headers = {"HTTP_SIGNATURE": signature} if signature else {}
    return Client(enforce_csrf_checks=True).post(
        ZADARMA_URL,
        urlencode(fields),
        content_type="application/x-www-form-urlencoded",
        **headers,
    )


START = {
    "event": "NOTIFY_START",
    "call_start": "2026-11-23 10:00:00",
    "pbx_call_id": "in_5f0a6d7c9e1b2a3c4d5e6f708192a3b4",
    "caller_id": "79123456789",
    "called_did": "74951234567",
}
END_MISSED = {
    "event": "NOTIFY_END",
    "call_start": "2026-11-23 10:00:00",
    "pbx_call_id": "in_5f0a6d7c9e1b2a3c4d5e6f708192a3b4",
    "caller_id": "79123456789",
    "called_did": "74951234567",
    "internal": "100",
    "duration": "0",
    "disposition": "no answer",
    "status_code": "19",
    "is_recorded": "0",
    "call_id_with_rec": "",
}


def test_zadarma_checks_its_address_with_zd_echo(pbx):
    answer = Client().get(ZADARMA_URL, {"zd_echo": "a1b2c3d4"})
    assert answer.status_code == 200 and answer.content == b"a1b2c3d4"
    assert Client().get(ZADARMA_URL, {"zd_echo": "<script>"}).status_code == 400


def test_a_zadarma_missed_call_makes_a_lead_and_a_task(pbx, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        assert zadarma(START).status_code == 202
        assert zadarma(END_MISSED).status_code == 202
        assert zadarma(END_MISSED).status_code == 200  # Zadarma retried
    lead = Lead.objects.get()
    assert lead.phone == "+79123456789" and lead.thread_key == f"call:{START['pbx_call_id']}"
    assert tasks(lead).count() == 1
    entry = entries(lead).get()
    assert entry.direction == "missed" and entry.data["disposition"] == "no answer"
    assert entry.data["provider"] == "zadarma"
    assert timezone.localtime(entry.occurred_at).strftime("%Y-%m-%d %H:%M") == "2026-11-23 10:00"


def test_zadarma_answered_and_outgoing_calls_of_a_known_client(
    pbx, org, django_capture_on_commit_callbacks
):
    contact = make_contact(org.manager, phones=[{"value": "+79123456789"}])
    answered = {
        "event": "NOTIFY_ANSWER",
        "caller_id": "79123456789",
        "destination": "100",
        "call_start": "2026-11-23 10:00:00",
        "pbx_call_id": START["pbx_call_id"],
        "internal": "100",
    }
    end = {**END_MISSED, "duration": "125", "disposition": "answered", "status_code": "16",
           "is_recorded": "1", "call_id_with_rec": "1795410000.4412345"}  # fmt: skip
    out_end = {
        "event": "NOTIFY_OUT_END",
        "call_start": "2026-11-23 11:00:00",
        "pbx_call_id": "out_00c1d2e3f4a5b6c7d8e9f0a1b2c3d4e5",
        "caller_id": "74951234567",
        "destination": "79123456789",
        "internal": "100",
        "duration": "60",
        "disposition": "answered",
        "status_code": "16",
        "is_recorded": "0",
        "call_id_with_rec": "",
    }
    with django_capture_on_commit_callbacks(execute=True):
        for fields in (START, answered, end, out_end):
            assert zadarma(fields).status_code == 202
    assert not Lead.objects.exists() and not Task.objects.exists()
    incoming, outgoing = entries(contact).order_by("occurred_at")
    assert (incoming.direction, incoming.duration_seconds) == ("incoming", 125)
    assert incoming.data["recording_id"] == "1795410000.4412345"
    assert incoming.data["user_extension"] == "100"
    assert (outgoing.direction, outgoing.duration_seconds) == ("outgoing", 60)


def test_zadarma_signature_field_names_and_ignored_events(pbx):
    assert zadarma(START, signature="bm90IHRoZSBzaWduYXR1cmU=").status_code == 401
    unsigned = Client().post(
        ZADARMA_URL, urlencode(START), content_type="application/x-www-form-urlencoded"
    )
    assert unsigned.status_code == 401
    bad = {**START, "caller_id": "12"}
    response = zadarma(bad)
    assert response.status_code == 422 and "caller_id" in response.json()["errors"]
    no_id = zadarma({**START, "pbx_call_id": ""})
    assert no_id.status_code == 422 and "pbx_call_id" in no_id.json()["errors"]
    internal = {"event": "NOTIFY_INTERNAL", "call_start": "2026-11-23 10:00:00",
                "pbx_call_id": "in_1", "caller_id": "79123456789", "called_did": "74951234567",
                "internal": "101"}  # fmt: skip
    assert zadarma(internal).json() == {"ok": True, "ignored": True}
    assert not Inbound.objects.exists()
