"""Exact query-count baselines of the customer pages: the same pinned number of queries for
one row and for fifty (varied owners, tags, places of work, shares, timeline entries)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from conftest import client_for
from crm.core.tests.baselines import keyset_list_of_fifty, one_then_fifty, read_pinned
from crm.customers.choices import Entity
from crm.customers.models import BulkReassignment, CustomField
from crm.customers.services import customer_share, customer_timeline_add, duplicates_scan
from crm.customers.tests.factories import make_company, make_contact
from crm.planner.tests.factories import make_task
from crm.sales.tests.factories import make_deal

pytestmark = pytest.mark.django_db

SURNAMES = [
    f"Фамилия{chr(ord('А') + index // 26)}{chr(ord('а') + index % 26)}" for index in range(50)
]


def _owners(org):
    return (org.manager, org.colleague, org.head)


def _workplace(org, legal_name="Альфа"):
    """A company of the manager that the colleague may also see (so both can employ at it)."""
    company = make_company(org.manager, legal_name=legal_name)
    customer_share(actor=org.manager, record=company, user_ids=[org.colleague.pk])
    return company


def _contact(org, index, company):
    owner = _owners(org)[index % 3]
    contact = make_contact(
        owner,
        first_name=f"Имя{index}",
        last_name=SURNAMES[index],
        phones=[f"+7 912 000-{index // 100:02d}-{index % 100:02d}"],
        emails=[f"c{index}@example.ru"],
        tags=["vip", f"тег{index % 4}"],
        employments=[{"company_id": company.pk, "position": "Директор"}],
    )
    customer_share(actor=owner, record=contact, user_ids=[org.viewer.pk])
    return contact


def _company(org, index):
    owner = _owners(org)[index % 3]
    company = make_company(
        owner,
        legal_name=f"Компания {SURNAMES[index]}",
        phones=[f"+7 495 000-{index // 100:02d}-{index % 100:02d}"],
        tags=["опт", f"тег{index % 4}"],
    )
    customer_share(actor=owner, record=company, user_ids=[org.viewer.pk])
    return company


def test_contact_list(org, django_assert_num_queries):
    company = _workplace(org)
    client, url = client_for(org.head), reverse("customers:contact_list")
    keyset_list_of_fifty(
        client, url, lambda index: _contact(org, index, company), 8, django_assert_num_queries
    )


def test_company_list(org, django_assert_num_queries):
    client, url = client_for(org.head), reverse("customers:company_list")
    keyset_list_of_fifty(
        client, url, lambda index: _company(org, index), 7, django_assert_num_queries
    )


def _around_contact(org, contact, index):
    """One of each thing the contact card lists: a timeline entry, a task, a deal."""
    author = (org.manager, org.head)[index % 2]
    customer_timeline_add(actor=author, record=contact, kind="note", body=f"Заметка {index}")
    make_task(author, subject=contact, title=f"Позвонить {index}")
    make_deal(author, contact=contact, title=f"Сделка {index}")


def test_contact_card(org, django_assert_num_queries):
    company = _workplace(org)
    contact = _contact(org, 0, company)
    client = client_for(org.head)
    url = reverse("customers:contact_detail", args=[contact.pk])
    response = one_then_fifty(
        lambda index: _around_contact(org, contact, index),
        14,
        lambda: client.get(url),
        django_assert_num_queries,
    )
    assert response.content.decode().count("Сделка ") == 50


def test_company_card(org, django_assert_num_queries):
    company = _company(org, 0)
    customer_share(actor=org.manager, record=company, user_ids=[org.colleague.pk])
    client = client_for(org.head)
    url = reverse("customers:company_detail", args=[company.pk])

    def around(index):
        _contact(org, index, company)
        author = (org.manager, org.head)[index % 2]
        customer_timeline_add(actor=author, record=company, kind="call", title=f"Звонок {index}")
        make_task(author, subject=company, title=f"Позвонить {index}")
        make_deal(author, company=company, title=f"Сделка {index}")

    response = one_then_fifty(around, 16, lambda: client.get(url), django_assert_num_queries)
    assert response.content.decode().count("Сделка ") == 50


# The timeline page finds its record through the kind's policy alone (no card prefetches).
@pytest.mark.parametrize(("entity", "queries"), [("contact", 5), ("company", 6)])
def test_timeline_page(org, entity, queries, django_assert_num_queries):
    company = _workplace(org)
    record = company if entity == "company" else _contact(org, 0, company)
    client = client_for(org.head)
    url = reverse("activities:timeline_page", args=[entity, record.pk])

    def add(index):
        author = (org.manager, org.head)[index % 2]
        customer_timeline_add(actor=author, record=record, kind="note", body=f"Заметка {index}")

    one_then_fifty(add, queries, lambda: client.get(url), django_assert_num_queries)


def test_duplicates_page(org, django_assert_num_queries):
    company = _workplace(org)
    client, url = client_for(org.head), reverse("customers:duplicates")

    def pair(index):
        make_contact(
            _owners(org)[index % 3],
            last_name=SURNAMES[index],
            first_name="Олег",
            phones=[f"+7 916 000-{index // 100:02d}-{index % 100:02d}"],
            tags=[f"тег{index % 4}"],
            employments=[{"company_id": company.pk}],
        )
        make_contact(org.colleague, last_name=SURNAMES[index], first_name="Олег")

    pair(0)
    duplicates_scan(entity=Entity.CONTACT)
    read_pinned(lambda: client.get(url), 8, django_assert_num_queries)
    for index in range(1, 50):
        pair(index)
    duplicates_scan(entity=Entity.CONTACT)
    response = read_pinned(lambda: client.get(url), 8, django_assert_num_queries)
    assert len(response.context["page"].items) == 50


@pytest.mark.parametrize("page", ["customers:search", "customers:search_suggest"])
def test_search_page_and_suggestions(org, page, django_assert_num_queries):
    company = _workplace(org, "Поисковая")
    client, url = client_for(org.head), reverse(page)

    def add(index):
        owner = _owners(org)[index % 3]
        make_contact(
            owner,
            first_name=f"Имя{index}",
            last_name="Поисковый",
            phones=[f"+7 912 300-{index // 100:02d}-{index % 100:02d}"],
            tags=["vip"],
            employments=[{"company_id": company.pk}],
        )
        make_company(owner, legal_name=f"Поисковая {index}")

    one_then_fifty(add, 9, lambda: client.get(url, {"q": "Поисков"}), django_assert_num_queries)


def test_custom_field_list(org, django_assert_num_queries):
    client, url = client_for(org.admin), reverse("customers:custom_field_list")

    def add(index):
        CustomField.objects.create(
            entity=("contact", "company")[index % 2],
            key=f"f{index}",
            label=f"Поле {index}",
            field_type="text",
        )

    one_then_fifty(add, 3, lambda: client.get(url), django_assert_num_queries)


def test_reassign_page(org, django_assert_num_queries):
    client, url = client_for(org.admin), reverse("customers:reassign")

    def add(index):
        BulkReassignment.objects.create(
            actor=(org.admin, org.head)[index % 2],
            from_user=_owners(org)[index % 3],
            to_user=_owners(org)[(index + 1) % 3],
            status=("queued", "running", "done")[index % 3],
            total=index,
        )

    one_then_fifty(add, 5, lambda: client.get(url), django_assert_num_queries)
