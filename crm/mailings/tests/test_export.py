"""The contact export carries consent and unsubscribed addresses, the same from the Python
writer and from PostgreSQL's COPY."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from crm.customers.models import Contact, ContactPoint
from crm.mailings.tests.conftest import contact_with
from crm.transfer.tests.test_export_copy import _both, _table


@pytest.fixture(autouse=True)
def _english(settings):
    settings.LANGUAGE_CODE = "en"
    settings.TIME_ZONE = "Europe/Moscow"


def test_consent_and_unsubscribed_columns(org):
    agreed = contact_with(org.manager, emails=["a@example.com", "b@example.com", "=c@example.com"])
    contact_with(org.manager, "plain@example.com", last_name="Без согласия")
    moment = dt.datetime(2026, 3, 1, 7, 30, tzinfo=dt.UTC)
    Contact.objects.filter(pk=agreed.pk).update(consent_at=moment, consent_source="form")
    ContactPoint.objects.filter(
        contact=agreed, value__in=["b@example.com", "=c@example.com"]
    ).update(unsubscribed_at=timezone.now())
    table = _table(_both(org.admin, "contact"))
    rows = [dict(zip(table[0], row, strict=True)) for row in table[1:]]
    first, second = rows
    assert first["Consent to mailings"] == "2026-03-01 10:30"
    assert first["Consent source"] == "Web form"
    assert first["Unsubscribed e-mails"] == "b@example.com, =c@example.com"
    assert second["Consent to mailings"] == second["Consent source"] == ""
    assert second["Unsubscribed e-mails"] == ""
