"""Custom field definitions: the rules of the service and the administration pages."""

from __future__ import annotations

import pytest
from django.urls import reverse

from conftest import client_for
from crm.core.errors import PermissionDenied, ValidationFailed
from crm.customers.models import Contact, CustomField
from crm.customers.services.custom_fields import (
    custom_field_deactivate,
    custom_field_key_from_label,
    custom_field_save,
)
from crm.customers.tests.factories import make_contact


def _field(org, **data):
    data.setdefault("entity", "contact")
    data.setdefault("label", "Бюджет")
    data.setdefault("field_type", "number")
    return custom_field_save(actor=org.admin, **data)


def test_creates_a_field_with_a_key_transliterated_from_the_label(org):
    # when
    field = _field(org, label="Любимый цвет", field_type="choice", choices="Синий\nКрасный\n\n")
    # then
    assert field.key == "liubimyi_tsvet"
    assert field.choices == ["Синий", "Красный"]
    assert field.is_active


def test_key_from_label_handles_symbols_and_digits():
    assert custom_field_key_from_label("Бюджет, ₽") == "biudzhet"
    assert custom_field_key_from_label("2-й телефон") == "f_2_i_telefon"
    assert custom_field_key_from_label("!!!") == ""


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"key": "Bad Key"}, "key"),
        ({"key": "1abc"}, "key"),
        ({"key": "ключ"}, "key"),
        ({"label": "!!!"}, "key"),
        ({"label": ""}, "label"),
        ({"field_type": "choice"}, "choices"),
        ({"field_type": "choice", "choices": "Да\nда"}, "choices"),
        ({"field_type": "multi_choice", "choices": ["A", "B", "a"]}, "choices"),
        ({"field_type": "blob"}, "field_type"),
        ({"entity": "lead"}, "entity"),
        ({"entity": "company", "client_types": ["private"]}, "client_types"),
        ({"position": -1}, "position"),
    ],
)
def test_refuses_bad_definitions(org, data, field):
    with pytest.raises(ValidationFailed) as error:
        _field(org, **data)
    assert field in error.value.field_errors
    assert not CustomField.objects.exists()


def test_keys_are_unique_per_entity(org):
    # given
    _field(org, key="budget")
    # when / then: another contact field with the same key is refused
    with pytest.raises(ValidationFailed) as error:
        _field(org, key="Budget", label="Другой")
    assert "key" in error.value.field_errors
    # but a company field may use it
    assert _field(org, key="budget", entity="company").entity == "company"


def test_type_cannot_change_once_values_are_stored(org):
    # given
    field = _field(org, key="budget")
    make_contact(org.manager, custom={"budget": 100})
    # when
    with pytest.raises(ValidationFailed) as error:
        custom_field_save(actor=org.admin, field=field, field_type="text")
    # then
    assert "field_type" in error.value.field_errors
    field.refresh_from_db()
    assert field.field_type == "number"


def test_type_and_key_may_change_while_no_values_are_stored(org):
    # given
    field = _field(org, key="budget")
    # when
    custom_field_save(actor=org.admin, field=field, field_type="text", key="budget_text")
    # then
    field.refresh_from_db()
    assert (field.field_type, field.key) == ("text", "budget_text")


def test_label_and_options_may_change_with_stored_values(org):
    # given
    field = _field(org, key="color", field_type="choice", choices=["Red"])
    make_contact(org.manager, custom={"color": "Red"})
    # when
    custom_field_save(
        actor=org.admin, field=field, label="Цвет", choices=["Red", "Blue"], is_required=True
    )
    # then
    field.refresh_from_db()
    assert (field.label, field.choices, field.is_required) == ("Цвет", ["Red", "Blue"], True)


@pytest.mark.parametrize("role", ["head", "manager", "viewer"])
def test_only_an_administrator_defines_fields(org, role):
    with pytest.raises(PermissionDenied):
        custom_field_save(actor=getattr(org, role), entity="contact", label="X", field_type="text")
    assert not CustomField.objects.exists()


def test_deactivated_field_keeps_values_and_is_no_longer_required(org):
    # given: a required field with a stored value
    field = _field(org, key="budget", is_required=True)
    kept = make_contact(org.manager, custom={"budget": 5})
    # when
    custom_field_deactivate(actor=org.admin, field=field)
    # then: a new contact without the value is accepted, and the old value stays
    field.refresh_from_db()
    assert not field.is_active
    assert make_contact(org.manager, first_name="Пётр").custom == {}
    assert Contact.objects.get(pk=kept.pk).custom == {"budget": 5}


def test_active_required_field_is_enforced(org):
    # given
    _field(org, key="budget", is_required=True)
    # when / then
    with pytest.raises(ValidationFailed):
        make_contact(org.manager, first_name="Пётр")


# --- pages ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "status"),
    [("anonymous", 302), ("viewer", 403), ("manager", 403), ("head", 403), ("admin", 200)],
)
@pytest.mark.parametrize("name", ["customers:custom_field_list", "customers:custom_field_create"])
def test_pages_are_for_administrators(org, role, status, name):
    client = client_for(None if role == "anonymous" else getattr(org, role))
    assert client.get(reverse(name)).status_code == status


def test_list_shows_the_fields_of_one_entity(org):
    # given
    _field(org, label="Бюджет контакта")
    _field(org, label="Оборот компании", entity="company")
    # when
    response = client_for(org.admin).get(
        reverse("customers:custom_field_list"), {"entity": "company"}
    )
    # then
    body = response.content.decode()
    assert "Оборот компании" in body
    assert "Бюджет контакта" not in body


def test_create_through_the_form(org):
    # when
    response = client_for(org.admin).post(
        reverse("customers:custom_field_create"),
        {
            "entity": "company",
            "label": "Отрасль <b>",
            "key": "",
            "field_type": "multi_choice",
            "choices": "Розница\nОпт",
            "client_types": ["business"],
            "is_required": "on",
            "help_text": "",
            "position": "3",
            "is_active": "on",
        },
    )
    # then
    assert response.status_code == 302
    field = CustomField.objects.get()
    assert (field.key, field.entity, field.choices) == ("otrasl_b", "company", ["Розница", "Опт"])
    assert field.client_types == ["business"] and field.is_required and field.position == 3
    listing = client_for(org.admin).get(response["Location"]).content.decode()
    assert "Отрасль &lt;b&gt;" in listing


def test_form_errors_answer_422(org):
    response = client_for(org.admin).post(
        reverse("customers:custom_field_create"),
        {
            "entity": "contact",
            "label": "Цвет",
            "field_type": "choice",
            "choices": "",
            "position": "0",
        },
    )
    assert response.status_code == 422
    assert response.context["form"].errors["choices"]
    assert "is-invalid" in response.content.decode()


def test_edit_and_deactivate_through_the_form(org):
    # given
    field = _field(org, key="budget")
    client = client_for(org.admin)
    url = reverse("customers:custom_field_edit", args=[field.pk])
    # when
    page = client.get(url)
    response = client.post(url, {"action": "deactivate"})
    # then
    assert page.status_code == 200
    assert response.status_code == 302
    field.refresh_from_db()
    assert not field.is_active


def test_edit_page_of_a_missing_field_is_404(org):
    response = client_for(org.admin).get(reverse("customers:custom_field_edit", args=[999]))
    assert response.status_code == 404
