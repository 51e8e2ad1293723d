"""Segments' contacts and counts: each filter alone, together, within the viewer's scope,
and the recipients' page at a constant number of queries."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from crm.customers.models import Contact, ContactPoint
from crm.customers.services.custom_fields import custom_field_save
from crm.customers.tests.factories import make_company
from crm.mailings.selectors import segment_contacts, segment_count, segment_recipients
from crm.mailings.spec import spec_clean
from crm.mailings.tests.conftest import contact_with, email_of
from crm.sales.models import DealLine
from crm.sales.tests.factories import make_deal, make_product


def names(user, **raw) -> set[str]:
    return set(
        segment_contacts(user=user, spec=spec_clean(raw)).values_list("last_name", flat=True)
    )


def line(deal, product):
    return DealLine.objects.create(
        deal=deal, product=product, name=product.name, price=1, total=1, vat_amount=0
    )


@pytest.fixture
def base(org):
    """A small base of the manager's, each contact passing one filter."""
    m = org.manager
    company = make_company(m, legal_name="Опт-Торг", tags=["Опт"], source="exhibition")
    return {
        "vip": contact_with(m, last_name="Вип", tags=["VIP"], client_type="business"),
        "site": contact_with(m, last_name="Сайт", source="website"),
        "mute": contact_with(m, None, last_name="Немой", phones=["+7 903 111-22-33"]),
        "worker": contact_with(
            m, last_name="Сотрудник", employments=[{"company_id": company.pk, "position": ""}]
        ),
        "company": company,
    }


def test_each_list_filter_alone(org, base):
    m = org.manager
    assert names(m) == {"Вип", "Сайт", "Немой", "Сотрудник"}
    assert names(m, q="Вип") == {"Вип"}
    assert names(m, client_type="business") == {"Вип"}
    assert names(m, tag="vip") == {"Вип"}
    assert names(m, tags=["nothing", "VIP"]) == {"Вип"}
    assert names(m, source="website") == {"Сайт"}
    assert names(m, company=base["company"].pk) == {"Сотрудник"}
    assert names(m, owner=m.pk) == {"Вип", "Сайт", "Немой", "Сотрудник"}
    assert names(m, owner=org.colleague.pk) == set()


def test_contact_point_and_consent_filters(org, base):
    m = org.manager
    assert names(m, has_email=True) == {"Вип", "Сайт", "Сотрудник"}
    assert names(m, has_email=False) == {"Немой"}
    assert names(m, has_phone=True) == {"Немой"}
    assert names(m, has_phone=False) == {"Вип", "Сайт", "Сотрудник"}
    Contact.objects.filter(pk=base["site"].pk).update(
        consent_at=timezone.now(), consent_source="form"
    )
    assert names(m, consent=True) == {"Сайт"}
    assert "Сайт" not in names(m, consent=False)


def test_team_and_no_touch(org, base):
    m = org.manager
    team = m.teams.get()
    assert names(m, team=team.pk) == {"Вип", "Сайт", "Немой", "Сотрудник"}
    assert names(org.admin, team=org.outsider.teams.get().pk) == set()
    Contact.objects.filter(pk=base["vip"].pk).update(
        last_touch_at=timezone.now() - dt.timedelta(days=40)
    )
    assert names(m, no_touch_days=30) == {"Вип"}
    assert names(m, no_touch_days=60) == set()


def test_custom_fields(org, base):
    m = org.manager
    custom_field_save(
        actor=org.admin, entity="contact", label="Бюджет", key="budget", field_type="number"
    )
    custom_field_save(
        actor=org.admin,
        entity="contact",
        label="Интересы",
        key="likes",
        field_type="multi_choice",
        choices=["Кухни", "Шкафы"],
    )
    custom_field_save(
        actor=org.admin, entity="contact", label="Опт", key="wholesale", field_type="boolean"
    )
    contact_with(
        m,
        last_name="Богатый",
        custom={"budget": 500, "likes": ["Кухни", "Шкафы"], "wholesale": True},
    )
    contact_with(
        m, last_name="Бедный", custom={"budget": 5, "likes": ["Шкафы"], "wholesale": False}
    )
    assert names(m, custom={"budget": 500}) == {"Богатый"}
    assert names(m, custom={"likes": "Кухни"}) == {"Богатый"}
    assert names(m, custom={"likes": "Шкафы"}) == {"Богатый", "Бедный"}
    assert names(m, custom={"wholesale": False}) == {"Бедный"}
    assert names(m, custom={"likes": "Шкафы", "budget": 5}) == {"Бедный"}


def test_bought_product_needs_a_won_deal_with_its_line(org, base):
    m = org.manager
    table, chair = make_product(name="Стол"), make_product(name="Стул")
    won = make_deal(m, contact=base["vip"], status="won")
    line(won, table)
    open_deal = make_deal(m, contact=base["site"])
    line(open_deal, table)
    line(make_deal(m, contact=base["mute"], status="won"), chair)
    assert names(m, product=table.pk) == {"Вип"}
    assert names(m, product=chair.pk) == {"Немой"}


def test_people_of_matching_companies(org, base):
    m = org.manager
    assert names(m, tags=["Опт"]) == set()
    assert names(m, tags=["Опт"], with_companies=True) == {"Сотрудник"}
    assert names(m, source="exhibition", with_companies=True) == {"Сотрудник"}
    table = make_product(name="Стол")
    line(make_deal(m, company=base["company"], status="won"), table)
    assert names(m, product=table.pk, with_companies=True) == {"Сотрудник"}
    # The contact's own filters still hold for the people of a company.
    assert names(m, tags=["Опт"], with_companies=True, has_email=False) == set()


def test_filters_combine(org, base):
    m = org.manager
    contact_with(m, last_name="Вип2", tags=["VIP"], client_type="business", source="website")
    assert names(m, tags=["VIP"], client_type="business") == {"Вип", "Вип2"}
    assert names(m, tags=["VIP"], client_type="business", source="website") == {"Вип2"}
    assert names(m, tags=["VIP"], source="website", has_email=True, q="Вип2") == {"Вип2"}
    assert names(m, tags=["VIP"], source="cold") == set()


def test_unsubscribed_addresses_are_not_recipients(org, base):
    m = org.manager
    count = segment_count(user=m, spec=spec_clean({}))
    assert (count.total, count.recipients) == (4, 3)
    ContactPoint.objects.filter(pk=email_of(base["vip"]).pk).update(unsubscribed_at=timezone.now())
    count = segment_count(user=m, spec=spec_clean({}))
    assert (count.total, count.recipients) == (4, 2)
    page = segment_recipients(user=m, spec=spec_clean({}))
    assert {row.last_name for row in page.items} == {"Сайт", "Сотрудник"}


def test_undeliverable_addresses_are_not_recipients(org, base):
    # given an address a delivery report marked (crm.correspondence)
    ContactPoint.objects.filter(pk=email_of(base["vip"]).pk).update(
        undeliverable_at=timezone.now(), undeliverable_reason="550 no such user"
    )
    # when
    count = segment_count(user=org.manager, spec=spec_clean({}))
    # then
    assert (count.total, count.recipients) == (4, 2)


def test_one_unsubscribed_address_of_two_keeps_the_contact(org):
    contact = contact_with(org.manager, last_name="Двое", emails=["a@example.com", "b@example.com"])
    ContactPoint.objects.filter(contact=contact, value="a@example.com").update(
        unsubscribed_at=timezone.now()
    )
    page = segment_recipients(user=org.manager, spec=spec_clean({}))
    assert [[p.value for p in row.mailing_emails] for row in page.items] == [["b@example.com"]]


def test_a_shared_segment_counts_what_each_viewer_may_see(org, people):
    spec = spec_clean({"has_email": True})
    assert segment_count(user=org.admin, spec=spec).recipients == 5
    assert segment_count(user=org.head, spec=spec).recipients == 3  # head, manager, colleague
    assert segment_count(user=org.manager, spec=spec).recipients == 1
    assert segment_count(user=org.outsider, spec=spec).recipients == 1
    assert segment_count(user=org.viewer, spec=spec).recipients == 3
    people["colleague"].shared_with.add(org.manager)
    assert segment_count(user=org.manager, spec=spec).recipients == 2


def test_the_people_of_a_company_are_still_scoped(org):
    company = make_company(org.outsider, legal_name="Чужая", tags=["Опт"])
    contact_with(
        org.outsider, last_name="Чужой", employments=[{"company_id": company.pk, "position": ""}]
    )
    company.shared_with.add(org.manager)
    assert names(org.manager, tags=["Опт"], with_companies=True) == set()
    assert names(org.outsider, tags=["Опт"], with_companies=True) == {"Чужой"}


def test_merged_contacts_are_not_in_segments(org, base):
    Contact.objects.filter(pk=base["site"].pk).update(merged_into=base["vip"])
    assert "Сайт" not in names(org.manager)


def _queries(user, spec) -> int:
    with CaptureQueriesContext(connection) as captured:
        page = segment_recipients(user=user, spec=spec)
        [row.owner for row in page.items]
        [row.mailing_emails for row in page.items]
    return len(captured)


def test_recipients_page_costs_the_same_for_one_and_many(org):
    spec = spec_clean({"has_email": True, "tags": ["VIP"]})
    contact_with(org.manager, last_name="Один", tags=["VIP"])
    one = _queries(org.manager, spec)
    for index in range(6):
        contact_with(
            org.manager,
            last_name=f"Много{index}",
            tags=["VIP"],
            emails=[f"m{index}@x.ru", f"n{index}@x.ru"],
        )
    assert len(segment_recipients(user=org.manager, spec=spec).items) == 7
    assert _queries(org.manager, spec) == one


def test_recipients_page_by_cursor(org):
    for index in range(5):
        contact_with(org.manager, last_name=f"К{index}")
    first = segment_recipients(user=org.manager, spec=spec_clean({}), limit=3)
    second = segment_recipients(
        user=org.manager, spec=spec_clean({}), limit=3, cursor=first.next_cursor
    )
    seen = [row.pk for row in first.items] + [row.pk for row in second.items]
    assert len(seen) == len(set(seen)) == 5
    assert second.next_cursor is None
