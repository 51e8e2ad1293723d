"""Web form settings: the list with counts, the editor with its rows of fields, bad input
named on its row or field, and the snippet and hosted page shown to copy."""

from __future__ import annotations

import html
import time

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from conftest import client_for
from crm.leads.models import WebForm
from crm.leads.services.webforms import snippet, webform_save

pytestmark = pytest.mark.django_db

ROWS = {
    "field_row": ["0", "1", "2"],
    "field_name": ["name", "phone", "budget"],
    "field_label": ["Имя", "Телефон", "Бюджет"],
    "field_type": ["text", "tel", "select"],
    "field_required": ["0", "1"],
    "field_options": ["", "", "до 100 000\nбольше\n"],
}


def editor_data(**overrides) -> dict:
    data = {
        "name": "Заявка с сайта",
        "allowed_origins": "https://shop.example.ru\nhttp://127.0.0.1:8765",
        "thank_you_text": "Спасибо!",
        "redirect_url": "",
        "min_fill_seconds": "2",
        "is_active": "on",
        **ROWS,
    }
    data.update(overrides)
    return data


def test_create_a_form_with_its_rows_in_order(org):
    client = client_for(org.admin)
    response = client.post(reverse("leads:webform_create"), editor_data())
    form = WebForm.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("leads:webform_edit", args=[form.pk])
    assert [field["name"] for field in form.fields] == ["name", "phone", "budget"]
    assert form.fields[2] == {
        "name": "budget",
        "label": "Бюджет",
        "type": "select",
        "required": False,
        "options": ["до 100 000", "больше"],
    }
    assert form.fields[0]["required"] and form.fields[1]["required"]
    assert form.allowed_origins == ["http://127.0.0.1:8765", "https://shop.example.ru"]
    assert form.min_fill_seconds == 2 and form.is_active and form.created_by == org.admin


def test_edit_reorders_removes_and_adds_rows_and_blank_rows_are_ignored(org):
    form = webform_save(
        actor=org.admin,
        name="Форма",
        fields=[
            {"name": "name", "label": "Имя"},
            {"name": "phone", "label": "Телефон", "type": "tel"},
        ],
    )
    data = editor_data(
        field_name=["phone", "email", "", "comment"],
        field_label=["Телефон", "Почта", "", "Комментарий"],
        field_type=["tel", "email", "text", "textarea"],
        field_row=["0", "1", "new", "added-1"],
        field_required=["0", "added-1"],
        field_options=["", "", "", ""],
        is_active="",
    )
    response = client_for(org.admin).post(reverse("leads:webform_edit", args=[form.pk]), data)
    assert response.status_code == 302
    form.refresh_from_db()
    assert [field["name"] for field in form.fields] == ["phone", "email", "comment"]
    assert [field["required"] for field in form.fields] == [True, False, True]
    assert not form.is_active


@pytest.mark.parametrize(
    ("overrides", "row", "column"),
    [
        ({"field_name": ["name", "phone", "phone"]}, 2, "name"),
        ({"field_name": ["name", "Телефон", "budget"]}, 1, "name"),
        ({"field_label": ["Имя", "Телефон", "Б" * 151]}, 2, "label"),
    ],
)
def test_bad_rows_are_named_on_their_row(org, overrides, row, column):
    response = client_for(org.admin).post(reverse("leads:webform_create"), editor_data(**overrides))
    assert response.status_code == 422
    rows = response.context["rows"]
    assert [index for index, item in enumerate(rows) if item.errors] == [row]
    assert list(rows[row].errors) == [column]
    assert "is-invalid" in response.content.decode()
    assert not WebForm.objects.exists()


def test_an_unknown_field_type_in_the_post_is_read_as_text(org):
    response = client_for(org.admin).post(
        reverse("leads:webform_create"), editor_data(field_type=["text", "tel", "<script>"])
    )
    assert response.status_code == 302
    assert WebForm.objects.get().fields[2]["type"] == "text"


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"allowed_origins": "shop.example.ru"}, "allowed_origins"),
        ({"allowed_origins": "https://ok.ru javascript:alert(1)"}, "allowed_origins"),
        ({"min_fill_seconds": "99"}, "min_fill_seconds"),
        ({"redirect_url": "ftp://example.ru"}, "redirect_url"),
        ({"name": ""}, "name"),
    ],
)
def test_bad_settings_are_named_on_their_field(org, overrides, field):
    response = client_for(org.admin).post(reverse("leads:webform_create"), editor_data(**overrides))
    assert response.status_code == 422
    assert list(response.context["form"].errors) == [field]
    assert not WebForm.objects.exists()


def test_a_form_without_a_way_to_reach_the_person_is_refused_above_the_rows(org):
    response = client_for(org.admin).post(
        reverse("leads:webform_create"),
        editor_data(
            field_name=["name", "budget"],
            field_label=["Имя", "Бюджет"],
            field_type=["text", "text"],
            field_row=["0", "1"],
            field_required=["0"],
            field_options=["", ""],
        ),
    )
    assert response.status_code == 422
    assert response.context["fields_errors"] and "data-fields-error" in response.content.decode()
    assert not WebForm.objects.exists()


def test_the_editor_shows_the_escaped_snippet_the_hosted_page_and_the_counts(
    org, django_capture_on_commit_callbacks
):
    form = webform_save(
        actor=org.admin,
        name="<b>Форма</b>",
        fields=[{"name": "phone", "label": "Телефон <i>", "type": "tel", "required": True}],
        allowed_origins=["https://shop.example.ru"],
        min_fill_seconds=0,
    )
    with django_capture_on_commit_callbacks(execute=True):
        Client().post(
            f"/f/{form.key}",
            {"phone": "+79120000001", "_ts": str(int((time.time() - 10) * 1000))},
            HTTP_ORIGIN="https://shop.example.ru",
            HTTP_ACCEPT="application/json",
        )
    Client().post(f"/f/{form.key}", {"phone": "+79120000002", "_hp": "bot"})
    client = client_for(org.admin)
    page = client.get(reverse("leads:webform_edit", args=[form.pk])).content.decode()
    expected = html.escape(snippet(form, base_url=settings.CRM_BASE_URL), quote=True)
    assert expected in page
    assert "<b>Форма</b>" not in page and "&lt;form class=" in page
    assert f"{settings.CRM_BASE_URL}/f/{form.key}" in page and "data-copy" in page
    edited = client.get(reverse("leads:webform_edit", args=[form.pk])).context["webform"]
    assert (edited.submission_count, edited.spam_count, edited.lead_count) == (1, 1, 1)
    listing = client.get(reverse("leads:webform_list"))
    assert [
        (f.submission_count, f.spam_count, f.lead_count) for f in listing.context["webforms"]
    ] == [(1, 1, 1)]


def test_a_new_form_starts_with_useful_rows(org):
    page = client_for(org.admin).get(reverse("leads:webform_create"))
    assert [row.name for row in page.context["rows"]] == ["name", "phone", "email", "message"]
    assert "field-row-template" in page.content.decode()


@pytest.mark.parametrize("who", ["head", "manager", "viewer"])
def test_only_the_administrator_edits_forms(org, who):
    form = webform_save(actor=org.admin, name="Форма", fields=[{"name": "phone", "type": "tel"}])
    client = client_for(getattr(org, who))
    assert client.get(reverse("leads:webform_edit", args=[form.pk])).status_code == 403
    assert client.post(reverse("leads:webform_create"), editor_data()).status_code == 403
    response = client.post(reverse("leads:webform_edit", args=[form.pk]), editor_data(name="X"))
    assert response.status_code == 403
    form.refresh_from_db()
    assert form.name == "Форма" and WebForm.objects.count() == 1
    assert client_for(None).get(reverse("leads:webform_edit", args=[form.pk])).status_code == 302
    assert (
        client_for(org.admin).get(reverse("leads:webform_edit", args=[999999])).status_code == 404
    )
