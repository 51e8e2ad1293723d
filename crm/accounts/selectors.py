"""Reads for the administration pages: users, teams, API tokens and the audit log.

Every selector that shows other people's accounts checks that the viewer is an
administrator and owns its ``prefetch_related``, so a list costs the same number of queries
for one row and for a hundred.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import asdict, dataclass

from django.db.models import Prefetch, Q, QuerySet
from django.utils.translation import gettext as _

from crm.accounts.models import APIToken, SecurityEvent, Team, User
from crm.accounts.permissions import ADMIN_PAGES
from crm.core.dates import local_dates
from crm.core.errors import NotFound
from crm.core.pagination import Page, keyset_page
from crm.core.permissions import Role

SECURITY_PAGE_SIZE = 50


def user_list(*, actor: User) -> list[User]:
    """Every user, active first, with their teams and led teams loaded (administrators only)."""
    ADMIN_PAGES.check(actor)
    return list(
        User.objects.order_by("-is_active", "last_name", "first_name", "username").prefetch_related(
            Prefetch("teams", queryset=Team.objects.order_by("name")),
            Prefetch("led_teams", queryset=Team.objects.order_by("name")),
        )
    )


def user_get(*, actor: User, pk: int) -> User:
    """One user with teams and API tokens loaded (administrators only); 404 if missing."""
    ADMIN_PAGES.check(actor)
    user = (
        User.objects.prefetch_related(
            "teams", Prefetch("api_tokens", queryset=APIToken.objects.order_by("-created_at"))
        )
        .filter(pk=pk)
        .first()
    )
    if user is None:
        raise NotFound(_("User not found."))
    return user


def team_list(*, actor: User) -> list[Team]:
    """Every team with its members and heads loaded (administrators only)."""
    ADMIN_PAGES.check(actor)
    people = User.objects.order_by("last_name", "first_name", "username")
    return list(
        Team.objects.order_by("name").prefetch_related(
            Prefetch("members", queryset=people), Prefetch("heads", queryset=people)
        )
    )


def team_get(*, actor: User, pk: int) -> Team:
    """One team with members and heads (administrators only); 404 if missing."""
    ADMIN_PAGES.check(actor)
    team = Team.objects.prefetch_related("members", "heads").filter(pk=pk).first()
    if team is None:
        raise NotFound(_("Team not found."))
    return team


def user_choices(*, actor: User) -> QuerySet[User]:
    """Users an administrator may put into a team (active ones)."""
    ADMIN_PAGES.check(actor)
    return User.objects.filter(is_active=True).order_by("last_name", "first_name", "username")


def team_choices() -> QuerySet[Team]:
    return Team.objects.order_by("name")


def token_list(*, user: User) -> list[APIToken]:
    """The signed-in user's own API tokens, newest first (revoked ones included)."""
    return list(APIToken.objects.filter(user=user).order_by("-created_at", "-id"))


def token_get(*, actor: User, pk: int) -> APIToken:
    """A token the actor may manage: their own, or any for an administrator; 404 otherwise."""
    tokens = APIToken.objects.select_related("user")
    if not (actor.is_active and actor.role == Role.ADMIN):
        tokens = tokens.filter(user=actor)
    token = tokens.filter(pk=pk).first()
    if token is None:
        raise NotFound(_("Token not found."))
    return token


@dataclass(frozen=True)
class AuditFilter:
    """What the audit log page and its export narrow the events by (each part optional): the
    kind, the user concerned, who did it, a period of local dates (both ends included) and
    the address."""

    kind: str = ""
    user_id: int | None = None
    actor_id: int | None = None
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    address: str = ""

    def as_text(self) -> dict[str, str]:
        """The parts that are set, as text (what the export's own audit record keeps)."""
        return {key: str(value) for key, value in asdict(self).items() if value}


def _audit_events(filters: AuditFilter) -> QuerySet[SecurityEvent]:
    events = SecurityEvent.objects.select_related("user", "actor")
    if filters.kind:
        events = events.filter(kind=filters.kind)
    if filters.user_id:
        events = events.filter(user_id=filters.user_id)
    if filters.actor_id:
        events = events.filter(actor_id=filters.actor_id)
    if filters.date_from or filters.date_to:
        events = events.filter(local_dates("created_at", filters.date_from, filters.date_to))
    if filters.address:
        events = events.filter(ip_address=filters.address)
    return events


def security_event_list(
    *,
    actor: User,
    filters: AuditFilter = AuditFilter(),
    cursor: str | None = None,
    limit: int = SECURITY_PAGE_SIZE,
) -> Page[SecurityEvent]:
    """A page of the audit log, newest first, narrowed by ``filters`` (administrators)."""
    ADMIN_PAGES.check(actor)
    return keyset_page(
        _audit_events(filters), order=["-created_at", "-id"], cursor=cursor, limit=limit
    )


def security_event_export(
    *, actor: User, filters: AuditFilter = AuditFilter()
) -> tuple[int, Iterator[SecurityEvent]]:
    """How many events ``filters`` select and all of them, newest first, read in chunks
    (administrators only). The count is taken before the rows are streamed."""
    ADMIN_PAGES.check(actor)
    events = _audit_events(filters)
    return events.count(), events.order_by("-created_at", "-id").iterator(chunk_size=2000)


# --- the user directory (added with the REST API) --------------------------------------------


def _directory(*, actor: User) -> QuerySet[User]:
    """Users ``actor`` may look up: active ones for everybody, all for an administrator."""
    users = User.objects.prefetch_related(Prefetch("teams", queryset=Team.objects.order_by("name")))
    if not (actor.is_active and actor.role == Role.ADMIN):
        users = users.filter(is_active=True)
    return users


def user_directory(
    *, actor: User, q: str = "", cursor: str | None = None, limit: int = 50
) -> Page[User]:
    """A page of colleagues' basic information (name, role, teams), by name.

    Any signed-in user reads it (to pick a responsible or share a record); only an
    administrator also sees deactivated users.
    """
    users = _directory(actor=actor)
    q = (q or "").strip()[:100]
    if q:
        users = users.filter(
            Q(username__icontains=q) | Q(first_name__icontains=q) | Q(last_name__icontains=q)
        )
    return keyset_page(users, order=["last_name", "first_name", "id"], cursor=cursor, limit=limit)


def user_directory_get(*, actor: User, pk: int) -> User:
    """One colleague from the directory, with teams loaded; 404 if missing or hidden."""
    user = _directory(actor=actor).filter(pk=pk).first()
    if user is None:
        raise NotFound(_("User not found."))
    return user


def team_heads_of(user_id: int) -> list[User]:
    """Active heads of the teams ``user_id`` belongs to (not the user themself)."""
    return list(
        User.objects.filter(led_teams__members=user_id, is_active=True)
        .exclude(pk=user_id)
        .distinct()
    )


def weekly_summary_recipients() -> QuerySet[User]:
    """Who gets the weekly e-mail summary (``User.wants_weekly_summary`` as a query): active
    heads of sales leading at least one team who have not switched it off, and active
    administrators who have switched it on. Their teams (by name) are loaded for their zone."""
    heads = Q(role=Role.HEAD, led_teams__isnull=False) & (
        Q(weekly_summary=True) | Q(weekly_summary__isnull=True)
    )
    admins = Q(role=Role.ADMIN, weekly_summary=True)
    chosen = User.objects.filter(heads | admins, is_active=True).values("pk")
    return (
        User.objects.filter(pk__in=chosen)
        .order_by("pk")
        .prefetch_related(Prefetch("teams", queryset=Team.objects.order_by("name")))
    )


def user_names() -> dict[int, str]:
    """Every user's name as lists show it (full name, else the login), by id: for exports,
    which name the responsible of many rows and read the users once."""
    return {
        pk: " ".join(part for part in (first, last) if part) or username
        for pk, first, last, username in User.objects.values_list(
            "pk", "first_name", "last_name", "username"
        )
    }
