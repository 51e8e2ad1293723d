"""Absences recorded at the same moment by two requests: one person never gets two
overlapping absences. Real threads with their own
connections, in a transactional test so their commits are real."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.utils import timezone

from conftest import run_together
from crm.core.errors import ValidationFailed
from crm.planner import services
from crm.planner.models import Absence

pytestmark = [
    pytest.mark.django_db(transaction=True),
    # The SQLite test database is in memory in shared-cache mode, where a second writer fails
    # at once instead of waiting; the product's SQLite runs immediate transactions one at a
    # time. The row locks are exercised on PostgreSQL (CI runs both).
    pytest.mark.skipif(connection.vendor != "postgresql", reason="needs a server database"),
]

ROUNDS = 5


def _record(outcomes: list[str], kwargs: dict) -> None:
    try:
        services.absence_create(kind="vacation", note="", **kwargs)
    except ValidationFailed as error:
        outcomes.append(",".join(sorted(error.field_errors)))
    else:
        outcomes.append("created")


def test_two_overlapping_absences_of_one_person_at_once_make_one(org):
    start = timezone.localdate() + dt.timedelta(days=10)
    for round_ in range(ROUNDS):
        first = start + dt.timedelta(days=20 * round_)
        outcomes: list[str] = []
        run_together(
            _record,
            [
                (
                    outcomes,
                    {
                        "actor": org.manager,
                        "user": org.manager,
                        "starts_on": first + dt.timedelta(days=shift),
                        "ends_on": first + dt.timedelta(days=shift + 5),
                    },
                )
                for shift in (0, 2)
            ],
        )
        assert sorted(outcomes) == ["created", "starts_on"]
    assert Absence.objects.filter(user=org.manager).count() == ROUNDS
