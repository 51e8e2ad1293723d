"""The contact pages: list, card, form, duplicate handling and sharing."""

from __future__ import annotations

import pytest
from django.urls import reverse

from conftest import client_for
from crm.activities.choices import EntryKind
from crm.activities.models import TimelineEntry
from crm.customers.models import Contact, CustomField
from crm.customers.tests.factories import make_company, make_contact

pytestmark = pytest.mark.django_db


def _form(**overrides):
    """A complete POST of the contact form, as the browser sends it."""
    data = {
        "last_name": "Петров",
        "first_name": "Пётр",
        "middle_name": "",
        "client_type": "private",
        "birthday": "",
        "preferences": "",
        "notes": "",
        "source": "",
        "owner_id": "",
        "tags": "",
        "phone_value": [""],
        "phone_label": ["mobile"],
        "email_value": [""],
        "email_label": ["work"],
        "messenger_messenger": ["telegram"],
        "messenger_value": [""],
        "messenger_label": ["work"],
        "address_kind": ["actual"],
        "address_text": [""],
        "employment_company_id": [""],
        "employment_position": [""],
    }
    data.update(overrides)
    return data


def _detail(contact):
    return reverse("customers:contact_detail", args=[contact.pk])


def _edit(contact):
    return reverse("customers:contact_edit", args=[contact.pk])


# --- permissions ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url_name", ["customers:contact_list", "customers:contact_create", "customers:search"]
)
def test_anonymous_is_sent_to_login(org, url_name):
    # given no session
    # when an anonymous visitor opens the page
    response = client_for(None).get(reverse(url_name))
    # then they are redirected to the sign-in form
    assert response.status_code == 302
    assert reverse("accounts:login") in response["Location"]


def test_anonymous_card_and_edit_redirect_to_login(org):
    contact = make_contact(org.manager)
    for url in (_detail(contact), _edit(contact)):
        response = client_for(None).get(url)
        assert response.status_code == 302
        assert reverse("accounts:login") in response["Location"]


@pytest.mark.parametrize(
    ("username", "owner", "expected"),
    [
        ("manager", "manager", 200),
        ("manager", "colleague", 404),
        ("manager", "outsider", 404),
        ("head", "colleague", 200),
        ("head", "outsider", 404),
        ("viewer", "colleague", 200),
        ("viewer", "outsider", 404),
        ("admin", "outsider", 200),
        ("outsider", "manager", 404),
    ],
)
def test_card_visibility_matrix(org, username, owner, expected):
    # given a contact owned by one user
    contact = make_contact(getattr(org, owner), first_name="Сергей", last_name="Видимов")
    # when another user opens its card
    response = client_for(getattr(org, username)).get(_detail(contact))
    # then they see it only within their scope; otherwise it does not exist
    assert response.status_code == expected


@pytest.mark.parametrize(
    ("username", "owner", "expected"),
    [
        ("manager", "manager", 200),
        ("manager", "colleague", 404),
        ("head", "colleague", 200),
        ("head", "outsider", 404),
        ("viewer", "colleague", 403),
        ("admin", "outsider", 200),
    ],
)
def test_edit_page_matrix(org, username, owner, expected):
    contact = make_contact(getattr(org, owner))
    response = client_for(getattr(org, username)).get(_edit(contact))
    assert response.status_code == expected


def test_list_shows_only_visible_contacts(org):
    # given contacts of a manager, a colleague and an outsider
    make_contact(org.manager, first_name="Мой", last_name="Контакт")
    make_contact(org.colleague, first_name="Чужой", last_name="Коллегин")
    make_contact(org.outsider, first_name="Дальний", last_name="Питерский")
    # when each opens the list
    as_manager = client_for(org.manager).get(reverse("customers:contact_list")).content.decode()
    as_head = client_for(org.head).get(reverse("customers:contact_list")).content.decode()
    as_admin = client_for(org.admin).get(reverse("customers:contact_list")).content.decode()
    # then each sees their scope
    assert "Контакт" in as_manager and "Коллегин" not in as_manager
    assert "Коллегин" in as_head and "Питерский" not in as_head
    assert "Питерский" in as_admin


def test_shared_contact_is_visible_to_the_manager(org):
    contact = make_contact(org.colleague, first_name="Общий", last_name="Клиент")
    contact.shared_with.add(org.manager)
    assert client_for(org.manager).get(_detail(contact)).status_code == 200
    listing = client_for(org.manager).get(reverse("customers:contact_list")).content.decode()
    assert "Клиент" in listing


def test_viewer_sees_no_new_button_and_gets_403_on_create(org):
    listing = client_for(org.viewer).get(reverse("customers:contact_list")).content.decode()
    assert reverse("customers:contact_create") not in listing
    assert client_for(org.viewer).get(reverse("customers:contact_create")).status_code == 403
    response = client_for(org.viewer).post(reverse("customers:contact_create"), _form())
    assert response.status_code == 403
    assert not Contact.objects.exists()


def test_viewer_cannot_post_an_edit(org):
    contact = make_contact(org.colleague)
    response = client_for(org.viewer).post(_edit(contact), _form(first_name="Взлом"))
    assert response.status_code == 403
    contact.refresh_from_db()
    assert contact.first_name == "Иван"


def test_manager_cannot_edit_another_managers_contact(org):
    contact = make_contact(org.colleague)
    response = client_for(org.manager).post(_edit(contact), _form(first_name="Взлом"))
    assert response.status_code == 404
    contact.refresh_from_db()
    assert contact.first_name == "Иван"


# --- list -------------------------------------------------------------------------------------


def test_list_query_count_does_not_grow_with_rows(org, django_assert_num_queries):
    # given one contact with a phone, e-mail, tag and company
    company = make_company(org.manager, legal_name="Альфа")

    def add(index):
        make_contact(
            org.manager,
            first_name=f"Имя{index}",
            last_name=f"Фамилия{index}",
            phones=[{"value": f"+7 912 000-00-{index:02d}"}],
            emails=[f"c{index}@example.ru"],
            tags=["vip"],
            employments=[{"company_id": company.pk, "position": "CEO"}],
        )

    add(0)
    client = client_for(org.manager)
    url = reverse("customers:contact_list")
    client.get(url)
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as one:
        assert client.get(url).status_code == 200
    # when nine more are added
    for index in range(1, 10):
        add(index)
    # then the page costs the same number of queries
    with django_assert_num_queries(len(one.captured_queries)):
        response = client.get(url)
    assert response.content.decode().count("Фамилия") == 10


def test_list_filters_and_pagination(org):
    # given 55 contacts, one of them tagged and from an exhibition
    for index in range(55):
        make_contact(org.manager, first_name=f"Клиент{index}", last_name="Списков")
    make_contact(
        org.manager, first_name="Особый", last_name="Тегов", tags=["vip"], source="exhibition"
    )
    client = client_for(org.manager)
    # when the first page is opened
    first = client.get(reverse("customers:contact_list"), {"sort": "name"})
    # then it shows 50 rows and a next-page link carrying the cursor and the sort
    assert first.content.decode().count("Списков") + first.content.decode().count("Тегов") == 50
    next_url = first.context["next_url"]
    assert "cursor=" in next_url and "sort=name" in next_url
    second = client.get(reverse("customers:contact_list") + next_url)
    assert second.status_code == 200
    assert len(second.context["page"].items) == 6
    # and the filters narrow the list
    tagged = client.get(reverse("customers:contact_list"), {"tag": "VIP"}).context["page"].items
    assert [c.first_name for c in tagged] == ["Особый"]
    sourced = client.get(reverse("customers:contact_list"), {"source": "exhibition"})
    assert [c.first_name for c in sourced.context["page"].items] == ["Особый"]


def test_list_filters_by_phone_digits_and_company(org):
    company = make_company(org.manager, legal_name="Бета")
    make_contact(org.manager, first_name="Телефонный", phones=["+7 912 345-67-89"])
    make_contact(
        org.manager, first_name="Работник", employments=[{"company_id": company.pk, "position": ""}]
    )
    client = client_for(org.manager)
    by_phone = client.get(reverse("customers:contact_list"), {"q": "4567 89"}).context["page"]
    assert [c.first_name for c in by_phone.items] == ["Телефонный"]
    by_company = client.get(reverse("customers:contact_list"), {"company": company.pk})
    assert [c.first_name for c in by_company.context["page"].items] == ["Работник"]


def test_list_with_a_broken_cursor_answers_400_not_500(org):
    response = client_for(org.manager).get(reverse("customers:contact_list"), {"cursor": "@@@"})
    assert response.status_code == 400


def test_list_ignores_malformed_filters(org):
    make_contact(org.manager)
    response = client_for(org.manager).get(
        reverse("customers:contact_list"),
        {"owner": "99999999999999999999999", "company": "x", "sort": "drop table"},
    )
    assert response.status_code == 200


# --- card -------------------------------------------------------------------------------------


def test_card_shows_all_fields_completeness_and_timeline(org):
    # given a contact with everything filled and a required custom field left empty
    CustomField.objects.create(
        entity="contact", key="budget", label="Бюджет", field_type="number", is_required=False
    )
    company = make_company(org.manager, legal_name="Гамма")
    contact = make_contact(
        org.manager,
        first_name="Анна",
        last_name="Полная",
        phones=[{"value": "+7 912 111-22-33", "label": "mobile"}],
        emails=[{"value": "anna@example.ru", "label": "work"}],
        messengers=[{"value": "@anna", "messenger": "telegram"}],
        addresses=[{"kind": "home", "text": "Москва, Тверская 1"}],
        birthday="1990-05-01",
        preferences="Звонить утром",
        source="referral",
        tags=["vip"],
        employments=[{"company_id": company.pk, "position": "Директор"}],
        custom={"budget": "150000"},
    )
    CustomField.objects.create(
        entity="contact",
        key="inn_personal",
        label="ИНН физлица",
        field_type="text",
        is_required=True,
    )
    contact.shared_with.add(org.colleague)
    # when the manager opens the card
    response = client_for(org.manager).get(_detail(contact))
    html = response.content.decode()
    # then every field is there, with the completeness block and the timeline context
    assert response.status_code == 200
    for text in (
        "+7 912 111-22-33",
        "anna@example.ru",
        "@anna",
        "Telegram",
        "Москва, Тверская 1",
        "Звонить утром",
        "vip",
        "Директор",
        "Гамма",
        "Бюджет",
        "150000",
        str(org.colleague),
    ):
        assert text in html, text
    assert reverse("customers:company_detail", args=[company.pk]) in html
    assert response.context["entity"] == "contact"
    assert response.context["record"] == contact
    assert response.context["timeline_page"].items[0].kind == EntryKind.CREATED
    assert "ИНН физлица" in response.context["completeness"].missing_required
    assert "text-bg-danger" in html
    assert reverse("customers:contact_edit", args=[contact.pk]) in html


def test_viewer_card_has_no_edit_button(org):
    contact = make_contact(org.colleague)
    html = client_for(org.viewer).get(_detail(contact)).content.decode()
    assert reverse("customers:contact_edit", args=[contact.pk]) not in html


def test_script_in_a_name_is_escaped_in_list_and_card(org):
    # given a contact whose name is an HTML payload
    contact = make_contact(org.manager, first_name="<script>alert(1)</script>", last_name="X")
    client = client_for(org.manager)
    # when the list and the card are rendered
    listing = client.get(reverse("customers:contact_list")).content.decode()
    card = client.get(_detail(contact)).content.decode()
    # then the payload appears only escaped
    for html in (listing, card):
        assert "<script>alert(1)</script>" not in html
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


# --- create and edit --------------------------------------------------------------------------


def test_create_saves_all_rows_and_redirects_to_the_card(org):
    # given the form filled in with two phones, a messenger, an address and a place of work
    company = make_company(org.manager, legal_name="Дельта")
    data = _form(
        phone_value=["8 912 345-67-89", "+7 495 123-45-67"],
        phone_label=["mobile", "work"],
        email_value=["Petr@Example.RU"],
        messenger_messenger=["whatsapp"],
        messenger_value=["+79123456789"],
        address_kind=["home"],
        address_text=["Казань"],
        employment_company_id=[str(company.pk)],
        employment_position=["Снабженец"],
        tags="vip, опт",
        birthday="1985-02-03",
    )
    # when it is posted
    response = client_for(org.manager).post(reverse("customers:contact_create"), data)
    # then the contact is created with everything and the browser goes to the card
    assert response.status_code == 302
    contact = Contact.objects.get(first_name="Пётр")
    assert response["Location"] == _detail(contact)
    assert sorted(p.value for p in contact.points.filter(kind="phone")) == [
        "+74951234567",
        "+79123456789",
    ]
    assert contact.points.get(kind="email").value == "petr@example.ru"
    assert contact.addresses.get().text == "Казань"
    assert contact.employments.get().position == "Снабженец"
    assert sorted(t.name for t in contact.tags.all()) == ["vip", "опт"]
    assert contact.owner == org.manager


def test_new_contact_form_offers_only_assignable_owners(org):
    manager_form = client_for(org.manager).get(reverse("customers:contact_create"))
    assert [u for u, _label in manager_form.context["form"].fields["owner_id"].choices] == [
        str(org.manager.pk)
    ]
    head_form = client_for(org.head).get(reverse("customers:contact_create"))
    offered = {u for u, _label in head_form.context["form"].fields["owner_id"].choices}
    assert str(org.colleague.pk) in offered and str(org.outsider.pk) not in offered
    admin_form = client_for(org.admin).get(reverse("customers:contact_create"))
    offered = {u for u, _label in admin_form.context["form"].fields["owner_id"].choices}
    assert str(org.outsider.pk) in offered


def test_head_assigns_to_a_team_member(org):
    response = client_for(org.head).post(
        reverse("customers:contact_create"), _form(owner_id=str(org.colleague.pk))
    )
    assert response.status_code == 302
    assert Contact.objects.get().owner == org.colleague


def test_manager_cannot_assign_to_someone_else(org):
    response = client_for(org.manager).post(
        reverse("customers:contact_create"), _form(owner_id=str(org.colleague.pk))
    )
    assert response.status_code == 422
    assert not Contact.objects.exists()


def test_malformed_phone_and_email_are_shown_next_to_their_rows(org):
    # given a form with a good phone, a bad phone and a bad e-mail
    data = _form(
        phone_value=["+7 912 345-67-89", "12ab"],
        phone_label=["mobile", "work"],
        email_value=["not-an-email"],
    )
    # when it is posted
    response = client_for(org.manager).post(reverse("customers:contact_create"), data)
    # then nothing is saved and each message sits under its row
    assert response.status_code == 422
    assert not Contact.objects.exists()
    form = response.context["form"]
    assert form.groups["phones"].rows[0].errors == []
    assert form.groups["phones"].rows[1].errors
    assert form.groups["emails"].rows[0].errors
    html = response.content.decode()
    assert "is-invalid" in html and "12ab" in html


def test_overlong_name_is_refused_with_the_field_marked(org):
    response = client_for(org.manager).post(
        reverse("customers:contact_create"), _form(last_name="Щ" * 151)
    )
    assert response.status_code == 422
    assert response.context["form"].errors["last_name"]
    assert 'name="last_name"' in response.content.decode()
    assert not Contact.objects.exists()


def test_missing_last_and_first_name_is_refused(org):
    response = client_for(org.manager).post(
        reverse("customers:contact_create"), _form(first_name="", last_name="")
    )
    assert response.status_code == 422
    assert {"first_name", "last_name"} <= set(response.context["form"].errors)


@pytest.mark.parametrize(
    "name",
    [
        "Ан\u200bна",  # zero-width space
        "\u202eанна",  # right-to-left override
        "עִבְרִית",  # Hebrew, right to left
        "Zoë\u0301",  # combining accent
        "Иван\x00",  # NUL
    ],
)
def test_odd_unicode_in_names_never_breaks_the_pages(org, name):
    # when a name with odd Unicode is posted
    response = client_for(org.manager).post(
        reverse("customers:contact_create"), _form(first_name=name, last_name="Юникодов")
    )
    # then it is saved (control characters dropped) and the card and list render
    assert response.status_code == 302
    contact = Contact.objects.get(last_name="Юникодов")
    assert "\x00" not in contact.first_name
    assert client_for(org.manager).get(_detail(contact)).status_code == 200
    assert client_for(org.manager).get(reverse("customers:contact_list")).status_code == 200


def test_invisible_company_in_places_of_work_is_refused(org):
    foreign = make_company(org.outsider, legal_name="Чужая")
    response = client_for(org.manager).post(
        reverse("customers:contact_create"),
        _form(employment_company_id=[str(foreign.pk)], employment_position=["x"]),
    )
    assert response.status_code == 422
    assert response.context["form"].groups["employments"].errors
    assert not Contact.objects.exists()


def test_garbage_company_id_is_an_error_not_a_crash(org):
    response = client_for(org.manager).post(
        reverse("customers:contact_create"),
        _form(employment_company_id=["99999999999999999999999"], employment_position=["x"]),
    )
    assert response.status_code == 422
    assert response.context["form"].groups["employments"].rows[0].errors


def test_custom_fields_are_rendered_and_validated(org):
    # given a required number field and a choice field
    CustomField.objects.create(
        entity="contact", key="budget", label="Бюджет", field_type="number", is_required=True
    )
    CustomField.objects.create(
        entity="contact", key="size", label="Размер", field_type="choice", choices=["S", "M"]
    )
    client = client_for(org.manager)
    page = client.get(reverse("customers:contact_create")).content.decode()
    assert 'name="custom.budget"' in page and "Размер" in page
    # when a non-number is posted
    bad = client.post(reverse("customers:contact_create"), _form(**{"custom.budget": "много"}))
    # then the message sits next to the custom field
    assert bad.status_code == 422
    assert bad.context["form"].errors["custom.budget"]
    # and a good value is saved
    good = client.post(
        reverse("customers:contact_create"), _form(**{"custom.budget": "1 500", "custom.size": "M"})
    )
    assert good.status_code == 302
    assert Contact.objects.get().custom == {"budget": 1500, "size": "M"}


def test_edit_prefills_and_saves_changes_on_the_timeline(org):
    contact = make_contact(org.manager, first_name="Старое", phones=["+7 912 000-11-22"])
    client = client_for(org.manager)
    page = client.get(_edit(contact))
    assert page.context["form"]["first_name"].value() == "Старое"
    assert page.context["form"].groups["phones"].rows[0].values["value"] == "+7 912 000-11-22"
    response = client.post(
        _edit(contact),
        _form(
            record_id=str(contact.pk),
            first_name="Новое",
            last_name="Иванов",
            phone_value=["+7 912 000-11-22"],
            owner_id=str(org.manager.pk),
        ),
    )
    assert response.status_code == 302
    contact.refresh_from_db()
    assert contact.first_name == "Новое"
    assert TimelineEntry.objects.filter(subject_id=contact.pk, kind=EntryKind.FIELD_CHANGE).exists()


def test_add_person_preselects_the_company(org):
    company = make_company(org.manager, legal_name="Эпсилон")
    response = client_for(org.manager).get(
        reverse("customers:contact_create"), {"company": company.pk}
    )
    row = response.context["form"].groups["employments"].rows[0]
    assert row.values["company_id"] == str(company.pk)
    assert f'value="{company.pk}" selected' in response.content.decode()


# --- duplicates -------------------------------------------------------------------------------


def test_exact_duplicate_answers_409_with_a_link_then_save_anyway_records_it(org):
    # given an existing contact with a phone
    existing = make_contact(
        org.manager, first_name="Ольга", last_name="Дублева", phones=["+7 912 555-44-33"]
    )
    client = client_for(org.manager)
    data = _form(first_name="Оля", last_name="Дублева", phone_value=["8 (912) 555-44-33"])
    # when a new contact with the same phone is posted
    response = client.post(reverse("customers:contact_create"), data)
    # then it is refused with 409, a link to the existing record and the override checkbox
    assert response.status_code == 409
    html = response.content.decode()
    assert _detail(existing) in html
    assert 'name="allow_duplicate"' in html
    assert Contact.objects.count() == 1
    # when the user ticks "save anyway"
    response = client.post(reverse("customers:contact_create"), {**data, "allow_duplicate": "1"})
    # then it is created and the choice is on its timeline
    assert response.status_code == 302
    created = Contact.objects.exclude(pk=existing.pk).get()
    assert TimelineEntry.objects.filter(subject_id=created.pk, kind=EntryKind.SYSTEM).exists()


def test_exact_duplicate_owned_by_an_invisible_user_shows_only_the_owner(org):
    make_contact(
        org.outsider, first_name="Тайный", last_name="Клиент", emails=["secret@example.ru"]
    )
    response = client_for(org.manager).post(
        reverse("customers:contact_create"),
        _form(first_name="Tainyi", last_name="Klient", email_value=["secret@example.ru"]),
    )
    assert response.status_code == 409
    html = response.content.decode()
    assert "Тайный" not in html
    assert str(org.outsider) in html


def test_near_duplicate_asks_for_confirmation_before_saving(org):
    make_contact(org.manager, first_name="Александр", last_name="Пушкин")
    client = client_for(org.manager)
    data = _form(first_name="Александр", last_name="Пушкин")
    response = client.post(reverse("customers:contact_create"), data)
    assert response.status_code == 409
    assert 'name="confirm_near"' in response.content.decode()
    assert Contact.objects.count() == 1
    confirmed = client.post(reverse("customers:contact_create"), {**data, "confirm_near": "1"})
    assert confirmed.status_code == 302
    assert Contact.objects.count() == 2


def test_live_duplicate_check_lists_candidates(org):
    existing = make_contact(
        org.manager, first_name="Мария", last_name="Живая", emails=["maria@example.ru"]
    )
    response = client_for(org.manager).post(
        reverse("customers:contact_duplicate_check"),
        _form(first_name="Мария", last_name="Живая", email_value=["MARIA@example.ru"]),
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert _detail(existing) in html
    assert "text-bg-danger" in html  # an exact match blocks saving
    assert "allow_duplicate" not in html  # the confirmation comes with the refused save


def test_live_duplicate_check_ignores_its_own_record_when_editing(org):
    existing = make_contact(
        org.manager, first_name="Мария", last_name="Сама", emails=["m@example.ru"]
    )
    response = client_for(org.manager).post(
        reverse("customers:contact_duplicate_check"),
        _form(
            record_id=str(existing.pk),
            first_name="Мария",
            last_name="Сама",
            email_value=["m@example.ru"],
        ),
    )
    assert response.status_code == 200
    assert _detail(existing) not in response.content.decode()


@pytest.mark.parametrize(
    "payload",
    [
        {},
        {"phone_value": ["+7 (((", "9" * 60, "абв"], "email_value": ["@@", "x" * 300]},
        {"first_name": "\x00\u202e" * 50, "last_name": "<script>"},
        {"record_id": "99999999999999999999999999"},
        {"first_name": "А" * 10000},
    ],
)
def test_live_duplicate_check_never_fails(org, payload):
    response = client_for(org.manager).post(reverse("customers:contact_duplicate_check"), payload)
    assert response.status_code == 200


def test_live_duplicate_check_refuses_get_and_viewers(org):
    url = reverse("customers:contact_duplicate_check")
    assert client_for(org.manager).get(url).status_code == 405
    assert client_for(org.viewer).post(url, _form()).status_code == 403


# --- sharing ----------------------------------------------------------------------------------


def test_share_makes_the_contact_visible_to_the_chosen_user(org):
    contact = make_contact(org.manager, first_name="Делимый")
    client = client_for(org.manager)
    page = client.get(reverse("customers:contact_share", args=[contact.pk]))
    assert page.status_code == 200
    response = client.post(
        reverse("customers:contact_share", args=[contact.pk]), {"user_ids": [str(org.outsider.pk)]}
    )
    assert response.status_code == 302
    assert client_for(org.outsider).get(_detail(contact)).status_code == 200


def test_share_refused_to_viewer_and_invisible_to_others(org):
    contact = make_contact(org.colleague)
    url = reverse("customers:contact_share", args=[contact.pk])
    assert client_for(org.viewer).post(url, {"user_ids": [str(org.viewer.pk)]}).status_code == 403
    assert client_for(org.manager).post(url, {"user_ids": [str(org.manager.pk)]}).status_code == 404
    assert not contact.shared_with.exists()
