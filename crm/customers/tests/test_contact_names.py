"""A contact named by one part: a last name or a first name alone is enough, none is refused
(naming both fields), and an administrator can require the first name."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import translation

from conftest import client_for
from crm.api.tests.conftest import ApiClient, token_for
from crm.core.errors import ValidationFailed
from crm.customers.models import Contact
from crm.customers.services import contact_create, contact_merge, contact_update
from crm.customers.tests.factories import make_contact
from crm.customers.tests.test_views_contacts import _form

pytestmark = pytest.mark.django_db

ONE_OF = "Enter a last name or a first name."
# The pages answer in the user's language, Russian here.
ONE_OF_RU, ENOUGH_RU = "Укажите фамилию или имя.", "Достаточно фамилии или имени."


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


@pytest.fixture
def manager_api(org):
    return ApiClient(token_for(org.manager))


# --- the service ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("names", "shown"),
    [
        ({"last_name": "Иванов"}, "Иванов"),
        ({"first_name": "Пётр"}, "Пётр"),
        ({"last_name": "Иванов", "middle_name": "Петрович"}, "Иванов Петрович"),
    ],
)
def test_a_contact_with_one_name_part_is_saved_and_named_by_it(org, names, shown):
    contact = contact_create(actor=org.manager, data=names)

    contact.refresh_from_db()
    assert str(contact) == contact.full_name == shown
    assert contact.first_name == names.get("first_name", "")


@pytest.mark.parametrize(
    "names",
    [{}, {"last_name": "", "first_name": "  "}, {"middle_name": "Петрович"}],
)
def test_a_contact_without_last_and_first_name_is_refused_naming_both(org, names):
    with pytest.raises(ValidationFailed) as refused:
        contact_create(actor=org.manager, data=names)

    assert refused.value.field_errors["last_name"] == [ONE_OF]
    assert refused.value.field_errors["first_name"] == [ONE_OF]
    assert not Contact.objects.exists()


def test_a_partial_update_keeps_the_rule_with_the_parts_it_leaves_out(org):
    contact = make_contact(org.manager, last_name="", first_name="Пётр")

    with pytest.raises(ValidationFailed) as refused:
        contact_update(actor=org.manager, contact=contact, data={"first_name": ""}, partial=True)
    assert set(refused.value.field_errors) == {"last_name", "first_name"}

    changed = contact_update(
        actor=org.manager,
        contact=contact,
        data={"first_name": "", "last_name": "Петров"},
        partial=True,
    )
    assert (changed.last_name, changed.first_name) == ("Петров", "")


def test_an_administrator_can_require_the_first_name(org, settings):
    settings.CRM_CONTACT_FIRST_NAME_REQUIRED = True

    with pytest.raises(ValidationFailed) as refused:
        contact_create(actor=org.manager, data={"last_name": "Иванов"})

    assert refused.value.field_errors == {"first_name": ["This field is required."]}
    assert contact_create(actor=org.manager, data={"first_name": "Пётр"}).first_name == "Пётр"


def test_a_merge_that_would_leave_no_name_is_refused(org):
    survivor = make_contact(org.manager, last_name="Иванов", first_name="")
    merged = make_contact(org.manager, last_name="", first_name="Пётр")

    with pytest.raises(ValidationFailed) as refused:
        contact_merge(
            actor=org.manager,
            survivor=survivor,
            merged=merged,
            choices={"last_name": "merged", "first_name": "survivor"},
        )

    assert set(refused.value.field_errors) == {"last_name", "first_name"}
    assert Contact.objects.get(pk=merged.pk).merged_into_id is None
    assert Contact.objects.get(pk=survivor.pk).last_name == "Иванов"


# --- the page ---------------------------------------------------------------------------------


def test_the_form_saves_a_contact_with_only_a_last_name(org):
    response = client_for(org.manager).post(
        reverse("customers:contact_create"), _form(last_name="Сидоров", first_name="")
    )

    assert response.status_code == 302, response.content
    contact = Contact.objects.get()
    assert (contact.last_name, contact.first_name) == ("Сидоров", "")
    card = client_for(org.manager).get(response["Location"]).content.decode()
    assert "Сидоров" in card


def test_the_form_without_a_name_answers_422_beside_both_fields(org):
    response = client_for(org.manager).post(
        reverse("customers:contact_create"), _form(last_name="", first_name="")
    )

    assert response.status_code == 422
    assert response.content.decode().count(ONE_OF_RU) == 2
    assert not Contact.objects.exists()


def test_the_form_marks_the_first_name_required_only_when_configured(org, settings):
    url = reverse("customers:contact_create")
    assert ENOUGH_RU in client_for(org.manager).get(url).content.decode()

    settings.CRM_CONTACT_FIRST_NAME_REQUIRED = True

    assert ENOUGH_RU not in client_for(org.manager).get(url).content.decode()


# --- the API ----------------------------------------------------------------------------------


def test_the_api_creates_a_contact_with_only_a_first_name(manager_api):
    response = manager_api.post("/contacts", {"first_name": "Пётр"})

    assert response.status_code == 201, response.content
    assert response.json()["full_name"] == "Пётр"
    assert response.json()["last_name"] == ""


def test_the_api_refuses_a_contact_without_a_name_naming_the_fields(manager_api):
    response = manager_api.post("/contacts", {"middle_name": "Петрович"})

    assert response.status_code == 422
    assert {"last_name", "first_name"} <= set(response.json()["errors"])
    assert not Contact.objects.exists()


def test_the_api_patch_may_drop_the_first_name_when_a_last_name_stays(org, manager_api):
    contact = make_contact(org.manager, last_name="Петров", first_name="Пётр")

    dropped = manager_api.patch(f"/contacts/{contact.pk}", {"first_name": ""})
    assert dropped.status_code == 200, dropped.content
    assert dropped.json()["full_name"] == "Петров"

    refused = manager_api.patch(f"/contacts/{contact.pk}", {"last_name": ""})
    assert refused.status_code == 422
    assert "last_name" in refused.json()["errors"]
    contact.refresh_from_db()
    assert contact.last_name == "Петров"


def test_the_custom_fields_page_tells_the_administrator_the_name_rule(org, settings):
    url = reverse("customers:custom_field_list")

    rule = client_for(org.admin).get(url, {"entity": "contact"}).content.decode()
    assert "CRM_CONTACT_FIRST_NAME_REQUIRED=1" in rule
    assert 'id="contact-name-rule"' not in (
        client_for(org.admin).get(url, {"entity": "company"}).content.decode()
    )

    settings.CRM_CONTACT_FIRST_NAME_REQUIRED = True

    required = client_for(org.admin).get(url, {"entity": "contact"}).content.decode()
    assert "CRM_CONTACT_FIRST_NAME_REQUIRED=1" not in required
    assert "(CRM_CONTACT_FIRST_NAME_REQUIRED)" in required
