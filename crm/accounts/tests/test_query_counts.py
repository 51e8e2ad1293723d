"""Exact query-count baselines of the administration pages: users, teams, API tokens and the
audit log, each the same pinned number of queries for one row and for fifty."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from conftest import client_for
from crm.accounts.models import SecurityEvent, Team
from crm.accounts.services import api_token_create
from crm.accounts.tests.factories import TeamFactory, UserFactory, add_member
from crm.core.permissions import Role
from crm.core.tests.baselines import one_then_fifty

pytestmark = pytest.mark.django_db


def test_user_list(org, django_assert_num_queries):
    client, url = client_for(org.admin), reverse("accounts:user_list")
    teams = list(Team.objects.all())

    def build(index):
        user = UserFactory(
            username=f"user-{index}",
            role=(Role.MANAGER, Role.HEAD, Role.READONLY)[index % 3],
            is_active=index % 7 != 0,
        )
        add_member(teams[index % 2], user)
        if index % 3 == 1:
            teams[index % 2].heads.add(user)

    response = one_then_fifty(build, 5, lambda: client.get(url), django_assert_num_queries)
    assert response.content.decode().count("user-") >= 50


def test_team_list(org, django_assert_num_queries):
    client, url = client_for(org.admin), reverse("accounts:team_list")

    def build(index):
        team = TeamFactory(name=f"Отдел {index}")
        add_member(team, (org.manager, org.colleague, org.outsider)[index % 3])
        team.heads.add((org.head, org.admin)[index % 2])

    response = one_then_fifty(build, 5, lambda: client.get(url), django_assert_num_queries)
    assert response.content.decode().count("Отдел ") >= 50


def test_token_list(org, django_assert_num_queries):
    client, url = client_for(org.manager), reverse("accounts:token_list")

    def build(index):
        expires = timezone.now() + dt.timedelta(days=index + 1) if index % 2 else None
        api_token_create(user=org.manager, name=f"Токен {index}", expires_at=expires)

    response = one_then_fifty(build, 3, lambda: client.get(url), django_assert_num_queries)
    assert response.content.decode().count("Токен ") >= 50


def test_audit_log(org, django_assert_num_queries):
    client, url = client_for(org.admin), reverse("accounts:security_log")
    kinds = ("login", "login_failed", "user_changed", "logout")

    def build(index):
        SecurityEvent.objects.create(
            kind=kinds[index % 4],
            user=(org.manager, org.colleague, None, org.head)[index % 4],
            actor=org.admin if index % 4 == 2 else None,
            username="guess" if index % 4 == 1 else "",
            ip_address=f"10.0.0.{index}",
        )

    response = one_then_fifty(build, 5, lambda: client.get(url), django_assert_num_queries)
    assert len(response.context["page"].items) == 50


def test_team_card(org, django_assert_num_queries):
    team = Team.objects.get(name="Москва")
    client, url = client_for(org.admin), reverse("accounts:team_edit", args=[team.pk])

    members = []

    def build(index):
        user = UserFactory(username=f"member-{index}")
        members.append(user)
        add_member(team, user)
        if index % 5 == 0:
            team.heads.add(user)

    response = one_then_fifty(build, 7, lambda: client.get(url), django_assert_num_queries)
    html = response.content.decode()
    assert all(str(user) in html for user in members)


def test_user_card(org, django_assert_num_queries):
    client, url = client_for(org.admin), reverse("accounts:user_edit", args=[org.manager.pk])

    def build(index):
        team = TeamFactory(name=f"Отдел {index}")
        add_member(team, org.manager)
        if index % 2:
            team.heads.add(org.manager)

    response = one_then_fifty(build, 7, lambda: client.get(url), django_assert_num_queries)
    assert "Отдел 49" in response.content.decode()
