"""The row-level scope: who sees which contacts and companies."""

import pytest

from crm.accounts.models import User
from crm.accounts.services import user_update
from crm.customers.models import Company, Contact
from crm.customers.services import customer_share
from crm.customers.tests.factories import make_company, make_contact

pytestmark = pytest.mark.django_db


@pytest.fixture
def records(org):
    return {
        "manager": make_contact(org.manager, first_name="Свой"),
        "colleague": make_contact(org.colleague, first_name="Коллеги"),
        "outsider": make_contact(org.outsider, first_name="Чужой"),
        "head": make_contact(org.head, first_name="Руководителя"),
    }


def visible(user):
    return set(Contact.objects.visible_to(user).values_list("first_name", flat=True))


def test_manager_sees_only_own_records(org, records):
    assert visible(org.manager) == {"Свой"}


def test_head_sees_the_records_of_the_teams_they_lead(org, records):
    assert visible(org.head) == {"Свой", "Коллеги", "Руководителя"}


def test_readonly_user_sees_their_teams_records(org, records):
    assert visible(org.viewer) == {"Свой", "Коллеги", "Руководителя"}


def test_admin_sees_everything(org, records):
    assert visible(org.admin) == {"Свой", "Коллеги", "Чужой", "Руководителя"}


def test_sharing_adds_a_record_once(org, records):
    customer_share(actor=org.outsider, record=records["outsider"], user_ids=[org.manager.pk])
    customer_share(
        actor=org.admin, record=records["outsider"], user_ids=[org.manager.pk, org.colleague.pk]
    )
    assert visible(org.manager) == {"Свой", "Чужой"}
    assert Contact.objects.visible_to(org.manager).count() == 2


def test_deactivated_user_sees_nothing(org, records):
    org.manager.is_active = False
    assert visible(org.manager) == set()


def test_merged_records_are_hidden(org, records):
    survivor, merged = records["manager"], make_contact(org.manager, first_name="Дубль")
    Contact.objects.filter(pk=merged.pk).update(merged_into=survivor)
    assert visible(org.manager) == {"Свой"}


def test_company_scope_follows_the_same_rule(org):
    make_company(org.manager, legal_name="Своя", inn="7707083893")
    make_company(org.outsider, legal_name="Чужая")
    assert set(Company.objects.visible_to(org.manager).values_list("legal_name", flat=True)) == {
        "Своя"
    }
    assert Company.objects.visible_to(org.admin).count() == 2


def test_role_change_takes_effect(org, records):
    user_update(actor=org.admin, user=org.manager, role="readonly")
    reloaded = User.objects.get(pk=org.manager.pk)  # as on the next request
    assert visible(reloaded) == {"Свой", "Коллеги", "Руководителя"}
