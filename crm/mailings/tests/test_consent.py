"""Consent to mailings on the contact card: the service, its refusals and the panel."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from conftest import client_for
from crm.activities.models import TimelineEntry
from crm.core.errors import NotFound, PermissionDenied, ValidationFailed
from crm.customers.models import Contact, ContactPoint
from crm.mailings.services import contact_consent_set
from crm.mailings.tests.conftest import contact_with, email_of


@pytest.fixture
def contact(org):
    return contact_with(org.manager, "ivan@example.com", last_name="Иванов")


def changes(contact) -> list[dict]:
    return [
        change
        for entry in TimelineEntry.objects.filter(
            subject_id=contact.pk, kind="field_change"
        ).order_by("id")
        for change in entry.data["changes"]
    ]


def test_consent_is_recorded_with_a_timeline_entry(org, contact):
    moment = timezone.now() - dt.timedelta(days=2)
    saved = contact_consent_set(
        actor=org.manager, contact=contact, consent_at=moment, consent_source="form"
    )
    assert (saved.consent_at, saved.consent_source) == (moment, "form")
    [change] = changes(contact)
    assert change["field"] == "consent_at" and change["old"] == "" and change["new"]


def test_withdrawing_clears_the_source(org, contact):
    contact_consent_set(
        actor=org.manager, contact=contact, consent_at=timezone.now(), consent_source="api"
    )
    saved = contact_consent_set(
        actor=org.manager, contact=contact, consent_at=None, consent_source="api"
    )
    assert (saved.consent_at, saved.consent_source) == (None, "")


def test_unsubscribing_and_resubscribing_an_address(org, contact):
    point = email_of(contact)
    contact_consent_set(
        actor=org.manager, contact=contact, consent_at=None, unsubscribed={point.pk}
    )
    point.refresh_from_db()
    assert point.unsubscribed_at is not None
    contact_consent_set(actor=org.manager, contact=contact, consent_at=None, unsubscribed=set())
    point.refresh_from_db()
    assert point.unsubscribed_at is None
    assert [(c["old"], c["new"]) for c in changes(contact)] == [
        ("", "ivan@example.com"),
        ("ivan@example.com", ""),
    ]


def test_nothing_changed_writes_nothing(org, contact):
    contact_consent_set(actor=org.manager, contact=contact, consent_at=None, unsubscribed=set())
    assert changes(contact) == []


@pytest.mark.parametrize(
    ("arguments", "field"),
    [
        ({"consent_at": "now", "consent_source": "moon"}, "consent_source"),
        ({"consent_at": "now", "consent_source": ""}, "consent_source"),
        ({"consent_at": "future", "consent_source": "form"}, "consent_at"),
        ({"consent_at": None, "unsubscribed": {987654}}, "unsubscribed"),
    ],
)
def test_bad_input_is_refused_and_changes_nothing(org, contact, arguments, field):
    moments = {"now": timezone.now(), "future": timezone.now() + dt.timedelta(days=1), None: None}
    arguments["consent_at"] = moments[arguments["consent_at"]]
    email_of(contact)
    with pytest.raises(ValidationFailed) as caught:
        contact_consent_set(actor=org.manager, contact=contact, **arguments)
    assert field in caught.value.field_errors
    contact.refresh_from_db()
    assert contact.consent_at is None
    assert not ContactPoint.objects.filter(unsubscribed_at__isnull=False).exists()


def test_another_contacts_address_is_refused(org, contact):
    other = email_of(contact_with(org.manager, "other@example.com"))
    with pytest.raises(ValidationFailed):
        contact_consent_set(
            actor=org.manager, contact=contact, consent_at=None, unsubscribed={other.pk}
        )
    other.refresh_from_db()
    assert other.unsubscribed_at is None


@pytest.mark.parametrize(
    ("who", "error"),
    [("outsider", NotFound), ("viewer", PermissionDenied), ("head", None), ("admin", None)],
)
def test_who_may_set_consent(org, contact, who, error):
    call = lambda: contact_consent_set(  # noqa: E731
        actor=getattr(org, who), contact=contact, consent_at=timezone.now(), consent_source="manual"
    )
    if error is None:
        assert call().consent_at is not None
        return
    with pytest.raises(error):
        call()
    assert Contact.objects.get(pk=contact.pk).consent_at is None


def test_the_card_shows_the_panel_and_saves_it(org, contact):
    client = client_for(org.manager)
    card = client.get(f"/customers/contacts/{contact.pk}/")
    assert card.status_code == 200
    assert b'id="consent-panel"' in card.content
    point = email_of(contact)
    response = client.post(
        f"/mailings/contacts/{contact.pk}/consent/",
        {
            "consent_given": "on",
            "consent_on": "2026-01-15",
            "consent_source": "form",
            "unsubscribed": [point.pk],
        },
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    assert b'id="consent-panel"' in response.content
    contact.refresh_from_db()
    assert timezone.localtime(contact.consent_at).date() == dt.date(2026, 1, 15)
    assert contact.consent_source == "form"
    point.refresh_from_db()
    assert point.unsubscribed_at is not None


def test_the_form_refuses_with_422_naming_the_field(org, contact):
    response = client_for(org.manager).post(
        f"/mailings/contacts/{contact.pk}/consent/",
        {"consent_given": "on", "consent_on": "2999-01-01", "consent_source": "form"},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 422
    contact.refresh_from_db()
    assert contact.consent_at is None


def test_a_contact_one_may_not_see_answers_404(org, contact):
    response = client_for(org.outsider).post(
        f"/mailings/contacts/{contact.pk}/consent/",
        {"consent_given": "on", "consent_source": "form"},
    )
    assert response.status_code == 404


def test_a_read_only_user_sees_no_form(org, contact):
    card = client_for(org.viewer).get(f"/customers/contacts/{contact.pk}/")
    assert b'id="consent-panel"' in card.content
    assert b"/consent/" not in card.content
    response = client_for(org.viewer).post(
        f"/mailings/contacts/{contact.pk}/consent/",
        {"consent_given": "on", "consent_source": "form"},
    )
    assert response.status_code == 403
