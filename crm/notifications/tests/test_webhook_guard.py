"""Webhooks cannot probe internal services: with ``CRM_WEBHOOK_ALLOW_PRIVATE`` off (the
production default) an address on this machine or a private network is refused when the
webhook is written and, for a name, when the connection is made."""

from __future__ import annotations

import pytest

from crm.core.errors import ValidationFailed
from crm.notifications.models import WebhookDelivery
from crm.notifications.services import (
    webhook_address_allowed,
    webhook_delivery_send,
    webhook_enqueue,
)

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("host", "allowed"),
    [
        ("127.0.0.1", False),
        ("localhost", False),
        ("api.localhost", False),
        ("10.1.2.3", False),
        ("172.16.0.9", False),
        ("192.168.1.10", False),
        ("100.64.0.1", False),  # carrier-grade NAT
        ("169.254.169.254", False),  # the cloud metadata service
        ("0.0.0.0", False),  # noqa: S104 (an address refused, not bound)
        ("[::1]", False),
        ("::ffff:127.0.0.1", False),
        ("fd00::1", False),
        ("224.0.0.1", False),
        ("93.184.216.34", True),
        ("2a00:1450:4010:c05::8b", True),
        ("hooks.example.com", True),  # a name: its address is checked on connecting
    ],
)
def test_only_public_addresses_are_allowed_in_production(settings, host, allowed):
    settings.CRM_WEBHOOK_ALLOW_PRIVATE = False
    assert webhook_address_allowed(host) is allowed
    settings.CRM_WEBHOOK_ALLOW_PRIVATE = True
    assert webhook_address_allowed(host) is True


def test_a_webhook_to_this_machine_is_refused_naming_the_url(settings):
    settings.CRM_WEBHOOK_ALLOW_PRIVATE = False
    with pytest.raises(ValidationFailed) as caught:
        webhook_enqueue(url="http://127.0.0.1:6379/", event="deal.won", payload={}, secret="")
    assert list(caught.value.field_errors) == ["url"]
    assert not WebhookDelivery.objects.exists()


def test_a_name_that_leads_to_this_machine_is_refused_on_connecting(settings, http_receiver):
    # A name written while it was allowed (or one re-pointed later to an internal address):
    # the address actually connected to is checked on every attempt.
    url = http_receiver.url.replace("127.0.0.1", "localhost")
    delivery = webhook_enqueue(url=url, event="deal.won", payload={}, secret="")
    settings.CRM_WEBHOOK_ALLOW_PRIVATE = False
    assert webhook_delivery_send(delivery_id=delivery.pk) == "retry"
    delivery.refresh_from_db()
    assert "not a public address" in delivery.last_error
    assert http_receiver.requests == []
    # the same delivery goes through where private addresses are allowed (a laptop)
    settings.CRM_WEBHOOK_ALLOW_PRIVATE = True
    WebhookDelivery.objects.filter(pk=delivery.pk).update(next_attempt_at=delivery.created_at)
    assert webhook_delivery_send(delivery_id=delivery.pk) == "sent"
    assert len(http_receiver.requests) == 1
