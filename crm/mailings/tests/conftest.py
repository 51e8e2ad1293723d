"""Fixtures of the mailings tests: contacts with e-mails built through the services."""

from __future__ import annotations

from typing import Any

import pytest

from crm.accounts.models import User
from crm.customers.models import Contact, ContactPoint
from crm.customers.tests.factories import make_contact


def contact_with(owner: User, email: str | None = "", **data: Any) -> Contact:
    """A contact of ``owner`` with one e-mail (``name@example.com`` unless given; ``None``:
    none)."""
    data.setdefault("last_name", "Петров")
    if email is not None and "emails" not in data:
        data["emails"] = [email or f"c{Contact.objects.count()}@example.com"]
    return make_contact(owner, **data)


def email_of(contact: Contact) -> ContactPoint:
    return ContactPoint.objects.get(contact=contact, kind="email")


@pytest.fixture
def people(org: Any) -> dict[str, Contact]:
    """One contact with an e-mail per user of the organisation, by username."""
    return {
        user.username: contact_with(user, f"{user.username}@example.com", last_name=user.username)
        for user in (org.admin, org.head, org.manager, org.colleague, org.outsider)
    }
