"""Every record kind of the registry is covered by the permission matrix: a kind cannot be
registered without saying here how to make one of its records, and each kind is checked
against the roles of the ``org`` fixture through its registered policy and its page."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from conftest import client_for
from crm.accounts.models import User
from crm.core.errors import PermissionDenied
from crm.core.policies import CHANGE
from crm.core.records import RecordKind, registry
from crm.customers.tests.factories import make_company, make_contact
from crm.leads.choices import Channel
from crm.leads.models import Lead
from crm.planner.tests.factories import make_task
from crm.sales.tests.factories import make_deal


@dataclass(frozen=True)
class Entry:
    """How the matrix makes a record of a kind owned by a user, and shares it with another."""

    make: Callable[[User], Any]
    share: Callable[[Any, User], None]


def _shared_with(record: Any, user: User) -> None:
    record.shared_with.add(user)


def _watched_by(record: Any, user: User) -> None:
    record.watchers.add(user)


MATRIX: dict[str, Entry] = {
    "contact": Entry(make_contact, _shared_with),
    "company": Entry(make_company, _shared_with),
    "deal": Entry(make_deal, _shared_with),
    "lead": Entry(
        lambda owner: Lead.objects.create(title="Заявка", channel=Channel.MANUAL, owner=owner),
        _shared_with,
    ),
    "task": Entry(make_task, _watched_by),
}


def _sees(kind: RecordKind, user: User, record: Any, action: str = "view") -> bool:
    return kind.visible_to(user, action).filter(pk=record.pk).exists()


def test_every_registered_kind_has_an_entry_in_the_matrix():
    assert sorted(kind.key for kind in registry.kinds()) == sorted(MATRIX)


@pytest.mark.parametrize("key", sorted(MATRIX))
def test_the_kind_follows_the_owner_rule(org, key):
    # given a record of the manager's
    kind = registry.kind(key)
    record = MATRIX[key].make(org.manager)
    # then the owner, the head of the team and the administrator see it, others do not
    assert _sees(kind, org.manager, record)
    assert _sees(kind, org.head, record)
    assert _sees(kind, org.admin, record)
    assert not _sees(kind, org.colleague, record)
    assert not _sees(kind, org.outsider, record)
    # and the owner may change it, the read-only user of the team may not
    assert _sees(kind, org.manager, record, CHANGE)
    assert not _sees(kind, org.viewer, record, CHANGE)
    with pytest.raises(PermissionDenied):
        kind.policy.check(org.viewer, CHANGE, record)


@pytest.mark.parametrize("key", sorted(MATRIX))
def test_a_shared_record_is_seen_by_the_colleague_it_is_shared_with(org, key):
    kind = registry.kind(key)
    record = MATRIX[key].make(org.manager)
    MATRIX[key].share(record, org.colleague)
    assert _sees(kind, org.colleague, record)
    assert not _sees(kind, org.outsider, record)


@pytest.mark.parametrize("key", sorted(MATRIX))
def test_the_records_page_answers_404_to_an_outsider(org, key):
    kind = registry.kind(key)
    record = MATRIX[key].make(org.manager)
    url = kind.url_of(record)
    assert client_for(org.outsider).get(url).status_code == 404
    assert client_for(org.manager).get(url).status_code == 200
    assert client_for(org.admin).get(url).status_code == 200


@pytest.mark.parametrize("key", sorted(MATRIX))
def test_the_resolved_scope_holds_the_same_records_as_the_scope(org, key):
    # given records of several owners, one shared with the outsider, and for leads one
    # that nobody has yet, routed to the head's team
    kind = registry.kind(key)
    records = [MATRIX[key].make(owner) for owner in (org.manager, org.colleague, org.head)]
    MATRIX[key].share(records[1], org.outsider)
    if key == "lead":
        Lead.objects.create(title="Ничья", channel=Channel.MANUAL, team=org.manager.teams.first())
    # then for every user the scope with its shared ids read first (the reports') holds
    # exactly the records of the policy's scope, the shared one included
    for user in (org.admin, org.head, org.manager, org.colleague, org.outsider, org.viewer):
        fresh = User.objects.get(pk=user.pk)
        visible = set(kind.visible_to(fresh))
        assert set(kind.visible_to_resolved(fresh)) == visible, user
        # and its parts (the reports') are disjoint and hold exactly those records
        parts = [set(part) for part in kind.visible_parts(User.objects.get(pk=user.pk))]
        assert sum(len(part) for part in parts) == len(visible), user
        assert set().union(*parts) == visible, user
    assert records[1] in set(kind.visible_to_resolved(User.objects.get(pk=org.outsider.pk)))
    # and so for a user who has left, with a record shared with them
    org.outsider.is_active = False
    org.outsider.save(update_fields=["is_active"])
    fresh = User.objects.get(pk=org.outsider.pk)
    assert set(kind.visible_to_resolved(fresh)) == set(kind.visible_to(fresh))
    parts = [set(part) for part in kind.visible_parts(User.objects.get(pk=org.outsider.pk))]
    assert set().union(*parts) == set(kind.visible_to(fresh))
