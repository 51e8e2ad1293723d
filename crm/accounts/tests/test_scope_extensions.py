"""``User.scope_owner_ids`` unions what the registered extensions add (the planner adds
the colleagues a substitute covers today)."""

from __future__ import annotations

import pytest

from crm.accounts import models
from crm.accounts.models import User

pytestmark = pytest.mark.django_db


@pytest.fixture
def extensions(monkeypatch):
    registered: list = list(models.SCOPE_EXTENSIONS)
    monkeypatch.setattr(models, "SCOPE_EXTENSIONS", registered)
    return registered


def test_an_extension_widens_every_roles_scope(org, extensions):
    models.register_scope_extension(
        lambda user: [org.outsider.pk] if user.pk == org.manager.pk else []
    )
    manager = User.objects.get(pk=org.manager.pk)
    head = User.objects.get(pk=org.head.pk)
    assert manager.scope_owner_ids == {org.manager.pk, org.outsider.pk}
    assert org.outsider.pk not in head.scope_owner_ids


def test_registering_twice_adds_it_once(extensions):
    def extension(user):
        return []

    models.register_scope_extension(extension)
    models.register_scope_extension(extension)
    assert extensions.count(extension) == 1


def test_the_planners_cover_is_registered():
    from crm.planner.services import covered_user_ids

    assert covered_user_ids in models.SCOPE_EXTENSIONS
