"""List endpoints cost the same number of queries for one row and for ten."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from crm.accounts.tests.factories import UserFactory
from crm.api.tests.conftest import ApiClient, token_for
from crm.customers.models import CustomField
from crm.customers.services import customer_share, customer_timeline_add
from crm.customers.tests.factories import make_company, make_contact

pytestmark = pytest.mark.django_db


def _rich_contact(owner, company, index):
    contact = make_contact(
        owner,
        first_name=f"Имя{index}",
        phones=[f"+7916000{index:04}"],
        emails=[f"c{index}@example.com"],
        messengers=[{"value": f"@c{index}", "messenger": "telegram"}],
        addresses=[{"kind": "postal", "text": f"Улица {index}"}],
        tags=[f"тег{index}", "общий"],
        employments=[{"company_id": company.pk, "position": "Менеджер"}],
    )
    customer_timeline_add(actor=owner, record=contact, kind="note", body=f"Заметка {index}")
    return contact


def _rich_company(owner, index):
    return make_company(
        owner,
        legal_name=f"Компания {index}",
        phones=[f"+7495000{index:04}"],
        addresses=[{"kind": "legal", "text": f"Проспект {index}"}],
        tags=["опт"],
    )


def _count(client, path):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(path, limit=200)
    assert response.status_code == 200, response.content
    body = response.json()
    return len(queries), len(body["items"] if isinstance(body, dict) else body)


@pytest.mark.parametrize(
    "path", ["/contacts", "/companies", "/users", "/custom-fields", "contact-timeline", "people"]
)
def test_list_query_count_does_not_grow_with_rows(org, path, django_assert_num_queries):
    client = ApiClient(token_for(org.head))
    company = _rich_company(org.manager, 0)
    first = _rich_contact(org.manager, company, 0)
    resolve = {
        "contact-timeline": f"/contacts/{first.pk}/timeline",
        "people": f"/companies/{company.pk}/people",
    }
    url = resolve.get(path, path)
    client.get(url)  # warm caches (content types, the token's last use)
    one, rows_before = _count(client, url)
    customer_share(actor=org.manager, record=company, user_ids=[org.colleague.pk])

    for index in range(1, 10):
        _rich_company(org.colleague, index)
        contact = _rich_contact(org.colleague, company, index)
        customer_share(actor=org.colleague, record=contact, user_ids=[org.manager.pk])
        customer_timeline_add(actor=org.manager, record=first, kind="call", title=f"#{index}")
        UserFactory()
        CustomField.objects.create(
            entity="contact", key=f"f{index}", label=f"Поле {index}", field_type="text"
        )
    with django_assert_num_queries(one):
        response = client.get(url, limit=200)

    body = response.json()
    assert len(body["items"] if isinstance(body, dict) else body) > rows_before
