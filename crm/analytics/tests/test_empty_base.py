"""A fresh install: the administrator's first sign-in sees the dashboard and every report
with nothing in the base, and a filter that leaves nobody (a team without members) answers
with empty figures, never a 500 (Django refuses to compile ``IN ()`` inside our own SQL)."""

from __future__ import annotations

import pytest

from conftest import client_for
from crm.accounts.models import Team, User
from crm.analytics.views import REPORTS

pytestmark = pytest.mark.django_db


@pytest.fixture
def first_admin() -> User:
    return User.objects.create_superuser("root", "root@example.com", "a-long-password-2026")


def test_the_first_administrator_sees_the_dashboard_and_every_report_on_an_empty_base(
    first_admin,
):
    client = client_for(first_admin)
    assert client.get("/").status_code == 200
    for name in REPORTS:
        assert client.get(f"/reports/{name}/").status_code == 200, name
        assert client.get(f"/api/v1/reports/{name}").status_code == 200, name
    assert client.get("/reports/plans/").status_code == 200


def test_a_team_without_members_gives_empty_reports(first_admin):
    team = Team.objects.create(name="Пустая")
    client = client_for(first_admin)
    for name in REPORTS:
        answer = client.get(f"/reports/{name}/", {"team": team.pk, "period": "this_year"})
        assert answer.status_code == 200, name
        assert client.get(f"/api/v1/reports/{name}", {"team": team.pk}).status_code == 200, name
