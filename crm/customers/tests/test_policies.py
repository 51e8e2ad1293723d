"""The model policies of ``crm.core.policies``, on contacts."""

from __future__ import annotations

import pytest

from crm.core.errors import NotFound, PermissionDenied
from crm.core.permissions import Role
from crm.core.policies import CHANGE, VIEW, AdminOnlyPolicy, OwnedRecordPolicy, RolePolicy
from crm.customers.models import Contact
from crm.customers.tests.factories import make_contact

pytestmark = pytest.mark.django_db

POLICY = OwnedRecordPolicy()


def _names(queryset):
    return sorted(contact.last_name for contact in queryset)


def test_owned_record_view_follows_the_owner_rule(org):
    make_contact(org.manager, last_name="Mine")
    make_contact(org.outsider, last_name="Theirs")
    shared = make_contact(org.outsider, last_name="Shared")
    shared.shared_with.add(org.manager)

    assert _names(POLICY.restrict(Contact.objects.all(), org.manager, VIEW)) == ["Mine", "Shared"]
    assert _names(POLICY.restrict(Contact.objects.all(), org.head, VIEW)) == ["Mine"]
    assert _names(POLICY.restrict(Contact.objects.all(), org.admin)) == [
        "Mine",
        "Shared",
        "Theirs",
    ]


def test_owned_record_change_leaves_out_read_only_users(org):
    make_contact(org.manager, last_name="Mine")

    assert _names(POLICY.restrict(Contact.objects.all(), org.viewer, VIEW)) == ["Mine"]
    assert _names(POLICY.restrict(Contact.objects.all(), org.viewer, CHANGE)) == []
    assert _names(POLICY.restrict(Contact.objects.all(), org.head, CHANGE)) == ["Mine"]


def test_owned_record_check_hides_what_is_out_of_scope_and_refuses_read_only(org):
    contact = make_contact(org.manager, last_name="Mine")

    POLICY.check(org.manager, CHANGE, contact)
    POLICY.check(org.viewer, VIEW, contact)
    with pytest.raises(NotFound):
        POLICY.check(org.outsider, VIEW, contact)
    with pytest.raises(PermissionDenied):
        POLICY.check(org.viewer, CHANGE, contact)


def test_admin_only_policy_refuses_everyone_else_with_its_message(org):
    policy = AdminOnlyPolicy("Only an administrator may do this.")
    org.admin.refresh_from_db()

    policy.check(org.admin)
    for user in (org.head, org.manager, org.viewer):
        with pytest.raises(PermissionDenied, match=r"Only an administrator may do this\."):
            policy.check(user)
    org.admin.is_active = False
    with pytest.raises(PermissionDenied):
        policy.check(org.admin)
    assert policy.restrict(Contact.objects.all(), org.manager).count() == 0


def test_role_policy_lets_in_the_listed_roles(org):
    policy = RolePolicy("No.", roles=(Role.ADMIN, Role.HEAD))

    policy.check(org.head)
    with pytest.raises(PermissionDenied):
        policy.check(org.manager)


def test_visible_among_agrees_with_restrict_for_every_user_and_queries_only_for_sharing(
    org, django_assert_num_queries
):
    from crm.customers.permissions import CUSTOMER
    from crm.planner.tests.factories import make_absence

    contacts = [make_contact(owner) for owner in (org.manager, org.colleague, org.outsider)]
    contacts[2].shared_with.add(org.manager)
    hidden = make_contact(org.outsider)
    make_absence(org.colleague, substitute=org.outsider)  # the outsider covers the colleague
    inactive = type(org.viewer).objects.get(pk=make_contact(org.viewer).owner_id)
    inactive.is_active = False
    owners = {contact.pk: contact.owner_id for contact in [*contacts, hidden]}
    for user in (
        org.admin,
        org.head,
        org.manager,
        org.colleague,
        org.outsider,
        org.viewer,
        inactive,
    ):
        expected = set(
            CUSTOMER.restrict(Contact.objects.filter(pk__in=owners), user).values_list(
                "pk", flat=True
            )
        )
        assert CUSTOMER.visible_among(Contact, user, owners) == expected, user.username
    assert CUSTOMER.visible_among(Contact, org.manager, owners) == {contacts[0].pk, contacts[2].pk}
    with django_assert_num_queries(0):  # everything, or all by ownership: nothing to ask
        CUSTOMER.visible_among(Contact, org.admin, owners)
        CUSTOMER.visible_among(Contact, org.manager, {contacts[0].pk: org.manager.pk})
    with django_assert_num_queries(1):  # the one shared with the manager
        CUSTOMER.visible_among(Contact, org.manager, owners)
