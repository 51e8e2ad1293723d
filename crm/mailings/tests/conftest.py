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


# --- mailings ---------------------------------------------------------------------------------

from crm.correspondence.models import EmailTemplate  # noqa: E402
from crm.mailings.models import Mailing, Segment  # noqa: E402
from crm.mailings.services import mailing_create, segment_create  # noqa: E402
from crm.mailings.services.delivery import mailing_send_batch  # noqa: E402
from crm.notifications.tests.conftest import smtp_server  # noqa: E402, F401 (fixture)


def mail_template(**fields: Any) -> EmailTemplate:
    """A shared template greeting the client by first name."""
    fields.setdefault("name", "Новости")
    fields.setdefault("language", "ru")
    fields.setdefault("subject", "Новости для {{ client.first_name }}")
    fields.setdefault(
        "body", "Здравствуйте, {{ client.first_name }}!\n\nУ нас новинки.\n{{ manager.full_name }}"
    )
    return EmailTemplate.objects.create(**fields)


def segment_of(owner: User, spec: dict[str, Any] | None = None, **extra: Any) -> Segment:
    return segment_create(
        actor=owner, name="Все с почтой", spec=spec or {"has_email": True}, **extra
    )


def draft(owner: User, segment: Segment | None = None, **fields: Any) -> Mailing:
    """A draft mailing of ``owner`` to ``segment`` (default: their contacts with an e-mail)."""
    fields.setdefault("name", "Декабрьская рассылка")
    fields.setdefault("template_id", mail_template().pk)
    fields.setdefault("rate_per_minute", 60_000)
    return mailing_create(actor=owner, segment_id=(segment or segment_of(owner)).pk, **fields)


def send_all(mailing: Mailing, limit: int = 1000) -> list[str]:
    """Run the send job's batches until the mailing is done (the tests' queue backend
    cannot run a job later, so the next batch is run here)."""
    outcomes = []
    for _round in range(limit):
        outcome = mailing_send_batch(mailing_id=mailing.pk)
        outcomes.append(outcome)
        if outcome in ("done", "idle"):
            return outcomes
    raise AssertionError(f"not done after {limit} batches: {outcomes[-5:]}")


@pytest.fixture(autouse=True)
def _mail_settings(settings: Any) -> None:
    settings.CRM_MAIL_FROM = "Вентпром <news@example.ru>"
    settings.CRM_BASE_URL = "https://crm.example.ru"
    settings.CRM_MAILING_BATCH = 4
