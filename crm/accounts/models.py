"""Users, teams, personal API tokens, two-factor devices and the append-only audit log."""

from __future__ import annotations

import datetime as dt
from functools import cached_property
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractUser, UserManager
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from crm.core.models import TimeStampedModel
from crm.core.permissions import Role
from crm.core.permissions import can_export as may_export
from crm.core.permissions import can_write as may_write


class CaseInsensitiveUserManager(UserManager["User"]):
    """User names are stored lower-cased, so look-ups fold the case in Python.

    SQLite's ``LOWER``/``LIKE`` fold ASCII only; folding before the query makes ``Петров`` and
    ``петров`` one account on every database.
    """

    def get_by_natural_key(self, username: str | None) -> User:
        user: User = self.get(**{self.model.USERNAME_FIELD: (username or "").strip().lower()})
        return user

    def create_superuser(
        self,
        username: str,
        email: str | None = None,
        password: str | None = None,
        **extra_fields: object,
    ) -> User:
        """``manage.py createsuperuser`` makes an administrator of the CRM, not a manager."""
        extra_fields.setdefault("role", Role.ADMIN)
        user: User = super().create_superuser(username, email, password, **extra_fields)
        return user


class User(AbstractUser):
    """A person who signs in. ``role`` decides what they see and may change.

    Invariant: ``is_superuser`` users are administrators. A deactivated user
    (``is_active=False``) cannot sign in, and their sessions and tokens are gone.
    """

    role = models.CharField(_("role"), max_length=16, choices=Role.choices, default=Role.MANAGER)
    language = models.CharField(
        _("language"),
        max_length=8,
        blank=True,
        choices=settings.LANGUAGES,
        help_text=_("Empty: follow the browser."),
    )
    phone = models.CharField(_("phone"), max_length=32, blank=True)
    position = models.CharField(_("position"), max_length=120, blank=True)
    away_from = models.DateField(_("away from"), null=True, blank=True)
    away_until = models.DateField(_("away until"), null=True, blank=True)
    time_zone = models.CharField(
        _("time zone"),
        max_length=64,
        blank=True,
        help_text=_("Empty: the zone of the user's team, otherwise the site's."),
    )
    # The weekly e-mail summary of a head of sales (or an administrator): None follows the
    # role (on for a head, off for an administrator), True/False is the person's own choice.
    weekly_summary = models.BooleanField(
        _("weekly e-mail summary"),
        null=True,
        blank=True,
        help_text=_("Empty: on for a head of sales, off for an administrator."),
    )

    objects = CaseInsensitiveUserManager()  # type: ignore[misc]

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")
        ordering = ["last_name", "first_name", "username"]

    def __str__(self) -> str:
        return self.get_full_name() or self.username

    @classmethod
    def normalize_username(cls, username: str) -> str:
        return super().normalize_username(username).strip().lower()

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN

    @property
    def is_head(self) -> bool:
        return self.role == Role.HEAD

    @property
    def is_readonly(self) -> bool:
        return self.role == Role.READONLY

    @property
    def may_get_weekly_summary(self) -> bool:
        """Whether the role has a weekly e-mail summary to switch on or off (a head of sales,
        an administrator); who actually gets it is ``selectors.weekly_summary_recipients``."""
        return self.role in (Role.HEAD, Role.ADMIN)

    @property
    def wants_weekly_summary(self) -> bool:
        """The weekly summary is on: the person's own choice, else the role's default (on
        for a head of sales, off for an administrator, who is often a technical account)."""
        if not self.may_get_weekly_summary:
            return False
        if self.weekly_summary is None:
            return self.role == Role.HEAD
        return self.weekly_summary

    @property
    def can_write(self) -> bool:
        """Whether the user may change data at all (the rule of ``crm.core.permissions``)."""
        return may_write(self)

    @property
    def can_export(self) -> bool:
        """Whether the user's role may export lists (``CRM_EXPORT_ROLES``)."""
        return may_export(self)

    def is_away(self, on: dt.date | None = None) -> bool:
        day = on or timezone.localdate()
        return bool(self.away_from and self.away_until and self.away_from <= day <= self.away_until)

    @cached_property
    def scope_owner_ids(self) -> frozenset[int]:
        """Ids of users whose records this user sees by role (cached for the request).

        Whom a substitute covers for today is not here: the access policies add it
        (``crm.core.policies.OwnedRecordPolicy.cover``), and the planner's cover reads this
        scope in its own query when it is not read yet (``scope_memberships``).
        """
        memberships = self.scope_memberships()
        if memberships is None:
            return frozenset({self.pk})
        return frozenset({self.pk, *memberships.values_list("user_id", flat=True)})

    def scope_memberships(self) -> models.QuerySet[TeamMembership] | None:
        """The team memberships whose users are in this user's scope by role besides
        themselves (a head's teams' members; a read-only user's co-members), or ``None``
        when the role's scope is the user alone (one query, not run here)."""
        if self.role == Role.HEAD:
            return TeamMembership.objects.filter(team__heads=self)
        if self.role == Role.READONLY:
            mine = TeamMembership.objects.filter(user=self).values_list("team_id", flat=True)
            return TeamMembership.objects.filter(team_id__in=mine)
        return None

    def scope_is_read(self) -> bool:
        """Whether ``scope_owner_ids`` is cached (a method: through a request's lazy user
        it answers for the user, not the proxy)."""
        return "scope_owner_ids" in self.__dict__

    def scope_remember(self, owner_ids: frozenset[int]) -> None:
        """Cache ``scope_owner_ids`` as read by a caller's own query of ``scope_memberships``
        (with the user's own id)."""
        self.__dict__["scope_owner_ids"] = owner_ids


class Team(TimeStampedModel):
    """A sales team: its members and the heads of sales who see and manage their records."""

    name = models.CharField(_("name"), max_length=120, unique=True)
    members = models.ManyToManyField(
        User, through="TeamMembership", related_name="teams", verbose_name=_("members")
    )
    heads = models.ManyToManyField(
        User, related_name="led_teams", blank=True, verbose_name=_("heads")
    )
    # When the team's daily digest of overdue tasks goes out, in the team's time zone.
    digest_time = models.TimeField(_("overdue digest at"), default=dt.time(9, 0))
    time_zone = models.CharField(
        _("time zone"), max_length=64, blank=True, help_text=_("Empty: the site's time zone.")
    )

    class Meta:
        verbose_name = _("team")
        verbose_name_plural = _("teams")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class TeamMembership(models.Model):
    """A user's membership of a team."""

    team = models.ForeignKey(Team, on_delete=models.CASCADE)
    user = models.ForeignKey(User, on_delete=models.CASCADE)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["team", "user"], name="team_membership_unique")
        ]


class APIToken(TimeStampedModel):
    """A personal API token. Only a SHA-256 hash of the secret is stored.

    The token reads ``crm_<prefix>_<secret>``; ``prefix`` finds the row, the hash of the whole
    token is compared in constant time. A revoked or expired token, or one whose user is
    inactive, authenticates nobody.
    """

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(_("name"), max_length=100)
    prefix = models.CharField(max_length=12, unique=True)
    token_hash = models.CharField(max_length=64)
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True)
    expires_at = models.DateTimeField(_("expires"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)

    class Meta:
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_usable(self) -> bool:
        now = timezone.now()
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > now)


class AppendOnlyError(Exception):
    """Raised when code tries to change or delete a row of the audit log."""


class SecurityEventQuerySet(models.QuerySet["SecurityEvent"]):
    """The audit log's rows: read and append, never changed or deleted in bulk."""

    def update(self, **kwargs: Any) -> int:
        raise AppendOnlyError("The audit log is append-only.")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise AppendOnlyError("The audit log is append-only.")


class SecurityEvent(models.Model):
    """One row of the append-only audit log: who did what, when, from which address.

    Invariant: a row is written once and never changed or deleted by the application —
    ``save()`` of a stored row, ``delete()`` and the queryset's ``update()``/``delete()``
    raise ``AppendOnlyError``, and database triggers refuse ``UPDATE`` (both databases) and
    ``DELETE`` (PostgreSQL; see migration 0005). The user and actor columns keep the id of a
    deleted user (no foreign-key constraint), so deleting a user never rewrites the log.
    ``data`` never holds a secret.
    """

    class Kind(models.TextChoices):
        LOGIN = "login", _("Signed in")
        LOGIN_PASSWORD = "login_password", _("Password accepted, second factor asked")
        LOGIN_FAILED = "login_failed", _("Failed sign-in")
        LOGIN_THROTTLED = "login_throttled", _("Sign-in throttled")
        LOGOUT = "logout", _("Signed out")
        TWO_FACTOR_PASSED = "2fa_passed", _("Second factor accepted")
        TWO_FACTOR_FAILED = "2fa_failed", _("Wrong second-factor code")
        TWO_FACTOR_THROTTLED = "2fa_throttled", _("Second factor throttled")
        RECOVERY_CODE_USED = "recovery_code_used", _("Recovery code used")
        TWO_FACTOR_ENABLED = "2fa_enabled", _("Two-factor sign-in turned on")
        TWO_FACTOR_DISABLED = "2fa_disabled", _("Two-factor sign-in turned off")
        TWO_FACTOR_RESET = "2fa_reset", _("Two-factor sign-in reset by an administrator")
        RECOVERY_CODES_REGENERATED = "recovery_codes_new", _("New recovery codes")
        PASSWORD_CHANGED = "password_changed", _("Password changed")
        PASSWORD_RESET = "password_reset", _("Password set by an administrator")
        USER_CREATED = "user_created", _("User created")
        USER_CHANGED = "user_changed", _("User changed")
        USER_DEACTIVATED = "user_deactivated", _("User deactivated")
        USER_REACTIVATED = "user_reactivated", _("User reactivated")
        TEAM_CREATED = "team_created", _("Team created")
        TEAM_CHANGED = "team_changed", _("Team changed")
        TOKEN_CREATED = "token_created", _("API token created")
        TOKEN_REVOKED = "token_revoked", _("API token revoked")
        EXPORT = "export", _("Data exported")
        IMPORT = "import", _("Data imported")
        MERGE = "merge", _("Records merged")
        REASSIGN = "reassign", _("Records reassigned in bulk")

    kind = models.CharField(_("event"), max_length=32, choices=Kind.choices)
    user = models.ForeignKey(
        User,
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
    )
    actor = models.ForeignKey(
        User,
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
    )
    username = models.CharField(_("user name"), max_length=150, blank=True)
    ip_address = models.GenericIPAddressField(_("address"), null=True, blank=True)
    user_agent = models.CharField(max_length=300, blank=True)
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(_("time"), default=timezone.now, db_index=True)

    objects = SecurityEventQuerySet.as_manager()

    class Meta:
        verbose_name = _("audit event")
        verbose_name_plural = _("audit log")
        ordering = ["-created_at"]

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise AppendOnlyError("The audit log is append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise AppendOnlyError("The audit log is append-only.")


class TwoFactorDevice(TimeStampedModel):
    """A user's authenticator (TOTP, RFC 6238: 30-second steps, 6 digits).

    The shared secret is stored encrypted (``crm.accounts.twofactor``) and never shown again
    after set-up. ``confirmed_at`` is empty while the user has not yet proved the app works;
    only a confirmed device makes sign-in two steps. ``last_used_step`` is the time step of
    the last accepted code: a code of that step or an earlier one is refused (no replay).
    """

    user = models.OneToOneField(User, on_delete=models.CASCADE, related_name="two_factor")
    secret_encrypted = models.TextField()
    confirmed_at = models.DateTimeField(_("turned on"), null=True, blank=True)
    last_used_step = models.BigIntegerField(null=True, blank=True)

    class Meta:
        verbose_name = _("two-factor device")
        verbose_name_plural = _("two-factor devices")

    def __str__(self) -> str:
        return f"{self.user} (2FA)"

    @property
    def is_confirmed(self) -> bool:
        return self.confirmed_at is not None


class RecoveryCode(models.Model):
    """A single-use code that stands in for the authenticator. Only its SHA-256 is stored."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="recovery_codes")
    code_hash = models.CharField(max_length=64)
    used_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "code_hash"], name="recovery_code_unique")
        ]
