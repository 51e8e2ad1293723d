"""SMS from a record: checking, queueing, the send job against the SMS.ru stand-in (retries,
refusals, the claim), the sweep, the delivery callback and the polling, the timeline, the
compose page and the API with the e-mail's permissions."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from conftest import client_for
from crm.api.tests.conftest import ApiClient, token_for
from crm.core.errors import NotFound, PermissionDenied, ValidationFailed
from crm.core.tests.baselines import one_then_fifty
from crm.correspondence.choices import SmsStatus
from crm.correspondence.models import SmsMessage
from crm.correspondence.services import sms as sms_services
from crm.correspondence.services.sms import (
    MAX_ATTEMPTS,
    SmsItem,
    SmsNotConfigured,
    sms_deliver,
    sms_poll,
    sms_send,
    sms_send_many,
    sms_sweep,
)
from crm.correspondence.sms import smsru as smsru_module
from crm.correspondence.tests.builders import deal_with_client, entries_of, template
from crm.correspondence.tests.smsru_standin import callback
from crm.customers.tests.factories import make_contact

pytestmark = pytest.mark.django_db

PHONE = "+79123456789"


@pytest.fixture
def deal(org):
    """A deal of ``org.manager`` for Анна Смирнова (phone +7 912 345-67-89)."""
    return deal_with_client(org.manager, phone="8 912 345-67-89")


def send(org, deal, *, kind="deal", record_id=None, **fields):
    fields.setdefault("phone", PHONE)
    fields.setdefault("text", "Здравствуйте, {{ client.first_name }}! Счёт отправлен.")
    return sms_send(
        actor=fields.pop("actor", org.manager),
        kind=kind,
        record_id=record_id or deal.pk,  # type: ignore[union-attr]
        **fields,
    )


def deliveries(message: SmsMessage) -> list[str]:
    from crm.activities.models import TimelineEntry

    return [
        entry.data["delivery"]
        for entry in TimelineEntry.objects.filter(pk__in=message.entry_ids).order_by("pk")
    ]


# --- sending --------------------------------------------------------------------------------


def test_sent_from_a_deal_through_the_gateway(org, deal, smsru, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        message = send(org, deal)
    message.refresh_from_db()
    assert message.status == SmsStatus.SENT and message.attempts == 1
    assert message.text == "Здравствуйте, Анна! Счёт отправлен." and message.parts == 1
    assert message.provider == "smsru" and message.provider_id == "000000-00000001"
    assert message.contact_id == deal.contact_id and message.sender == "Ventprom"
    [(path, form)] = smsru.requests
    assert path == "/sms/send" and form["to"] == ["79123456789"]
    assert form["msg"] == ["Здравствуйте, Анна! Счёт отправлен."]
    # On the deal's timeline and its client's, with the delivery state.
    [on_deal] = entries_of(deal).filter(kind="sms")
    [on_contact] = entries_of(deal.contact).filter(kind="sms")
    assert on_deal.body == message.text and on_deal.data["to"] == PHONE
    assert sorted(message.entry_ids) == sorted([on_deal.pk, on_contact.pk])
    assert deliveries(message) == ["sent", "sent"]


def test_from_a_contact_company_and_lead(org, deal, smsru, django_capture_on_commit_callbacks):
    from crm.leads.models import Lead

    contact = deal.contact
    with django_capture_on_commit_callbacks(execute=True):
        send(org, deal, kind="contact", record_id=contact.pk)
    assert entries_of(contact).filter(kind="sms").count() == 1
    lead = Lead.objects.create(
        title="Нужна вентиляция",
        channel="phone",
        name="Пётр",
        phone="+74951234567",
        owner=org.manager,
    )
    with django_capture_on_commit_callbacks(execute=True):
        message = send(
            org, deal, kind="lead", record_id=lead.pk, phone="+74951234567", text="Перезвоним"
        )
    assert message.record_kind == "lead" and entries_of(lead).filter(kind="sms").count() == 1
    company = deal.company
    with pytest.raises(ValidationFailed) as refused:
        send(org, deal, kind="company", record_id=company.pk)
    assert "phone" in refused.value.field_errors  # the company has no phone of its own
    assert SmsMessage.objects.filter(status="sent").count() == 2


def test_send_many_for_a_mailing(org, deal, smsru, django_capture_on_commit_callbacks):
    other = deal_with_client(org.manager, email="b@client.ru", phone="+79220000001")
    items = [
        SmsItem(record=deal.contact, phone=PHONE, text="Акция: −10% до пятницы"),
        SmsItem(record=other.contact, phone="8 922 000-00-01", text="Акция: −10% до пятницы"),
    ]
    with pytest.raises(ValidationFailed) as refused:
        sms_send_many(
            author=org.manager,
            kind="contact",
            items=[*items, SmsItem(record=deal.contact, phone="+79990000000", text="")],
        )
    assert set(refused.value.field_errors) == {"items[2].phone", "items[2].text"}
    assert not SmsMessage.objects.exists()
    with django_capture_on_commit_callbacks(execute=True):
        rows = sms_send_many(author=org.manager, kind="contact", items=items)
    assert [row.phone for row in rows] == [PHONE, "+79220000001"]
    assert SmsMessage.objects.filter(status="sent").count() == 2
    assert [form["to"] for _path, form in smsru.requests] == [["79123456789"], ["79220000001"]]


@pytest.mark.parametrize(
    "change, field",
    [
        ({"phone": "+79990000000"}, "phone"),  # a valid number, not the client's
        ({"phone": "не номер"}, "phone"),
        ({"phone": ""}, "phone"),
        ({"phone": "+79123456789\r\n"}, "phone"),
        ({"text": "   "}, "text"),
        ({"text": "Привет\x07"}, "text"),
        ({"text": "Строка\rвторая"}, "text"),
        ({"text": "я" * (67 * 6 + 1)}, "text"),  # seven parts, over CRM_SMS_MAX_PARTS
        ({"text": "{{ deal.no_such_field }} {% if %}"}, "text"),
        ({"text": "Ваш ИНН {{ client.inn }}"}, "text"),  # a placeholder the record cannot fill
        ({"template_id": 999999}, "template_id"),
    ],
)
def test_bad_input_is_refused_naming_the_field(org, deal, smsru, change, field):
    with pytest.raises(ValidationFailed) as refused:
        send(org, deal, **change)
    assert field in refused.value.field_errors, refused.value.field_errors
    assert not SmsMessage.objects.exists() and not entries_of(deal).filter(kind="sms").exists()


def test_six_parts_pass_and_crlf_is_a_line_break(org, deal, smsru):
    message = send(org, deal, text="я" * (67 * 6))
    assert message.parts == 6
    message = send(org, deal, text="Строка\r\nвторая")
    assert message.text == "Строка\nвторая"


def test_refused_without_a_provider(org, deal, settings):
    settings.CRM_SMS_PROVIDER = "none"
    with pytest.raises(SmsNotConfigured) as refused:
        send(org, deal)
    assert refused.value.status_code == 503 and "SMS-шлюз не настроен" in refused.value.message
    assert not SmsMessage.objects.exists()


def test_who_may_send(org, deal, smsru):
    with pytest.raises(PermissionDenied):
        send(org, deal, actor=org.viewer)
    for user in (org.outsider, org.colleague):
        with pytest.raises(NotFound):
            send(org, deal, actor=user)
    assert not SmsMessage.objects.exists()


def test_template_text_is_rendered(org, deal, smsru):
    chosen = template(body="{{ client.first_name }}, сделка «{{ deal.title }}»")
    message = send(org, deal, text=chosen.body, template_id=chosen.pk)
    assert message.text == "Анна, сделка «Вентиляция склада»" and message.template_id == chosen.pk


# --- the job --------------------------------------------------------------------------------


def _due(message: SmsMessage) -> None:
    SmsMessage.objects.filter(pk=message.pk).update(next_attempt_at=timezone.now())


def test_a_5xx_and_a_timeout_are_retried_then_sent(org, deal, smsru, monkeypatch):
    message = send(org, deal)  # the job is not run: on_commit callbacks are not executed
    smsru.fail_next = 1
    assert sms_deliver(sms_id=message.pk) == "retry"
    message.refresh_from_db()
    assert message.status == "queued" and message.attempts == 1
    assert "HTTP 500" in message.last_error and message.next_attempt_at > timezone.now()
    assert sms_deliver(sms_id=message.pk) == "skipped"  # not due yet
    _due(message)
    monkeypatch.setattr(smsru_module, "TIMEOUT_SECONDS", 0.2)
    smsru.delay = 0.6
    assert sms_deliver(sms_id=message.pk) == "retry"
    smsru.delay = 0
    _due(message)
    assert sms_deliver(sms_id=message.pk) == "sent"
    message.refresh_from_db()
    assert message.status == "sent" and message.attempts == 3 and message.last_error == ""
    assert deliveries(message) == ["sent", "sent"]
    assert sms_deliver(sms_id=message.pk) == "skipped"  # a doubled job sends nothing
    assert len(smsru.sent) == 1


def test_a_refusal_fails_at_once_with_the_reason(org, deal, smsru):
    smsru.refuse_numbers["79123456789"] = (207, "На этот номер нельзя отправлять сообщения")
    message = send(org, deal)
    assert sms_deliver(sms_id=message.pk) == "failed"
    message.refresh_from_db()
    assert message.status == "failed" and message.attempts == 1
    assert message.last_error == "SMS.ru 207: На этот номер нельзя отправлять сообщения"
    assert deliveries(message) == ["failed", "failed"]
    card = client_for(org.manager).get(f"/sales/deals/{deal.pk}/").content.decode()
    assert "SMS.ru 207: На этот номер нельзя отправлять сообщения" in card


def test_gives_up_after_the_last_attempt(org, deal, smsru):
    message = send(org, deal)
    smsru.fail_next = MAX_ATTEMPTS
    for attempt in range(1, MAX_ATTEMPTS + 1):
        _due(message)
        assert sms_deliver(sms_id=message.pk) == ("failed" if attempt == MAX_ATTEMPTS else "retry")
    message.refresh_from_db()
    assert message.status == "failed" and message.attempts == MAX_ATTEMPTS
    assert deliveries(message) == ["failed", "failed"]


def test_sweep_takes_back_a_dead_workers_sms_and_enqueues_lost_ones(org, deal, smsru, settings):
    stuck = send(org, deal)
    lost = send(org, deal, text="Второе")
    long_ago = timezone.now() - timedelta(minutes=30)
    SmsMessage.objects.filter(pk=stuck.pk).update(
        status="sending", attempts=1, next_attempt_at=long_ago
    )
    SmsMessage.objects.filter(pk=lost.pk).update(next_attempt_at=long_ago)
    settings.CRM_SMS_PROVIDER = "none"
    assert sms_sweep() == {}  # without a gateway the messages wait
    settings.CRM_SMS_PROVIDER = "smsru"
    assert sms_sweep() == {"sms": 2, "sms_taken_back": 1}  # the immediate backend runs them
    assert set(SmsMessage.objects.values_list("status", flat=True)) == {"sent"}
    assert sms_sweep() == {}
    # One whose last attempt was interrupted fails instead of a sixth try.
    last = send(org, deal, text="Третье")
    SmsMessage.objects.filter(pk=last.pk).update(
        status="sending", attempts=MAX_ATTEMPTS, next_attempt_at=long_ago
    )
    sms_sweep()
    last.refresh_from_db()
    assert last.status == "failed" and deliveries(last) == ["failed", "failed"]


# --- delivery reports -----------------------------------------------------------------------


def _sent(org, deal, smsru, django_capture_on_commit_callbacks, text="Текст"):
    with django_capture_on_commit_callbacks(execute=True):
        message = send(org, deal, text=text)
    message.refresh_from_db()
    assert message.status == "sent"
    return message


def test_callback_token_status_and_idempotence(
    org, deal, smsru, client, django_capture_on_commit_callbacks, caplog
):
    message = _sent(org, deal, smsru, django_capture_on_commit_callbacks)
    body = {"data[0]": f"sms_status\n{message.provider_id}\n103\n1700000000"}
    with caplog.at_level("WARNING", logger="crm.security"):
        assert client.post("/mail/sms/callback/wrong/", body).status_code == 404
    assert "sms_callback_refused" in caplog.text
    message.refresh_from_db()
    assert message.status == "sent"
    for _repeat in range(2):  # SMS.ru repeats a callback it did not get "100" for
        response = client.post("/mail/sms/callback/cb-token/", body)
        assert response.status_code == 200 and response.content == b"100"
    message.refresh_from_db()
    assert message.status == "delivered"
    assert message.delivered_at is not None and message.delivered_at.timestamp() == 1700000000
    assert deliveries(message) == ["delivered", "delivered"]
    # A late "failed" (or "still on its way") after the final state changes nothing.
    late = {"data[0]": f"sms_status\n{message.provider_id}\n106\n1700000100"}
    assert client.post("/mail/sms/callback/cb-token/", late).content == b"100"
    message.refresh_from_db()
    assert message.status == "delivered"
    # Unknown ids and unknown blocks are answered too (else the provider repeats them).
    junk = {"data[0]": "sms_status\nnope\n103\n1", "data[1]": "callback_test\n1"}
    assert client.post("/mail/sms/callback/cb-token/", junk).content == b"100"
    assert client.get("/mail/sms/callback/cb-token/").status_code == 405


def test_callback_without_a_token_configured_is_404(org, deal, smsru, client, settings):
    settings.CRM_SMS_CALLBACK_TOKEN = ""
    assert client.post("/mail/sms/callback/cb-token/", {}).status_code == 404
    settings.CRM_SMS_CALLBACK_TOKEN = "cb-token"
    settings.CRM_SMS_PROVIDER = "none"
    assert client.post("/mail/sms/callback/cb-token/", {}).status_code == 404


def test_a_failure_report_shows_the_reason(
    org, deal, smsru, client, django_capture_on_commit_callbacks
):
    message = _sent(org, deal, smsru, django_capture_on_commit_callbacks)
    body = {"data[0]": f"sms_status\n{message.provider_id}\n106\n1700000000"}
    assert client.post("/mail/sms/callback/cb-token/", body).content == b"100"
    message.refresh_from_db()
    assert message.status == "failed" and message.last_error == "106"
    assert deliveries(message) == ["failed", "failed"]


def test_polling_asks_for_what_has_no_final_status(
    org, deal, smsru, django_capture_on_commit_callbacks
):
    first = _sent(org, deal, smsru, django_capture_on_commit_callbacks)
    second = _sent(org, deal, smsru, django_capture_on_commit_callbacks, text="Второе")
    assert sms_poll() == {"asked": 2, "changed": 0}  # both still on their way (102)
    assert sms_poll() == {}  # asked a moment ago
    smsru.statuses[first.provider_id] = 103
    later = timezone.now() + sms_services.POLL_EVERY + timedelta(seconds=1)
    assert sms_poll(now=later) == {"asked": 2, "changed": 1}
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.status == "delivered" and first.cost == Decimal("2.49")
    assert second.status == "sent" and deliveries(first) == ["delivered", "delivered"]
    status_requests = [form for path, form in smsru.requests if path == "/sms/status"]
    assert status_requests[-1]["sms_id"] == [f"{first.provider_id},{second.provider_id}"]
    # Past POLL_FOR a message is no longer asked about.
    much_later = timezone.now() + sms_services.POLL_FOR + timedelta(days=1)
    assert sms_poll(now=much_later) == {}


# --- the stand-in calls our callback over HTTP -------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_the_stand_in_calls_the_callback_over_http(org, live_server, smsru):
    # A contact, not a deal: a transactional test may run after another emptied the
    # pipelines a deal needs.
    contact = make_contact(org.manager, first_name="Анна", phones=[{"value": PHONE}])
    message = send(org, None, kind="contact", record_id=contact.pk)  # the job ran on commit
    message.refresh_from_db()
    assert message.status == "sent"
    url = f"{live_server.url}/mail/sms/callback/cb-token/"
    assert (
        callback(f"{live_server.url}/mail/sms/callback/guess/", [(message.provider_id, 103)])[0]
        == 404
    )
    assert callback(url, [(message.provider_id, 103), ("000000-99999999", 103)]) == (200, "100")
    message.refresh_from_db()
    assert message.status == "delivered" and deliveries(message) == ["delivered"]
    assert callback(url, [(message.provider_id, 103)]) == (200, "100")


# --- the compose page -----------------------------------------------------------------------


def test_compose_page_sends_and_shows_on_the_card(
    org, deal, smsru, django_capture_on_commit_callbacks
):
    client = client_for(org.manager)
    contact = deal.contact
    url = f"/mail/sms/contact/{contact.pk}/"
    card = client.get(f"/customers/contacts/{contact.pk}/")
    assert url in card.content.decode()
    page = client.get(url)
    assert page.status_code == 200
    html = page.content.decode()
    assert 'value="+79123456789"' in html and 'data-sms-counter="sms-length"' in html
    assert 'id="sms-not-configured"' not in html
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            url, {"phone": PHONE, "text": "Добрый день, {{ client.first_name }}!"}
        )
    assert (
        response.status_code == 302 and response["Location"] == f"/customers/contacts/{contact.pk}/"
    )
    card = client.get(response["Location"]).content.decode()
    assert "Добрый день, Анна!" in card and 'data-delivery="sent"' in card
    recent = client.get(url).content.decode()
    assert 'id="recent-sms"' in recent and "+7 912 345-67-89</span>" in recent
    # The timeline's "SMS" filter shows the SMS and nothing else.
    timeline = f"/customers/contact/{contact.pk}/timeline/"
    only_sms = client.get(f"{timeline}?kind=sms").content.decode()
    assert "Добрый день, Анна!" in only_sms and "kind-created" not in only_sms
    assert "Добрый день, Анна!" not in client.get(f"{timeline}?kind=email").content.decode()


def test_compose_page_refusals(org, deal, smsru, settings):
    client = client_for(org.manager)
    url = f"/mail/sms/deal/{deal.pk}/"
    response = client.post(url, {"phone": "+79990000000", "text": ""})
    assert response.status_code == 422
    form = response.context["form"]
    assert set(form.errors) == {"phone", "text"}
    chosen = template(body="Сделка {{ deal.title }}")
    page = client.get(f"{url}?template={chosen.pk}")
    assert "Сделка {{ deal.title }}" in page.content.decode()
    assert client_for(org.viewer).get(url).status_code == 403
    assert client_for(org.outsider).get(url).status_code == 404
    assert client_for(org.outsider).post(url, {"phone": PHONE, "text": "x"}).status_code == 404
    settings.CRM_SMS_PROVIDER = "none"
    page = client.get(url)
    assert 'id="sms-not-configured"' in page.content.decode()
    response = client.post(url, {"phone": PHONE, "text": "Текст"})
    assert response.status_code == 503 and "SMS-шлюз не настроен" in response.content.decode()
    assert not SmsMessage.objects.exists()


# --- the API --------------------------------------------------------------------------------


def api(user) -> ApiClient:
    return ApiClient(token_for(user) if user is not None else None)


@pytest.mark.parametrize(
    "who, status",
    [
        (None, 401),
        ("viewer", 403),
        ("outsider", 404),
        ("colleague", 404),
        ("manager", 202),
        ("head", 202),
        ("admin", 202),
    ],
)
def test_api_who_may_send(org, deal, smsru, who, status, django_capture_on_commit_callbacks):
    user = getattr(org, who) if who else None
    payload = {"record_kind": "deal", "record_id": deal.pk, "phone": PHONE, "text": "Привет"}
    with django_capture_on_commit_callbacks(execute=True):
        response = api(user).post("/sms", payload)
    assert response.status_code == status, response.content
    assert SmsMessage.objects.count() == (1 if status == 202 else 0)


def test_api_send_list_get(org, deal, smsru, django_capture_on_commit_callbacks):
    payload = {
        "record_kind": "deal",
        "record_id": deal.pk,
        "phone": "8 912 345-67-89",
        "text": "Привет",
    }
    with django_capture_on_commit_callbacks(execute=True):
        response = api(org.manager).post("/sms", payload)
    assert response.status_code == 202, response.content
    body = response.json()
    assert body["status"] == "queued" and body["phone"] == PHONE and body["parts"] == 1
    state = api(org.manager).get(f"/sms/{body['id']}").json()
    assert state["status"] == "sent" and state["provider_id"] == "000000-00000001"
    listed = api(org.viewer).get(f"/sms?record_kind=deal&record_id={deal.pk}")
    assert listed.status_code == 200 and [row["id"] for row in listed.json()] == [body["id"]]
    assert api(org.outsider).get(f"/sms/{body['id']}").status_code == 404
    assert api(org.outsider).get(f"/sms?record_kind=deal&record_id={deal.pk}").status_code == 404
    assert api(org.manager).get("/sms?record_kind=task&record_id=1").status_code == 404


@pytest.mark.parametrize(
    "change, field",
    [
        ({"phone": "+79990000000"}, "phone"),
        ({"phone": "+79123456789\r\nX"}, "phone"),
        ({"text": ""}, "text"),
        ({"text": "a\u0000b"}, "text"),
        ({"text": "я" * 500}, "text"),
    ],
)
def test_api_bad_input_names_the_field(org, deal, smsru, change, field):
    payload = {"record_kind": "deal", "record_id": deal.pk, "phone": PHONE, "text": "Привет"}
    payload.update(change)
    response = api(org.manager).post("/sms", payload)
    assert 400 <= response.status_code < 500, response.content
    assert field in str(response.json()), response.json()
    assert not SmsMessage.objects.exists()


def test_api_without_a_provider_is_503(org, deal, settings):
    settings.CRM_SMS_PROVIDER = "none"
    payload = {"record_kind": "deal", "record_id": deal.pk, "phone": PHONE, "text": "Привет"}
    response = api(org.manager).post("/sms", payload)
    assert response.status_code == 503 and "SMS-шлюз не настроен" in response.json()["detail"]


def test_api_list_query_count(org, deal, smsru, django_assert_num_queries):
    client = api(org.manager)
    one_then_fifty(
        lambda index: send(org, deal, text=f"Сообщение {index}"),
        4,  # the token, the absences (deal scope), the record's visibility, the SMS
        lambda: client.get(f"/sms?record_kind=deal&record_id={deal.pk}"),
        django_assert_num_queries,
    )
