"""``manage.py demo_data``: a realistic team and clients, loaded once, through the services."""

from __future__ import annotations

from collections.abc import Iterator
from io import StringIO

import pytest
from django.contrib.auth import authenticate
from django.core.management import call_command
from django.db import transaction
from django.test import override_settings
from stdnum.ru import inn as stdnum_inn
from stdnum.ru import ogrn as stdnum_ogrn

from conftest import settings_for_tests
from crm.accounts.models import Team, User
from crm.activities.choices import EntryKind
from crm.activities.models import TimelineEntry
from crm.core.permissions import Role
from crm.customers.choices import ContactPointKind
from crm.customers.management.commands.demo_data import DEMO_PASSWORD
from crm.customers.models import Company, Contact, ContactPoint, DuplicatePair, MatchKey
from crm.customers.services import company_duplicates_find, contact_duplicates_find

DEMO_USERNAMES = ["admin", "head", "ivanova", "petrov", "smirnov", "viewer"]


@pytest.fixture(scope="module")
def _demo_once(django_db_setup, django_db_blocker, tmp_path_factory) -> Iterator[str]:
    """The demo data, loaded once for the module in a transaction rolled back at its end: the
    tests only read it (the second run of the command changes nothing, as it asserts)."""
    folder = tmp_path_factory.mktemp("demo")
    test_settings = override_settings(**settings_for_tests(folder, "demo"))
    with django_db_blocker.unblock(), test_settings, transaction.atomic():
        out = StringIO()
        call_command("demo_data", stdout=out)
        yield out.getvalue()
        transaction.set_rollback(True)


@pytest.fixture
def demo(_demo_once: str, db) -> str:
    return _demo_once


def test_demo_data_creates_the_team_with_roles(demo):
    users = {user.username: user for user in User.objects.all()}

    assert sorted(users) == sorted(DEMO_USERNAMES)
    assert users["admin"].role == Role.ADMIN and users["admin"].is_superuser
    assert users["head"].role == Role.HEAD
    assert users["viewer"].role == Role.READONLY
    moscow, spb = Team.objects.get(name="Москва"), Team.objects.get(name="Санкт-Петербург")
    assert list(moscow.heads.all()) == [users["head"]]
    assert {u.username for u in moscow.members.all()} >= {"ivanova", "petrov", "viewer"}
    assert [u.username for u in spb.members.all()] == ["smirnov"]


def test_every_demo_user_can_sign_in_with_the_published_password(demo):
    for username in DEMO_USERNAMES:
        assert authenticate(username=username, password=DEMO_PASSWORD) is not None, username


def test_demo_data_loads_companies_contacts_and_history(demo):
    assert 38 <= Company.objects.count() <= 45
    assert 110 <= Contact.objects.count() <= 140
    manual = TimelineEntry.objects.filter(
        kind__in=[EntryKind.NOTE, EntryKind.CALL, EntryKind.EMAIL, EntryKind.MEETING]
    )
    assert manual.count() > 800
    assert TimelineEntry.objects.filter(kind=EntryKind.FIELD_CHANGE).count() >= 8
    calls = manual.filter(kind=EntryKind.CALL)
    assert calls.exclude(direction="").count() == calls.count()
    # Every owner is one of the selling users, and the managers all have clients.
    owners = set(Contact.objects.values_list("owner__username", flat=True))
    assert owners == {"head", "ivanova", "petrov", "smirnov"}
    # Derived data is what the services write.
    assert MatchKey.objects.filter(contact__isnull=False).exists()
    assert not Contact.objects.filter(search_text="").exists()
    assert not Company.objects.filter(search_text="").exists()


def test_company_requisites_have_valid_checksums(demo):
    companies = list(Company.objects.exclude(inn=""))
    assert len(companies) >= 38
    for company in companies:
        assert stdnum_inn.is_valid(company.inn), company.inn
        assert stdnum_ogrn.is_valid(company.ogrn), company.ogrn
        if len(company.inn) == 10:
            assert len(company.kpp) == 9 and company.kpp[:4] == company.inn[:4]
        else:
            assert company.kpp == ""
    phones = ContactPoint.objects.filter(kind=ContactPointKind.PHONE)
    assert all(
        value.startswith("+7") and len(value) == 12
        for value in phones.values_list("value", flat=True)
    )


def test_planted_duplicates_are_found_by_the_duplicate_check(demo):
    admin = User.objects.get(username="admin")
    ivanov = Contact.objects.get(last_name="Иванов", first_name="Пётр")
    phone = ivanov.points.get(kind=ContactPointKind.PHONE).value

    candidates = contact_duplicates_find(
        actor=admin, last_name="Иванов", first_name="Пётр", points=[("phone", phone)]
    )

    names = {candidate.name for candidate in candidates if candidate.is_exact}
    assert {"Иванов Пётр Сергеевич", "Ivanov Petr"} <= names
    assert DuplicatePair.objects.filter(entity="contact").count() >= 3
    assert DuplicatePair.objects.filter(entity="company").exists()
    romashka = company_duplicates_find(actor=admin, legal_name="Ромашка")
    assert {candidate.name for candidate in romashka} >= {"ООО «Ромашка»", "LLC «Romashka»"}


def test_second_run_is_a_no_op(demo):
    counts = (User.objects.count(), Contact.objects.count(), TimelineEntry.objects.count())
    out = StringIO()

    call_command("demo_data", stdout=out)

    assert "exists" in out.getvalue()
    assert (User.objects.count(), Contact.objects.count(), TimelineEntry.objects.count()) == counts
