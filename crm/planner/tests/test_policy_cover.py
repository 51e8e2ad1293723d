"""The planner's cover reaches every owned record's access policy as its ``cover``
parameter: a substitute sees and works the records of the colleague they cover, by the
policy, not by ``User.scope_owner_ids`` (which holds the role's scope alone)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from crm.accounts.models import User
from crm.core.policies import CHANGE, VIEW, OwnedRecordPolicy
from crm.customers.models import Contact
from crm.customers.permissions import CUSTOMER
from crm.customers.tests.factories import make_contact
from crm.leads.permissions import LEAD
from crm.planner.permissions import TASK, covered_owner_ids
from crm.planner.tests.factories import make_absence
from crm.sales.permissions import DEAL

pytestmark = pytest.mark.django_db


def _fresh(user):
    return User.objects.get(pk=user.pk)  # the scope and the cover are cached per instance


def _names(queryset):
    return sorted(contact.last_name for contact in queryset)


def test_a_cover_widens_every_roles_scope_in_the_policy(org):
    make_contact(org.outsider, last_name="Outsider's")
    make_contact(org.manager, last_name="Mine")
    policy = OwnedRecordPolicy(
        cover=lambda user: [org.outsider.pk] if user.pk in (org.manager.pk, org.head.pk) else []
    )
    manager, head = _fresh(org.manager), _fresh(org.head)
    assert policy.owner_ids(manager) == {org.manager.pk, org.outsider.pk}
    assert _names(policy.restrict(Contact.objects.all(), manager)) == ["Mine", "Outsider's"]
    assert _names(policy.restrict(Contact.objects.all(), head, CHANGE)) == ["Mine", "Outsider's"]
    assert _names(OwnedRecordPolicy().restrict(Contact.objects.all(), head, VIEW)) == ["Mine"]


def test_the_substitute_gets_the_cover_from_the_policy_not_from_the_users_scope(org):
    contact = make_contact(org.manager, last_name="Клиентов")
    make_absence(org.manager, substitute=org.head)
    make_absence(org.colleague, substitute=org.outsider)
    head, outsider = _fresh(org.head), _fresh(org.outsider)
    assert org.colleague.pk not in outsider.scope_owner_ids
    assert CUSTOMER.owner_ids(outsider) == {org.outsider.pk, org.colleague.pk}
    # A head covering for a member of their own team gains nothing new, and may change it.
    assert CUSTOMER.may_change(head, contact)
    CUSTOMER.check(outsider, VIEW, make_contact(org.colleague, last_name="Коллегин"))


def test_every_owned_record_policy_carries_the_planners_cover():
    for policy in (CUSTOMER, DEAL, LEAD, TASK):
        assert policy.cover is covered_owner_ids


def test_the_cover_is_looked_up_once_per_user_object(org):
    make_absence(org.manager, substitute=org.colleague)
    colleague = _fresh(org.colleague)
    with CaptureQueriesContext(connection) as first:
        assert covered_owner_ids(colleague) == {org.manager.pk}
    with CaptureQueriesContext(connection) as second:
        assert covered_owner_ids(colleague) == {org.manager.pk}
    assert (len(first), len(second)) == (1, 0)
    assert covered_owner_ids(_fresh(org.manager)) == frozenset()


@pytest.mark.parametrize("role", ["head", "viewer", "manager"])
def test_the_cover_reads_the_roles_scope_in_its_own_query(org, role):
    """A head's or a read-only user's scope and their cover come from one query (``UNION
    ALL``) and are exactly what each would be alone; a manager's scope needs no query."""
    user = getattr(org, role)
    make_absence(org.outsider, substitute=user)  # outside every team of ``org``
    make_absence(org.colleague, substitute=org.manager if role != "manager" else org.head)
    alone = _fresh(user)
    expected_scope, expected_cover = alone.scope_owner_ids, covered_owner_ids(alone)
    assert expected_cover == {org.outsider.pk}

    together = _fresh(user)
    with CaptureQueriesContext(connection) as queries:
        owner_ids = CUSTOMER.owner_ids(together)
    assert len(queries) == 1
    assert together.scope_is_read()
    assert together.scope_owner_ids == expected_scope
    assert owner_ids == expected_scope | {org.outsider.pk}
    assert org.colleague.pk in owner_ids or role == "manager"  # a team-mate, not a cover
    assert len(queries) == 1  # the scope was cached by the cover's query


def test_a_scope_read_before_the_cover_is_not_read_again(org):
    make_absence(org.outsider, substitute=org.head)
    head = _fresh(org.head)
    scope = head.scope_owner_ids
    with CaptureQueriesContext(connection) as queries:
        assert CUSTOMER.owner_ids(head) == scope | {org.outsider.pk}
    assert len(queries) == 1  # the absences alone
