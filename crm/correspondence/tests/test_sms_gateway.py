"""The SMS.ru adapter over real HTTP against the local stand-in, and the parts counter."""

from __future__ import annotations

from decimal import Decimal

import pytest

from crm.correspondence.sms import gateway_get
from crm.correspondence.sms import smsru as smsru_module
from crm.correspondence.sms.gateway import GatewayRefused, GatewayUnavailable
from crm.correspondence.sms.smsru import SmsRu
from crm.correspondence.sms.text import sms_length
from crm.correspondence.tests.smsru_standin import API_ID


@pytest.mark.parametrize(
    "text, encoding, units, parts",
    [
        ("", "gsm", 0, 0),
        ("a" * 160, "gsm", 160, 1),
        ("a" * 161, "gsm", 161, 2),
        ("a" * 306, "gsm", 306, 2),
        ("a" * 307, "gsm", 307, 3),
        ("[" * 80, "gsm", 160, 1),  # the extension table counts two
        ("[" * 81, "gsm", 162, 2),
        ("я" * 70, "ucs2", 70, 1),
        ("я" * 71, "ucs2", 71, 2),
        ("я" * 134, "ucs2", 134, 2),
        ("я" * 135, "ucs2", 135, 3),
        ("a" * 69 + "😀", "ucs2", 71, 2),  # beyond the BMP: two units
    ],
)
def test_parts(text, encoding, units, parts):
    length = sms_length(text)
    assert (length.encoding, length.units, length.parts) == (encoding, units, parts)


def test_send_status_balance_over_http(smsru):
    gateway = SmsRu(api_id=API_ID, base_url=smsru.url)
    accepted = gateway.send(phone="+79123456789", text="Привет", sender="Ventprom")
    assert accepted.provider_id == "000000-00000001"
    path, form = smsru.requests[-1]
    assert path == "/sms/send"
    assert form == {
        "api_id": [API_ID],
        "to": ["79123456789"],
        "msg": ["Привет"],
        "from": ["Ventprom"],
        "json": ["1"],
    }
    smsru.statuses[accepted.provider_id] = 103
    [report] = gateway.statuses([accepted.provider_id, "unknown-id"])
    assert (report.provider_id, report.state, report.code) == (
        accepted.provider_id,
        "delivered",
        "103",
    )
    assert report.cost == Decimal("2.49") and report.text == "Сообщение доставлено"
    assert gateway.balance() == Decimal("4122.56")


def test_errors_are_passing_or_refusals_and_never_name_the_key(smsru, monkeypatch):
    gateway = SmsRu(api_id=API_ID, base_url=smsru.url)
    smsru.fail_next = 1
    with pytest.raises(GatewayUnavailable, match="HTTP 500"):
        gateway.send(phone="+79123456789", text="x", sender="")
    smsru.refuse_numbers["79123456789"] = (207, "На этот номер нельзя отправлять сообщения")
    with pytest.raises(GatewayRefused, match="207") as refused:
        gateway.send(phone="+79123456789", text="x", sender="")
    assert "нельзя" in refused.value.reason
    with pytest.raises(GatewayRefused, match="200") as bad_key:
        SmsRu(api_id="wrong", base_url=smsru.url).send(phone="+79000000000", text="x", sender="")
    assert "wrong" not in bad_key.value.reason and API_ID not in repr(gateway)
    monkeypatch.setattr(smsru_module, "TIMEOUT_SECONDS", 0.2)
    smsru.delay = 0.6
    with pytest.raises(GatewayUnavailable, match=r"unreachable|timed out"):
        gateway.send(phone="+79000000001", text="x", sender="")
    smsru.delay = 0
    with pytest.raises(GatewayUnavailable):
        SmsRu(api_id=API_ID, base_url="http://127.0.0.1:9").send(phone="+7", text="x", sender="")
    with pytest.raises(ValueError):
        SmsRu(api_id=API_ID, base_url="file:///etc/passwd")


def test_callback_parsing_skips_what_it_does_not_know():
    gateway = SmsRu(api_id=API_ID)
    reports = gateway.parse_callback(
        {
            "data[0]": ["sms_status\n000000-1\n103\n1700000000"],
            "data[1]": ["sms_status\r\n000000-2\r\n106\r\n1700000001"],
            "data[2]": ["callback_test\n1700000000"],
            "data[3]": ["sms_status\n000000-3\n999\n1"],
            "data[4]": ["sms_status\n000000-4\n102\nnot-a-time"],
            "other": ["sms_status\n000000-5\n103\n1"],
        }
    )
    assert [(r.provider_id, r.state, r.code) for r in reports] == [
        ("000000-1", "delivered", "103"),
        ("000000-2", "failed", "106"),
        ("000000-4", "sent", "102"),
    ]
    assert reports[0].at is not None and reports[0].at.timestamp() == 1700000000
    assert reports[2].at is None


def test_gateway_get_needs_a_provider_and_a_key(settings):
    settings.CRM_SMS_PROVIDER = "none"
    settings.CRM_SMS_API_ID = "key"
    assert gateway_get() is None
    settings.CRM_SMS_PROVIDER = "smsru"
    settings.CRM_SMS_API_ID = ""
    assert gateway_get() is None
    settings.CRM_SMS_API_ID = "key"
    assert isinstance(gateway_get(), SmsRu)
