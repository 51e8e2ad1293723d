"""Who is away: the absences a user sees and the board of a team's absences by day."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import Q

from crm.accounts.models import Team, TeamMembership, User
from crm.core.permissions import Role, sees_everything
from crm.planner.choices import AbsenceKind
from crm.planner.models import Absence
from crm.planner.querysets import AbsenceQuerySet

# --- absences ------------------------------------------------------------------------------


def _team_mates(user: User) -> Any:
    """Ids (a subquery) of the members of the teams ``user`` is in or leads."""
    teams = TeamMembership.objects.filter(user=user).values("team_id")
    led = Team.objects.filter(heads=user).values("pk")
    return TeamMembership.objects.filter(Q(team_id__in=teams) | Q(team_id__in=led)).values(
        "user_id"
    )


def absences_visible_to(user: User) -> AbsenceQuerySet:
    """Absences of the user's teams (whoever is in them sees who is away), their own, the
    ones they cover, and every absence for an administrator."""
    absences: AbsenceQuerySet = Absence.objects.all()
    if not user.is_active:
        return absences.none()
    if sees_everything(user):
        return absences
    return absences.filter(Q(user=user) | Q(substitute=user) | Q(user_id__in=_team_mates(user)))


def away_user_ids(*, user: User, on: dt.date) -> set[int]:
    """Of the users away on ``on`` (``users_away``: an absence or the profile's dates), those
    whose absences ``user`` may see: themselves, their teams', the ones they cover; all for
    an administrator."""
    from crm.planner.services.absences import users_away

    if not user.is_active:
        return set()
    away = users_away(on)
    if not away or sees_everything(user):
        return away
    covered = Absence.objects.on(on).filter(substitute=user).values("user_id")
    visible = get_user_model().objects.filter(
        Q(pk=user.pk) | Q(pk__in=_team_mates(user)) | Q(pk__in=covered), pk__in=away
    )
    return set(visible.values_list("pk", flat=True))


@dataclass
class AwayRow:
    user: User
    days: list[str]  # per day of the period: "" or the absence kind
    absences: list[Absence]

    @property
    def cells(self) -> list[tuple[str, str]]:
        """Per day: the kind and its label ("" and "" when present)."""
        labels = dict(AbsenceKind.choices)
        return [(kind, str(labels.get(kind, ""))) for kind in self.days]


def absence_board(
    *, user: User, start: dt.date, days: int = 28, team_id: int | None = None
) -> tuple[list[dt.date], list[AwayRow], list[Absence]]:
    """Who is away over ``days`` days from ``start``: a row per person of the viewer's
    teams (or of one team) with the kind of absence on each day, and the absences listed.
    Three queries whatever the number of people."""
    end = start + dt.timedelta(days=days - 1)
    dates = [start + dt.timedelta(days=offset) for offset in range(days)]
    visible = absences_visible_to(user).with_people().overlapping(start, end)
    if team_id:
        members = TeamMembership.objects.filter(team_id=team_id).values("user_id")
        visible = visible.filter(user_id__in=members)
    absences = list(visible.order_by("starts_on", "id"))
    people: dict[int, AwayRow] = {}
    for absence in absences:
        row = people.setdefault(absence.user_id, AwayRow(absence.user, [""] * days, []))
        row.absences.append(absence)
        for index, day in enumerate(dates):
            if absence.starts_on <= day <= absence.ends_on:
                row.days[index] = absence.kind
    rows = sorted(people.values(), key=lambda row: (row.user.last_name, row.user.first_name))
    return dates, rows, absences


def user_teams(user: User) -> list[Team]:
    """Teams the user belongs to or leads (every team for an administrator)."""
    if sees_everything(user):
        return list(Team.objects.order_by("name"))
    return list(Team.objects.filter(Q(members=user) | Q(heads=user)).distinct().order_by("name"))


def absence_people(*, actor: User) -> list[Any]:
    """Whose absence the actor may record: themselves, their teams' members if a head,
    everyone for an administrator."""
    users = get_user_model().objects.filter(is_active=True)
    if sees_everything(actor):
        return list(users.order_by("last_name", "first_name"))
    if actor.role == Role.HEAD:
        led = TeamMembership.objects.filter(team__heads=actor).values("user_id")
        return list(users.filter(Q(pk=actor.pk) | Q(pk__in=led)).order_by("last_name"))
    return [actor]
