"""The forms of the plan page: a plan and a bonus rule, each for the teams and managers the
signed-in user may set (``PLANS``); the services check again and name refused fields."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from crm.accounts.models import Team, User
from crm.analytics.metrics import METRIC_CHOICES
from crm.analytics.permissions import PLANS
from crm.analytics.services import month_parse
from crm.core.forms import BootstrapForm
from crm.core.permissions import Role
from crm.sales.choices import Currency


class MonthInput(forms.TextInput):
    """A month picker; where the browser has none (Firefox and Safari on the desktop) a
    text field that asks for ``YYYY-MM``, which the service parses and refuses by name."""

    input_type = "month"

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(
            {
                "pattern": "[0-9]{4}-[0-9]{2}",
                "placeholder": _("YYYY-MM"),
                "title": _("A month as YYYY-MM"),
                **(attrs or {}),
            }
        )


def editable_teams(user: User) -> Any:
    """Teams whose plans and rules ``user`` may set."""
    teams = PLANS.team_ids(user, "change")
    rows = Team.objects.all() if teams is None else Team.objects.filter(pk__in=sorted(teams))
    return rows.order_by("name")


def editable_managers(user: User) -> Any:
    """Managers and heads whose plans ``user`` may set."""
    people = User.objects.filter(is_active=True, role__in=[Role.MANAGER, Role.HEAD])
    managers = PLANS.manager_ids(user, "change")
    if managers is not None:
        people = people.filter(pk__in=sorted(managers))
    return people.order_by("last_name", "first_name", "username")


class PlanForm(BootstrapForm):
    """A monthly target for a manager or a team, from a month on."""

    metric = forms.ChoiceField(label=_("Metric"), choices=METRIC_CHOICES)
    manager = forms.ModelChoiceField(
        label=_("Manager"), queryset=User.objects.none(), required=False
    )
    team = forms.ModelChoiceField(label=_("Team"), queryset=Team.objects.none(), required=False)
    month = forms.CharField(label=_("From the month"), widget=MonthInput)
    target = forms.CharField(label=_("Target"), max_length=30)
    currency = forms.ChoiceField(
        label=_("Currency"), choices=[("", "—"), *Currency.choices], required=False
    )

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, prefix="plan", **kwargs)
        manager_field: Any = self.fields["manager"]
        team_field: Any = self.fields["team"]
        manager_field.queryset = editable_managers(user)
        team_field.queryset = editable_teams(user)

    def service_data(self) -> dict[str, Any]:
        """The cleaned input as ``plan_set`` takes it."""
        return {**self.cleaned_data, "month": month_parse(self.cleaned_data["month"])}


class BonusRuleForm(BootstrapForm):
    """A team's bonus rule, from a month on."""

    team = forms.ModelChoiceField(label=_("Team"), queryset=Team.objects.none())
    month = forms.CharField(label=_("From the month"), widget=MonthInput)
    currency = forms.ChoiceField(label=_("Currency"), choices=Currency.choices)
    percent = forms.CharField(label=_("Percent of revenue"), max_length=10)
    threshold = forms.CharField(label=_("Above the threshold"), max_length=30)
    cap = forms.CharField(label=_("At most"), max_length=30, required=False)

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, prefix="bonus", **kwargs)
        team_field: Any = self.fields["team"]
        team_field.queryset = editable_teams(user)

    def service_data(self) -> dict[str, Any]:
        """The cleaned input as ``bonus_rule_set`` takes it."""
        return {**self.cleaned_data, "month": month_parse(self.cleaned_data["month"])}
