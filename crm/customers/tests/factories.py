"""Factories for contacts and companies that go through the services, so the derived
data (search text, match keys, normalised phones) is the same as in production."""

from __future__ import annotations

from typing import Any

from crm.accounts.models import User
from crm.customers.models import Company, Contact
from crm.customers.services import company_create, contact_create


def make_contact(owner: User, *, allow_duplicate: bool = True, **data: Any) -> Contact:
    data.setdefault("first_name", "Иван")
    data.setdefault("last_name", "Иванов")
    data.setdefault("owner_id", owner.pk)
    actor = data.pop("actor", None) or _actor_for(owner)
    return contact_create(actor=actor, data=data, allow_duplicate=allow_duplicate)


def make_company(owner: User, *, allow_duplicate: bool = True, **data: Any) -> Company:
    data.setdefault("legal_name", "Ромашка")
    data.setdefault("legal_form", "ООО")
    data.setdefault("owner_id", owner.pk)
    actor = data.pop("actor", None) or _actor_for(owner)
    return company_create(actor=actor, data=data, allow_duplicate=allow_duplicate)


def _actor_for(owner: User) -> User:
    """Owners who cannot write (read-only) get records created for them by an admin."""
    if owner.can_write:
        return owner
    admin = User.objects.filter(role="admin", is_active=True).first()
    if admin is None:
        admin = User.objects.create(username="factory-admin", role="admin")
    return admin
