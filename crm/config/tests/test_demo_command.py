"""``manage.py demo`` (``make run``): loads the demo once; a second start changes nothing."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command

from crm.accounts.models import User
from crm.core.management.commands.demo import pending_migrations
from crm.customers.models import Contact
from crm.leads.models import Lead
from crm.sales.models import Deal

pytestmark = pytest.mark.django_db


def run_demo() -> str:
    out = StringIO()
    call_command("demo", stdout=out)
    return out.getvalue()


def counts() -> tuple[int, int, int, int]:
    return User.objects.count(), Contact.objects.count(), Deal.objects.count(), Lead.objects.count()


@pytest.mark.slow
def test_a_second_start_keeps_the_demo_data_and_migrates_nothing():
    first = run_demo()
    loaded = counts()
    assert all(loaded), loaded
    assert "Applying" not in first  # the test database is migrated already

    second = run_demo()

    assert counts() == loaded
    assert "Demo data exists" in second
    assert "Demo deals exist" in second
    assert "Demo leads exist" in second
    assert "Applying" not in second
    assert pending_migrations() == 0
