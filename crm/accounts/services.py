"""Writes for users, teams, API tokens and the append-only audit log."""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import secrets
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.contrib.auth import password_validation
from django.contrib.auth.hashers import make_password
from django.contrib.sessions.models import Session
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.accounts.models import APIToken, SecurityEvent, Team, TeamMembership, User
from crm.accounts.permissions import USERS_AND_TEAMS
from crm.accounts.zones import is_time_zone
from crm.core.errors import PermissionDenied, ValidationFailed
from crm.core.http import client_address
from crm.core.models import excluding
from crm.core.permissions import Role

security_log = logging.getLogger("crm.security")
_USERNAME_RE = re.compile(r"[\w.@+-]+")

USER_FIELDS = (
    "username",
    "first_name",
    "last_name",
    "email",
    "role",
    "language",
    "phone",
    "position",
    "away_from",
    "away_until",
    "time_zone",
)


def _without_nul(value: Any) -> Any:
    """``value`` with NUL characters dropped from its strings (PostgreSQL refuses them)."""
    if isinstance(value, str):
        return value.replace("\x00", "")
    if isinstance(value, dict):
        return {_without_nul(key): _without_nul(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_without_nul(item) for item in value]
    return value


def security_event_record(
    *,
    kind: str,
    request: HttpRequest | None = None,
    user: User | None = None,
    actor: User | None = None,
    username: str = "",
    data: dict[str, Any] | None = None,
    ip_address: str | None = None,
) -> SecurityEvent:
    """Append an event to the audit log and write it to the ``crm.security`` log.

    The address is the request's client address, or ``ip_address`` for a service that has
    no request (its view passes ``client_address(request)`` down). Never logs secrets: ``data``
    holds names, ids and counts only.
    """
    event = SecurityEvent.objects.create(
        kind=kind,
        user=user,
        actor=actor,
        username=_without_nul(username or (user.username if user else ""))[:150],
        ip_address=client_address(request) if request is not None else (ip_address or None),
        user_agent=_without_nul(request.META.get("HTTP_USER_AGENT", "") if request else "")[:300],
        data=_without_nul(data or {}),
    )
    security_log.info(
        "%s user=%s actor=%s ip=%s",
        kind,
        event.username,
        actor.username if actor else "-",
        event.ip_address or "-",
    )
    return event


def _validate_user_fields(fields: dict[str, Any], *, instance: User | None) -> None:
    errors: dict[str, list[str]] = {}
    if "username" in fields:
        fields["username"] = User.normalize_username(str(fields["username"] or ""))
    username = fields.get("username", instance.username if instance else "")
    if not username:
        errors["username"] = [_("Enter a user name.")]
    elif len(username) > 150 or not _USERNAME_RE.fullmatch(username):
        errors["username"] = [
            _("Up to 150 letters, digits and @ . + - _ characters, without spaces.")
        ]
    elif excluding(User.objects.filter(username=username), instance).exists():
        errors["username"] = [_("This user name is taken.")]
    if "role" in fields and fields["role"] not in Role.values:
        errors["role"] = [_("Unknown role.")]
    if fields.get("time_zone") and not is_time_zone(str(fields["time_zone"])):
        errors["time_zone"] = [_("Unknown time zone, e.g. Europe/Moscow.")]
    away_from = fields.get("away_from", instance.away_from if instance else None)
    away_until = fields.get("away_until", instance.away_until if instance else None)
    if away_from and away_until and away_until < away_from:
        errors["away_until"] = [_("The end of the absence is before its start.")]
    if errors:
        raise ValidationFailed(_("Check the user's fields."), field_errors=errors)


@transaction.atomic
def user_create(
    *,
    actor: User,
    password: str | None = None,
    teams: Iterable[Team] = (),
    ip_address: str | None = None,
    **fields: object,
) -> User:
    """Create a user (administrators only). Without a password the user cannot sign in yet."""
    USERS_AND_TEAMS.check(actor)
    unknown = set(fields) - set(USER_FIELDS)
    if unknown:
        raise ValidationFailed(field_errors={name: [_("Unknown field.")] for name in unknown})
    _validate_user_fields(fields, instance=None)
    user = User(**fields)
    user.is_superuser = user.is_staff = fields.get("role") == Role.ADMIN
    if password:
        user.set_password(password)
    else:
        user.set_unusable_password()
    user.save()
    for team in teams:
        TeamMembership.objects.get_or_create(team=team, user=user)
    security_event_record(
        kind=SecurityEvent.Kind.USER_CREATED,
        user=user,
        actor=actor,
        ip_address=ip_address,
        data={"role": user.role, "teams": sorted(team.name for team in teams)},
    )
    return user


@transaction.atomic
def user_update(
    *,
    actor: User,
    user: User,
    password: str | None = None,
    teams: Iterable[Team] | None = None,
    ip_address: str | None = None,
    **fields: object,
) -> User:
    """Change a user's profile, role, teams or password (administrators only).

    The audit log gets a "user changed" event naming the changed fields, with the old and
    new role and team names when those changed, and a "password set by an administrator"
    event when a password was given (never the password itself).
    """
    USERS_AND_TEAMS.check(actor)
    unknown = set(fields) - set(USER_FIELDS)
    if unknown:
        raise ValidationFailed(field_errors={name: [_("Unknown field.")] for name in unknown})
    _validate_user_fields(fields, instance=user)
    if user.pk == actor.pk and fields.get("role", user.role) != Role.ADMIN:
        raise ValidationFailed(field_errors={"role": [_("You cannot demote yourself.")]})
    changed = {name: str(value) for name, value in fields.items() if getattr(user, name) != value}
    data: dict[str, Any] = {}
    if "role" in changed:
        data["role"] = {"old": user.role, "new": fields["role"]}
    for name, value in fields.items():
        setattr(user, name, value)
    user.is_superuser = user.is_staff = user.role == Role.ADMIN
    if password:
        user.set_password(password)
        changed["password"] = "***"  # noqa: S105 - a mask, not a secret
    user.save()
    if teams is not None:
        old_teams = sorted(Team.objects.filter(members=user).values_list("name", flat=True))
        team_ids = {team.pk for team in teams}
        TeamMembership.objects.filter(user=user).exclude(team_id__in=team_ids).delete()
        for team_id in team_ids:
            TeamMembership.objects.get_or_create(team_id=team_id, user=user)
        new_teams = sorted(Team.objects.filter(members=user).values_list("name", flat=True))
        if new_teams != old_teams:
            changed["teams"] = ""
            data["teams"] = {"old": old_teams, "new": new_teams}
    if changed:
        security_event_record(
            kind=SecurityEvent.Kind.USER_CHANGED,
            user=user,
            actor=actor,
            ip_address=ip_address,
            data={"fields": sorted(changed), **data},
        )
    if password:
        security_event_record(
            kind=SecurityEvent.Kind.PASSWORD_RESET, user=user, actor=actor, ip_address=ip_address
        )
    return user


def password_change(
    *, user: User, old_password: str, new_password: str, request: HttpRequest | None = None
) -> User:
    """A user changes their own password: the old one is checked, the new one validated.

    Side effect: a "password changed" audit event. The caller keeps the session signed in
    (``update_session_auth_hash``); the user's other sessions end as Django's hash changes.
    """
    errors: dict[str, list[str]] = {}
    if not user.check_password(old_password or ""):
        errors["old_password"] = [_("Wrong password.")]
    else:
        try:
            password_validation.validate_password(new_password or "", user)
        except DjangoValidationError as error:
            errors["new_password1"] = list(error.messages)
    if errors:
        raise ValidationFailed(_("Check the passwords."), field_errors=errors)
    user.set_password(new_password)
    user.save(update_fields=["password"])
    security_event_record(
        kind=SecurityEvent.Kind.PASSWORD_CHANGED, request=request, user=user, actor=user
    )
    return user


def user_set_time_zone(*, user: User, time_zone: str) -> User:
    """A user picks the time zone of their periods and days (empty: their team's zone,
    otherwise the site's)."""
    return user_preferences_set(user=user, time_zone=time_zone)


def user_preferences_set(*, user: User, time_zone: str, weekly_summary: bool | None = None) -> User:
    """A user's own settings page: the time zone of their periods and days (empty: their
    team's zone, otherwise the site's) and, when given, whether they get the weekly e-mail
    summary (only a head of sales or an administrator has one: anyone else is refused,
    naming ``weekly_summary``). Nothing is saved when anything is refused."""
    time_zone = (time_zone or "").strip()
    errors: dict[str, list[str]] = {}
    if time_zone and not is_time_zone(time_zone):
        errors["time_zone"] = [_("Unknown time zone, e.g. Europe/Moscow.")]
    if weekly_summary is not None and not user.may_get_weekly_summary:
        errors["weekly_summary"] = [
            _("Only heads of sales and administrators get the weekly summary.")
        ]
    if errors:
        raise ValidationFailed(field_errors=errors)
    user.time_zone = time_zone
    fields = ["time_zone"]
    if weekly_summary is not None:
        user.weekly_summary = weekly_summary
        fields.append("weekly_summary")
    user.save(update_fields=fields)
    return user


def user_set_language(*, user: User, language: str) -> User:
    """A user picks their interface language (empty: follow the browser)."""
    if language not in {"", *dict(User._meta.get_field("language").choices or [])}:
        raise ValidationFailed(field_errors={"language": [_("Unknown language.")]})
    user.language = language
    user.save(update_fields=["language"])
    return user


def _end_sessions(user: User) -> int:
    """Delete every stored session of ``user``; returns how many were removed."""
    ended = 0
    sessions = Session.objects.filter(expire_date__gt=timezone.now()).iterator()
    for session in sessions:
        if str(session.get_decoded().get("_auth_user_id")) == str(user.pk):
            session.delete()
            ended += 1
    return ended


@transaction.atomic
def user_deactivate(*, actor: User, user: User, ip_address: str | None = None) -> User:
    """Lock a user out at once: sessions deleted, API tokens revoked, sign-in refused.

    The user's records stay; move them to a colleague with the bulk reassignment.
    """
    USERS_AND_TEAMS.check(actor)
    if user.pk == actor.pk:
        raise ValidationFailed(field_errors={"is_active": [_("You cannot deactivate yourself.")]})
    user.is_active = False
    user.save(update_fields=["is_active"])
    revoked = APIToken.objects.filter(user=user, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )
    sessions = _end_sessions(user)
    security_event_record(
        kind=SecurityEvent.Kind.USER_DEACTIVATED,
        user=user,
        actor=actor,
        ip_address=ip_address,
        data={"sessions_ended": sessions, "tokens_revoked": revoked},
    )
    return user


@transaction.atomic
def user_reactivate(*, actor: User, user: User, ip_address: str | None = None) -> User:
    USERS_AND_TEAMS.check(actor)
    user.is_active = True
    user.save(update_fields=["is_active"])
    security_event_record(
        kind=SecurityEvent.Kind.USER_REACTIVATED, user=user, actor=actor, ip_address=ip_address
    )
    return user


@transaction.atomic
def team_save(
    *,
    actor: User,
    name: str,
    members: Iterable[User],
    heads: Iterable[User],
    team: Team | None = None,
    ip_address: str | None = None,
) -> Team:
    """Create or change a team with its members and heads (administrators only).

    The audit log gets "team created" or "team changed" with the name and the user names
    added to and removed from the members and the heads.
    """
    USERS_AND_TEAMS.check(actor)
    name = (name or "").strip()
    if not name:
        raise ValidationFailed(field_errors={"name": [_("Enter the team's name.")]})
    if len(name) > 120:
        raise ValidationFailed(field_errors={"name": [_("At most 120 characters.")]})
    # Compared in Python: SQLite folds the case of ASCII letters only (Москва ≠ москва).
    others = excluding(Team.objects.all(), team).values_list("name", flat=True)
    if name.casefold() in {other.casefold() for other in others}:
        raise ValidationFailed(field_errors={"name": [_("A team with this name exists.")]})
    creating = team is None
    team = team or Team()
    before = _team_people(team) if not creating else {"members": set(), "heads": set()}
    old_name = team.name
    team.name = name
    team.save()
    member_ids = {member.pk for member in members}
    TeamMembership.objects.filter(team=team).exclude(user_id__in=member_ids).delete()
    existing = set(TeamMembership.objects.filter(team=team).values_list("user_id", flat=True))
    TeamMembership.objects.bulk_create(
        [TeamMembership(team=team, user_id=uid) for uid in member_ids - existing]
    )
    team.heads.set(list(heads))
    after = _team_people(team)
    data: dict[str, Any] = {"team": team.name, "team_id": team.pk}
    if not creating and old_name != name:
        data["old_name"] = old_name
    for side in ("members", "heads"):
        added, removed = after[side] - before[side], before[side] - after[side]
        if added:
            data[f"{side}_added"] = sorted(added)
        if removed:
            data[f"{side}_removed"] = sorted(removed)
    if creating or len(data) > 2:
        security_event_record(
            kind=SecurityEvent.Kind.TEAM_CREATED if creating else SecurityEvent.Kind.TEAM_CHANGED,
            actor=actor,
            ip_address=ip_address,
            data=data,
        )
    return team


def _team_people(team: Team) -> dict[str, set[str]]:
    return {
        "members": set(
            TeamMembership.objects.filter(team=team).values_list("user__username", flat=True)
        ),
        "heads": set(team.heads.values_list("username", flat=True)),
    }


def _hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@transaction.atomic
def api_token_create(
    *, user: User, name: str, expires_at: datetime | None = None, request: HttpRequest | None = None
) -> tuple[APIToken, str]:
    """Issue a personal token; returns the row and the secret, which is shown only once."""
    name = (name or "").strip()
    if not name or len(name) > 100:
        raise ValidationFailed(field_errors={"name": [_("Name the token (up to 100 characters).")]})
    prefix = secrets.token_hex(4)
    secret = f"crm_{prefix}_{secrets.token_urlsafe(32)}"
    token = APIToken.objects.create(
        user=user, name=name, prefix=prefix, token_hash=_hash_token(secret), expires_at=expires_at
    )
    security_event_record(
        kind=SecurityEvent.Kind.TOKEN_CREATED,
        user=user,
        actor=user,
        request=request,
        data={"prefix": prefix},
    )
    return token, secret


def api_token_revoke(
    *, actor: User, token: APIToken, request: HttpRequest | None = None
) -> APIToken:
    if token.user_id != actor.pk and actor.role != Role.ADMIN:
        raise PermissionDenied(_("This is not your token."))
    token.revoked_at = timezone.now()
    token.save(update_fields=["revoked_at"])
    security_event_record(
        kind=SecurityEvent.Kind.TOKEN_REVOKED,
        user=token.user,
        actor=actor,
        request=request,
        data={"prefix": token.prefix},
    )
    return token


def api_token_authenticate(raw: str) -> User | None:
    """The active user a presented token belongs to, or ``None``. Updates ``last_used_at``."""
    parts = (raw or "").split("_")
    if len(parts) < 3 or parts[0] != "crm" or len(raw) > 200:
        return None
    token = APIToken.objects.select_related("user").filter(prefix=parts[1]).first()
    if token is None or not hmac.compare_digest(token.token_hash, _hash_token(raw)):
        return None
    if not token.is_usable or not token.user.is_active:
        return None
    now = timezone.now()
    if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60:
        APIToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token.user


def users_restored_without_password() -> list[str]:
    """Give every user without a password hash (a restore of the full export writes users
    without one: hashes never leave) an unusable one, and answer a note naming how many:
    they cannot sign in until an administrator sets their password (the users page, or
    ``manage.py changepassword``). Users already here keep theirs. For the restore, inside
    its transaction."""
    rows = User.objects.filter(password="")
    count = 0
    for pk in list(rows.values_list("pk", flat=True)):
        count += User.objects.filter(pk=pk).update(password=make_password(None))
    if not count:
        return []
    return [
        _(
            "%(count)d users were restored without a password: they cannot sign in until an "
            "administrator sets one (the Users page, or manage.py changepassword)."
        )
        % {"count": count}
    ]
