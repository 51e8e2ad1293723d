"""Who may see and set plans and bonus rules (the analytics app's own configuration).

``PLANS`` is a model policy in the sense of ``crm.core.policies``: plans and bonus rules are
seen by whoever sees their manager or team in reports, and changed by an administrator (all)
or a head of sales (the teams they lead and those teams' members); a manager or a read-only
user changes none."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from crm.accounts.models import Team, TeamMembership, User
from crm.core.errors import PermissionDenied
from crm.core.permissions import Role, ScopedUser, sees_everything
from crm.core.policies import CHANGE, VIEW, QuerySetT


@dataclass(frozen=True)
class PlanPolicy:
    """Plans (a manager's or a team's) and bonus rules (a team's); see the module."""

    denied: Any = field(default=_("You may not set plans or bonus rules for this team or manager."))

    def team_ids(self, user: ScopedUser, action: str = VIEW) -> frozenset[int] | None:
        """Teams whose plans ``user`` may see or change (``None``: every team)."""
        if not user.is_active:
            return frozenset()
        if sees_everything(user):
            return None
        if user.role == Role.HEAD:
            return frozenset(Team.objects.filter(heads__pk=user.pk).values_list("pk", flat=True))
        if action == CHANGE:
            return frozenset()
        return frozenset(Team.objects.filter(members__pk=user.pk).values_list("pk", flat=True))

    def manager_ids(self, user: ScopedUser, action: str = VIEW) -> frozenset[int] | None:
        """Managers whose plans ``user`` may see or change (``None``: everyone)."""
        if not user.is_active:
            return frozenset()
        if sees_everything(user):
            return None
        if action == VIEW:
            return user.scope_owner_ids
        teams = self.team_ids(user, CHANGE) or frozenset()
        return frozenset(
            TeamMembership.objects.filter(team_id__in=sorted(teams)).values_list(
                "user_id", flat=True
            )
        )

    def restrict(self, queryset: QuerySetT, user: ScopedUser, action: str = VIEW) -> QuerySetT:
        """The plans or bonus rules of ``queryset`` ``user`` may see or change."""
        teams = self.team_ids(user, action)
        if queryset.model._meta.model_name == "bonusrule":
            return queryset.all() if teams is None else queryset.filter(team_id__in=sorted(teams))
        managers = self.manager_ids(user, action)
        if teams is None and managers is None:
            return queryset.all()
        return queryset.filter(
            Q(team_id__in=sorted(teams or ())) | Q(manager_id__in=sorted(managers or ()))
        )

    def may_change(self, user: ScopedUser, obj: Any) -> bool:
        """Whether ``user`` may set targets or rules for ``obj`` (a team or a user)."""
        if isinstance(obj, Team):
            teams = self.team_ids(user, CHANGE)
            return teams is None or obj.pk in teams
        if isinstance(obj, User):
            managers = self.manager_ids(user, CHANGE)
            return managers is None or obj.pk in managers
        return False

    def check(self, user: ScopedUser, action: str = CHANGE, obj: Any = None) -> None:
        """``PermissionDenied`` unless ``user`` may change the plans of ``obj`` (a team or a
        manager; with ``obj`` None: any at all)."""
        if action == VIEW:
            return
        if obj is None:
            allowed = self.team_ids(user, CHANGE)
            if allowed is None or allowed:
                return
            raise PermissionDenied(str(self.denied))
        if not self.may_change(user, obj):
            raise PermissionDenied(str(self.denied))


PLANS = PlanPolicy()
"""Plans and bonus rules: an administrator all, a head of sales their teams and members."""
