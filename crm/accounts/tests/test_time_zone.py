"""A user's own time zone: set on their page or by the administrator, used by the reports."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse

from conftest import client_for
from crm.accounts.services import user_set_time_zone
from crm.accounts.tests.factories import TeamFactory, UserFactory, add_member
from crm.accounts.zones import time_zone_names
from crm.analytics.periods import user_time_zone
from crm.core.errors import ValidationFailed

pytestmark = pytest.mark.django_db


def test_the_choice_is_of_iana_zones():
    names = time_zone_names()
    assert "Europe/Moscow" in names and "Asia/Vladivostok" in names and "UTC" in names
    assert "Etc/GMT+3" not in names and list(names) == sorted(names)


def test_own_zone_wins_over_the_team_and_the_site():
    team = TeamFactory(name="Владивосток", time_zone="Asia/Vladivostok")
    user = UserFactory(username="far")
    add_member(team, user)
    assert user_time_zone(user) == ZoneInfo("Asia/Vladivostok")
    user_set_time_zone(user=user, time_zone="Asia/Yekaterinburg")
    assert user_time_zone(user) == ZoneInfo("Asia/Yekaterinburg")
    user_set_time_zone(user=user, time_zone="")
    assert user_time_zone(user) == ZoneInfo("Asia/Vladivostok")
    loner = UserFactory(username="loner", time_zone="America/New_York")
    assert user_time_zone(loner) == ZoneInfo("America/New_York")


def test_an_unknown_zone_is_refused():
    user = UserFactory(username="vera")
    with pytest.raises(ValidationFailed) as caught:
        user_set_time_zone(user=user, time_zone="Mars/Olympus")
    assert "time_zone" in caught.value.field_errors
    user.refresh_from_db()
    assert user.time_zone == ""


def test_the_user_sets_their_zone_on_their_page(org):
    client = client_for(org.manager)
    page = client.get(reverse("accounts:time_zone"))
    assert page.status_code == 200
    assert b'value="Asia/Vladivostok"' in page.content
    response = client.post(reverse("accounts:time_zone"), {"time_zone": "Asia/Vladivostok"})
    assert response.status_code == 302
    org.manager.refresh_from_db()
    assert org.manager.time_zone == "Asia/Vladivostok"
    refused = client.post(reverse("accounts:time_zone"), {"time_zone": "Mars/Olympus"})
    assert refused.status_code == 422
    org.manager.refresh_from_db()
    assert org.manager.time_zone == "Asia/Vladivostok"


def test_the_dashboard_counts_in_the_users_zone(org):
    org.manager.time_zone = "Asia/Vladivostok"
    org.manager.save()
    response = client_for(org.manager).get(reverse("analytics:sales"))
    assert response.status_code == 200
    assert response.context["report"].period.zone == ZoneInfo("Asia/Vladivostok")


def test_the_administrator_sets_a_users_zone(org):
    data = {
        "username": org.manager.username,
        "role": "manager",
        "time_zone": "Europe/Samara",
        "teams": [team.pk for team in org.manager.teams.all()],
    }
    response = client_for(org.admin).post(
        reverse("accounts:user_edit", args=[org.manager.pk]), data
    )
    assert response.status_code == 302, response.content[:2000]
    org.manager.refresh_from_db()
    assert org.manager.time_zone == "Europe/Samara"
    page = client_for(org.admin).get(reverse("accounts:user_edit", args=[org.manager.pk]))
    assert b'<option value="Europe/Samara" selected>' in page.content
