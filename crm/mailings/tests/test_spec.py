"""The JSON spec of a segment: what it accepts and how it refuses, naming each key."""

from __future__ import annotations

import pytest

from crm.core.errors import ValidationFailed
from crm.customers.services.custom_fields import custom_field_save
from crm.mailings.spec import SegmentSpec, spec_clean
from crm.sales.tests.factories import make_product


def refusal(raw: object) -> dict[str, list[str]]:
    with pytest.raises(ValidationFailed) as caught:
        spec_clean(raw)
    return caught.value.field_errors


def test_an_empty_spec_is_everyone(db):
    assert spec_clean({}) == SegmentSpec()
    assert spec_clean(None).is_empty


def test_a_full_spec_round_trips(org):
    product = make_product()
    custom_field_save(
        actor=org.admin, entity="contact", label="Бюджет", key="budget", field_type="number"
    )
    raw = {
        "q": "Петров",
        "owner": org.manager.pk,
        "team": org.manager.teams.first().pk,
        "client_type": "business",
        "tag": "VIP",
        "tags": ["Опт", "VIP"],
        "source": "website",
        "custom": {"budget": 100},
        "product": product.pk,
        "no_touch_days": 30,
        "has_email": True,
        "has_phone": False,
        "consent": True,
        "with_companies": True,
    }
    spec = spec_clean(raw)
    assert spec.as_json() == raw
    assert spec_clean(spec.as_json()) == spec


def test_unknown_keys_are_named(db):
    errors = refusal({"colour": "red", "q": "x", "owner_id": 1})
    assert set(errors) == {"spec.colour", "spec.owner_id"}


@pytest.mark.parametrize(
    ("raw", "key"),
    [
        ({"q": 5}, "spec.q"),
        ({"q": "x" * 101}, "spec.q"),
        ({"q": "a\x00b"}, "spec.q"),
        ({"owner": "1"}, "spec.owner"),
        ({"owner": True}, "spec.owner"),
        ({"owner": 2**70}, "spec.owner"),
        ({"owner": 999999}, "spec.owner"),
        ({"team": 0}, "spec.team"),
        ({"client_type": "alien"}, "spec.client_type"),
        ({"tags": "VIP"}, "spec.tags"),
        ({"tags": [""]}, "spec.tags"),
        ({"tags": ["x"] * 21}, "spec.tags"),
        ({"tags": [1]}, "spec.tags"),
        ({"source": "moon"}, "spec.source"),
        ({"company": 12345}, "spec.company"),
        ({"custom": []}, "spec.custom"),
        ({"custom": {"nope": 1}}, "spec.custom.nope"),
        ({"product": 424242}, "spec.product"),
        ({"no_touch_days": 0}, "spec.no_touch_days"),
        ({"no_touch_days": 3651}, "spec.no_touch_days"),
        ({"no_touch_days": 1.5}, "spec.no_touch_days"),
        ({"has_email": "yes"}, "spec.has_email"),
        ({"consent": 1}, "spec.consent"),
        ({"with_companies": "true"}, "spec.with_companies"),
    ],
)
def test_malformed_values_are_named(db, raw, key):
    assert key in refusal(raw)


def test_not_an_object_is_refused(db):
    assert "spec" in refusal(["q"])


def test_custom_values_follow_the_field_type(org):
    custom_field_save(
        actor=org.admin, entity="contact", label="Бюджет", key="budget", field_type="number"
    )
    custom_field_save(
        actor=org.admin,
        entity="company",
        label="Отрасль",
        key="branch",
        field_type="multi_choice",
        choices=["Розница", "Опт"],
    )
    assert "spec.custom.budget" in refusal({"custom": {"budget": "many"}})
    assert "spec.custom.branch" in refusal({"custom": {"branch": "Космос"}})
    assert spec_clean({"custom": {"budget": "12", "branch": "Опт"}}).custom == {
        "budget": 12,
        "branch": "Опт",
    }


def test_every_refusal_is_reported_at_once(db):
    errors = refusal({"q": 1, "source": "moon", "what": 1})
    assert set(errors) == {"spec.q", "spec.source", "spec.what"}
