"""Forms of the accounts app."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, cast

from django import forms
from django.conf import settings
from django.contrib.auth import password_validation
from django.contrib.auth.forms import AuthenticationForm
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from crm.accounts import throttle
from crm.accounts.models import SecurityEvent, Team, User
from crm.accounts.selectors import AuditFilter, team_choices
from crm.accounts.services import USER_FIELDS
from crm.accounts.zones import time_zone_names
from crm.core.forms import BootstrapForm
from crm.core.permissions import Role


class ThrottledAuthenticationForm(AuthenticationForm):
    """The sign-in form; says so when the throttle refused the attempt (``is_throttled``).

    The backend counts the attempt and refuses it before the password is checked
    (``crm.accounts.throttle``); the form only turns its refusal into the message.
    """

    error_messages = {
        **AuthenticationForm.error_messages,
        "throttled": _("Too many failed sign-in attempts. Wait a few minutes and try again."),
        "unknown_device": _(
            "Too many failed sign-in attempts to this account. Sign in from a device or "
            "network you have used before, or wait a few minutes and try again."
        ),
    }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.is_throttled = False
        self.fields["username"].widget.attrs.update({"class": "form-control", "autofocus": True})
        self.fields["password"].widget.attrs.update({"class": "form-control"})

    def clean(self) -> dict[str, Any]:
        try:
            return super().clean()
        except forms.ValidationError:
            refusal = throttle.refusal_of(self.request)
            if refusal is None:
                raise
            self.is_throttled = True
            code = "unknown_device" if refusal == throttle.Refusal.UNKNOWN_DEVICE else "throttled"
            raise forms.ValidationError(self.error_messages[code], code="throttled") from None


def time_zone_field() -> forms.ChoiceField:
    """A choice of the IANA zones, empty meaning the team's or the site's zone."""
    return forms.ChoiceField(
        label=_("Time zone"),
        required=False,
        choices=[
            ("", _("The team's or the site's")),
            *((name, name) for name in time_zone_names()),
        ],
        help_text=_("Periods of reports and “today” are counted in this zone."),
    )


class TimeZoneForm(BootstrapForm):
    """A user's own settings: the time zone and, for a head of sales or an administrator
    (``weekly_summary=True``), the weekly e-mail summary."""

    time_zone = time_zone_field()
    weekly_summary = forms.BooleanField(
        label=_("Send me the weekly summary by e-mail"),
        required=False,
        help_text=_(
            "Every Monday at 08:00 in your time zone: your teams' plan progress this month, "
            "stuck deals, leads answered late, and the deals won last week."
        ),
    )

    def __init__(self, *args: Any, weekly_summary: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not weekly_summary:
            del self.fields["weekly_summary"]


class UserForm(BootstrapForm):
    """An administrator's form for a user's profile, role, teams, absence and password."""

    username = forms.CharField(label=_("User name"), max_length=150)
    last_name = forms.CharField(label=_("Last name"), max_length=150, required=False)
    first_name = forms.CharField(label=_("First name"), max_length=150, required=False)
    email = forms.EmailField(label=_("E-mail"), required=False)
    phone = forms.CharField(label=_("Phone"), max_length=32, required=False)
    position = forms.CharField(label=_("Position"), max_length=120, required=False)
    role = forms.ChoiceField(label=_("Role"), choices=Role.choices, initial=Role.MANAGER)
    language = forms.ChoiceField(
        label=_("Language"),
        required=False,
        choices=[("", _("Follow the browser")), *settings.LANGUAGES],
    )
    time_zone = time_zone_field()
    teams = forms.ModelMultipleChoiceField(
        label=_("Teams"),
        queryset=Team.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    away_from = forms.DateField(
        label=_("Away from"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    away_until = forms.DateField(
        label=_("Away until"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    password1 = forms.CharField(
        label=_("New password"),
        required=False,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=_("Leave empty to keep the current password."),
    )
    password2 = forms.CharField(
        label=_("Repeat the password"),
        required=False,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def __init__(self, *args: Any, instance: User | None = None, **kwargs: Any) -> None:
        self.instance = instance
        if instance is not None and "initial" not in kwargs:
            kwargs["initial"] = {
                **{name: getattr(instance, name) for name in USER_FIELDS},
                "teams": list(instance.teams.all()),
            }
        super().__init__(*args, **kwargs)
        cast("forms.ModelMultipleChoiceField[Team]", self.fields["teams"]).queryset = team_choices()
        if instance is None:
            self.fields["password1"].help_text = _(
                "Without a password the user cannot sign in until one is set."
            )

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        first, second = data.get("password1", ""), data.get("password2", "")
        if first or second:
            if first != second:
                self.add_error("password2", _("The two passwords differ."))
            else:
                probe = self.instance or User(username=data.get("username", ""))
                try:
                    password_validation.validate_password(first, probe)
                except forms.ValidationError as error:
                    self.add_error("password1", error)
        return data

    def service_arguments(self) -> dict[str, Any]:
        """The cleaned values as keyword arguments of ``user_create``/``user_update``."""
        data = self.cleaned_data
        fields = {name: data[name] for name in USER_FIELDS}
        for name in ("username", "first_name", "last_name", "email", "phone", "position"):
            fields[name] = (fields[name] or "").strip()
        return {**fields, "teams": list(data["teams"]), "password": data.get("password1") or None}


class TeamForm(BootstrapForm):
    """A team's name, members and heads of sales."""

    name = forms.CharField(label=_("Name"), max_length=120)
    members = forms.ModelMultipleChoiceField(
        label=_("Members"),
        queryset=User.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    heads = forms.ModelMultipleChoiceField(
        label=_("Heads of sales"),
        queryset=User.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )

    def __init__(
        self, *args: Any, users: QuerySet[User], instance: Team | None = None, **kwargs: Any
    ) -> None:
        if instance is not None and "initial" not in kwargs:
            kwargs["initial"] = {
                "name": instance.name,
                "members": list(instance.members.all()),
                "heads": list(instance.heads.all()),
            }
        super().__init__(*args, **kwargs)
        cast("forms.ModelMultipleChoiceField[User]", self.fields["members"]).queryset = users
        cast("forms.ModelMultipleChoiceField[User]", self.fields["heads"]).queryset = users


class TokenForm(BootstrapForm):
    """A new personal API token: its name and, optionally, how many days it lives."""

    name = forms.CharField(
        label=_("Name"),
        max_length=100,
        help_text=_("What the token is for, e.g. “1C exchange”."),
    )
    expires_in_days = forms.IntegerField(
        label=_("Expires in, days"),
        required=False,
        min_value=1,
        max_value=3650,
        help_text=_("Empty: never expires."),
    )

    def expires_at(self) -> datetime | None:
        days = self.cleaned_data.get("expires_in_days")
        return timezone.now() + timedelta(days=days) if days else None


class AuditFilterForm(BootstrapForm):
    """Filters of the audit log: event, the user it concerns, who did it, period, address."""

    kind = forms.ChoiceField(
        label=_("Event"),
        required=False,
        choices=[("", _("All events")), *SecurityEvent.Kind.choices],
    )
    user = forms.ModelChoiceField(
        label=_("User"), required=False, queryset=User.objects.none(), empty_label=_("All users")
    )
    actor = forms.ModelChoiceField(
        label=_("By"), required=False, queryset=User.objects.none(), empty_label=_("Anyone")
    )
    date_from = forms.DateField(
        label=pgettext_lazy("period", "From"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    date_to = forms.DateField(
        label=pgettext_lazy("period", "To"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    address = forms.GenericIPAddressField(label=_("Address"), required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in ("user", "actor"):
            field = cast("forms.ModelChoiceField[User]", self.fields[name])
            field.queryset = User.objects.order_by("username")

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        start, end = data.get("date_from"), data.get("date_to")
        if start and end and end < start:
            self.add_error("date_to", _("The end of the period is before its start."))
        return data

    def filters(self) -> AuditFilter:
        """The cleaned filters, as the audit log's selectors take them."""
        data = self.cleaned_data
        return AuditFilter(
            kind=data.get("kind") or "",
            user_id=data["user"].pk if data.get("user") else None,
            actor_id=data["actor"].pk if data.get("actor") else None,
            date_from=data.get("date_from"),
            date_to=data.get("date_to"),
            address=data.get("address") or "",
        )


class TwoFactorCodeForm(BootstrapForm):
    """A six-digit code from the authenticator (or, where allowed, a recovery code)."""

    code = forms.CharField(
        label=_("Code"),
        max_length=64,
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "autofocus": True, "spellcheck": "false"}
        ),
    )


class TwoFactorDisableForm(BootstrapForm):
    """Turning two-factor sign-in off: the password and a current code."""

    password = forms.CharField(
        label=_("Password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )
    code = forms.CharField(
        label=_("Code from the app or a recovery code"),
        max_length=64,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "spellcheck": "false"}),
    )


class PasswordChangeForm(BootstrapForm):
    """A user's own password change: the current password and the new one twice."""

    old_password = forms.CharField(
        label=_("Current password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )
    new_password1 = forms.CharField(
        label=_("New password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    new_password2 = forms.CharField(
        label=_("Repeat the password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        if data.get("new_password1") != data.get("new_password2"):
            self.add_error("new_password2", _("The two passwords differ."))
        return data
