"""CSV exports follow the same visibility rule as the lists."""

import csv
import io

import pytest
from django.urls import reverse

from conftest import client_for
from crm.customers.tests.factories import make_company, make_contact

pytestmark = pytest.mark.django_db


def rows(response):
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.reader(io.StringIO(text)))


def test_export_has_only_visible_contacts(org):
    make_contact(org.manager, last_name="Свой", phones=["+79123456789"], tags=["VIP"])
    make_contact(org.outsider, last_name="Чужой")
    response = client_for(org.manager).get(reverse("customers:contact_export"))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    data = rows(response)
    assert len(data) == 2
    assert data[1][1] == "Свой"
    assert "+79123456789" in data[1]


def test_export_respects_filters(org):
    make_contact(org.admin, last_name="Первый", tags=["опт"])
    make_contact(org.admin, last_name="Второй")
    data = rows(client_for(org.admin).get(reverse("customers:contact_export"), {"tag": "опт"}))
    assert [row[1] for row in data[1:]] == ["Первый"]


def test_formulas_are_neutralised(org):
    make_contact(org.manager, last_name='=HYPERLINK("http://evil")', first_name="+cmd")
    data = rows(client_for(org.manager).get(reverse("customers:contact_export")))
    assert data[1][1].startswith("'=")
    assert data[1][2].startswith("'+")


def test_company_export_and_anonymous(org):
    make_company(org.manager, legal_name="Ромашка", inn="7707083893")
    data = rows(client_for(org.manager).get(reverse("customers:company_export")))
    assert data[1][1] == "Ромашка"
    assert data[1][5] == "7707083893"
    response = client_for(None).get(reverse("customers:company_export"))
    assert response.status_code == 302


def test_export_query_count_does_not_grow(org, django_assert_max_num_queries):
    for index in range(5):
        make_contact(org.manager, last_name=f"Контакт{index}", phones=[f"+7912345670{index}"])
    client = client_for(org.manager)
    with django_assert_max_num_queries(12):
        rows(client.get(reverse("customers:contact_export")))
