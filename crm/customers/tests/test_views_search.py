"""The search page and the navbar typeahead."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from conftest import client_for
from crm.customers.tests.factories import make_company, make_contact

pytestmark = pytest.mark.django_db


def test_anonymous_suggest_redirects_to_login(org):
    response = client_for(None).get(reverse("customers:search_suggest"), {"q": "ив"})
    assert response.status_code == 302


def test_empty_query_gives_an_empty_fragment(org):
    response = client_for(org.manager).get(reverse("customers:search_suggest"), {"q": "  "})
    assert response.status_code == 200
    assert response.content == b""


def test_suggest_lists_contacts_and_companies_with_phone_owner_and_links(org):
    contact = make_contact(
        org.manager, first_name="Глеб", last_name="Искомый", phones=["+7 912 777-66-55"]
    )
    company = make_company(org.manager, legal_name="Искомая фирма", phones=["+7 495 777-66-55"])
    response = client_for(org.manager).get(reverse("customers:search_suggest"), {"q": "иском"})
    html = response.content.decode()
    assert "list-group" in html
    assert reverse("customers:contact_detail", args=[contact.pk]) in html
    assert reverse("customers:company_detail", args=[company.pk]) in html
    assert "+7 912 777-66-55" in html and str(org.manager) in html
    assert f"{reverse('customers:search')}?q=" in html


def test_suggest_respects_the_scope(org):
    make_contact(org.outsider, first_name="Скрытый", last_name="Питерский")
    html = (
        client_for(org.manager)
        .get(reverse("customers:search_suggest"), {"q": "Питерский"})
        .content.decode()
    )
    assert "Питерский" not in html


def test_suggest_is_limited_to_eight_of_each(org):
    for index in range(10):
        make_contact(org.manager, first_name=f"Многий{index}", last_name="Повторов")
    response = client_for(org.manager).get(reverse("customers:search_suggest"), {"q": "Повторов"})
    assert len(response.context["results"]["contacts"]) == 8


def test_suggest_query_count_does_not_grow_with_results(org, django_assert_num_queries):
    make_contact(org.manager, first_name="Счёт0", last_name="Запросов", phones=["+7 912 100-00-00"])
    make_company(org.manager, legal_name="Запросов и сыновья")
    client = client_for(org.manager)
    url = reverse("customers:search_suggest")
    client.get(url, {"q": "Запросов"})
    with CaptureQueriesContext(connection) as one:
        client.get(url, {"q": "Запросов"})
    for index in range(1, 8):
        make_contact(
            org.manager,
            first_name=f"Счёт{index}",
            last_name="Запросов",
            phones=[f"+7 912 100-00-0{index}"],
            tags=["t"],
        )
    with django_assert_num_queries(len(one.captured_queries)):
        response = client.get(url, {"q": "Запросов"})
    assert len(response.context["results"]["contacts"]) == 8


def test_search_page_lists_both_kinds_and_escapes(org):
    make_contact(org.manager, first_name="<b>жирный</b>", last_name="Поисков")
    make_company(org.manager, legal_name="Поисков и партнёры")
    response = client_for(org.manager).get(reverse("customers:search"), {"q": "Поисков"})
    html = response.content.decode()
    assert response.status_code == 200
    assert "&lt;b&gt;жирный&lt;/b&gt;" in html and "<b>жирный" not in html
    assert "Поисков и партнёры" in html


@pytest.mark.parametrize("q", ["@", "%", "'\"", "\x00", "8", "+7", "a" * 500, "\u202e"])
def test_odd_queries_never_fail(org, q):
    client = client_for(org.manager)
    assert client.get(reverse("customers:search"), {"q": q}).status_code == 200
    assert client.get(reverse("customers:search_suggest"), {"q": q}).status_code == 200


def test_every_searchable_kind_of_the_registry_answers_in_its_own_section(org):
    from crm.core.records import registry

    make_contact(org.manager, first_name="Реестр", last_name="Поисков")
    make_company(org.manager, legal_name="Поисков и партнёры")
    response = client_for(org.manager).get(reverse("customers:search"), {"q": "Поисков"})
    sections = response.context["sections"]
    assert [kind.key for kind, _records in sections] == ["contact", "company"]
    assert [kind.key for kind in registry.searchable()] == ["contact", "company"]
    assert [len(records) for _kind, records in sections] == [1, 1]
