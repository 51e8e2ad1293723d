"""A lead whose phone is not a valid number (a foreign or mistyped one) is kept, from every
channel: the number as sent is stored and shown unchecked, matching uses its digits, and
the visitor of a web form is not refused. Text with too few digits is still refused."""

from __future__ import annotations

import json
import time

import pytest
from django.contrib.contenttypes.models import ContentType
from django.test import Client
from django.urls import reverse

from conftest import client_for
from crm.accounts.models import Team
from crm.activities.models import TimelineEntry
from crm.api.tests.conftest import ApiClient, token_for
from crm.core.errors import ValidationFailed
from crm.core.normalize import phone_digits_key
from crm.customers.models import ContactPoint
from crm.customers.tests.factories import make_contact
from crm.leads.models import Inbound, Lead, RoutingRule
from crm.leads.services import intake
from crm.leads.services.leads import lead_convert, lead_create_manual
from crm.leads.services.webforms import webform_save

pytestmark = pytest.mark.django_db

# Made-up international numbers of the kinds that were refused before: too short, too long,
# a mistyped country code, an extension, a national number of another country.
ODD_NUMBERS = [
    "+1-555-0100",
    "+44 20 7946 09581",
    "+999 123 456 789",
    "(555) 123-4567 x890",
    "001-202-555-0143",
    "8 912 345 67 8",
]


@pytest.fixture
def routed(org):
    RoutingRule.objects.update(
        team=Team.objects.get(name="Москва"), strategy="fixed_user", fixed_user=org.manager
    )


def arrive(channel="api", **payload) -> Lead:
    inbound, _created = intake.inbound_store(channel=channel, payload=payload)
    lead = intake.inbound_process(inbound.pk)
    assert lead is not None, Inbound.objects.get(pk=inbound.pk).error
    return lead


@pytest.mark.parametrize("raw", ODD_NUMBERS)
def test_an_odd_number_is_kept_as_sent_with_its_digits_for_matching(org, routed, raw):
    lead = arrive(name="Анна", phone=raw)
    assert lead.phone_unchecked == raw
    assert lead.phone == "+" + "".join(ch for ch in raw if ch.isdigit())
    assert lead.owner == org.manager


def test_a_valid_number_stays_checked(org, routed):
    lead = arrive(name="Анна", phone="8 912 345-67-89")
    assert (lead.phone, lead.phone_unchecked) == ("+79123456789", "")


@pytest.mark.parametrize("raw", ["12", "abc", "нет телефона", "+7 1-2"])
def test_text_with_too_few_digits_is_still_refused_naming_the_phone(org, raw):
    with pytest.raises(ValidationFailed) as error:
        intake.clean_lead_input({"phone": raw})
    assert "phone" in error.value.field_errors
    assert phone_digits_key(raw) == ""


def test_matching_uses_the_digits_of_an_unchecked_number(org, routed):
    known = make_contact(org.manager, phones=[{"value": "+442079460958"}])
    # The visitor left out the plus, so with Russia as the default region it is not valid.
    lead = arrive(name="John", phone="44 20 7946 0958")
    assert lead.phone_unchecked == "44 20 7946 0958"
    assert lead.contact == known and lead.kind == "repeat"
    assert any("44 20 7946 0958" in reason for reason in lead.match["reasons"])


def test_a_second_request_from_the_same_odd_number_goes_to_the_open_lead(org, routed):
    first = arrive(name="Анна", phone="+999 123 456 789")
    again = arrive(name="Анна", phone="+999-123-456-789", message="Ещё раз")
    assert again == first and Lead.objects.count() == 1


def test_the_web_form_accepts_an_odd_number_and_the_lead_shows_it_unchecked(
    org, routed, django_capture_on_commit_callbacks
):
    form = webform_save(
        actor=org.admin,
        name="Заявка",
        fields=[
            {"name": "name", "label": "Имя", "type": "text", "required": True},
            {"name": "phone", "label": "Телефон", "type": "tel", "required": True},
        ],
        allowed_origins=["https://shop.example.ru"],
        min_fill_seconds=3,
    )
    with django_capture_on_commit_callbacks(execute=True):
        response = Client(enforce_csrf_checks=True).post(
            f"/f/{form.key}",
            {"name": "Jane", "phone": "+1 (555) 010-0", "_ts": str(int((time.time() - 10) * 1000))},
            HTTP_ORIGIN="https://shop.example.ru",
            HTTP_ACCEPT="application/json",
            REMOTE_ADDR="203.0.113.5",
        )
    assert response.status_code == 200 and response.json()["ok"] is True
    lead = Lead.objects.get()
    assert (lead.phone_unchecked, lead.phone, lead.form) == ("+1 (555) 010-0", "+15550100", form)
    org.manager.language = "ru"
    org.manager.save(update_fields=["language"])
    card = client_for(org.manager).get(reverse("leads:lead_detail", args=[lead.pk]))
    html = card.content.decode()
    assert "+1 (555) 010-0" in html and 'data-testid="phone-unchecked"' in html
    assert "не проверен" in html
    listing = client_for(org.manager).get(reverse("leads:lead_list")).content.decode()
    assert "+1 (555) 010-0" in listing and "не проверен" in listing


def test_the_api_takes_an_odd_number_and_returns_it_unchecked(
    org, routed, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = ApiClient(token_for(org.admin)).post(
            "/leads", {"name": "Jane", "phone": "+999 123 456 789"}
        )
    assert response.status_code == 202
    lead = ApiClient(token_for(org.admin)).get(f"/leads/{Lead.objects.get().pk}").json()
    assert (lead["phone"], lead["phone_unchecked"]) == ("+999123456789", "+999 123 456 789")
    refused = ApiClient(token_for(org.admin)).post("/leads", {"phone": "12"})
    assert refused.status_code == 422 and "phone" in refused.json()["errors"]


def test_a_manual_lead_keeps_an_odd_number(org, routed):
    lead = lead_create_manual(actor=org.manager, data={"name": "Гость", "phone": "8 912 345 67 8"})
    assert (lead.phone_unchecked, lead.phone, lead.owner) == (
        "8 912 345 67 8",
        "+8912345678",
        org.manager,
    )


def test_a_caller_with_an_odd_number_becomes_a_lead(
    settings, org, routed, django_capture_on_commit_callbacks
):
    settings.CRM_TELEPHONY_SECRET = "pbx-secret"
    event = {
        "event": "incoming",
        "call_id": "c-odd",
        "from": "+999 5550 1234",
        "to": "+7 495 123-45-67",
        "direction": "in",
    }
    with django_capture_on_commit_callbacks(execute=True):
        response = Client().post(
            "/leads/inbound/telephony/",
            json.dumps(event),
            content_type="application/json",
            HTTP_X_CRM_SECRET="pbx-secret",
        )
    assert response.status_code in (200, 202), response.content
    lead = Lead.objects.get()
    assert (lead.phone_unchecked, lead.phone, lead.channel) == (
        "+999 5550 1234",
        "+99955501234",
        "phone",
    )


def test_converting_keeps_the_odd_number_on_the_new_contacts_timeline(org, routed):
    lead = arrive(name="Jane Doe", phone="+999 123 456 789")
    lead_convert(actor=org.manager, pk=lead.pk)
    lead.refresh_from_db()
    contact = lead.contact
    assert contact is not None and lead.status == "converted"
    assert not ContactPoint.objects.filter(contact=contact, kind="phone").exists()
    note = TimelineEntry.objects.get(
        subject_type=ContentType.objects.get_for_model(contact),
        subject_id=contact.pk,
        title="Phone from the lead, not checked",
    )
    assert note.body == "+999 123 456 789" and note.data["lead_id"] == lead.pk
