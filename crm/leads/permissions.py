"""The access policies of leads: a lead follows the owner rule, and one nobody has yet is
seen by the heads of the team it was routed to; the lead settings are the administrator's,
the routing is read by heads of sales too."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import Model, Q
from django.utils.translation import gettext_lazy as _

from crm.core.permissions import Role, ScopedUser, can_write
from crm.core.policies import AdminOnlyPolicy, OwnedRecordPolicy, RolePolicy
from crm.planner.permissions import covered_owner_ids


@dataclass(frozen=True)
class UnassignedToTeamHeadsPolicy(OwnedRecordPolicy):
    """The owner rule, and a record without an owner is seen by the heads of its team and
    may be changed (taken) by anyone who sees it and may write."""

    team_field: str = "team"

    def condition(self, user: ScopedUser) -> Q:
        unassigned = Q(
            **{f"{self.owner_field}__isnull": True, f"{self.team_field}__heads": user.pk}
        )
        return super().condition(user) | unassigned

    def resolved_condition(self, model: type[Model], user: ScopedUser) -> Q:
        """The unassigned part with the ids of the teams ``user`` heads read first (no join
        through the teams' heads in the query)."""
        condition = super().condition(user)
        for unassigned in self.resolved_extra_parts(model, user):
            condition |= unassigned
        return condition

    def resolved_extra_parts(self, model: type[Model], user: ScopedUser) -> list[Q]:
        """The unassigned records of the teams ``user`` heads (none if they head none)."""
        teams: Any = model._meta.get_field(self.team_field).related_model
        headed = list(teams.objects.filter(heads=user.pk).values_list("pk", flat=True))
        if not headed:
            return []
        return [Q(**{f"{self.owner_field}__isnull": True, f"{self.team_field}_id__in": headed})]

    def change_condition(self, user: ScopedUser) -> Q:
        scope = super().change_condition(user)
        if scope == Q():  # a manager: every lead they see
            return scope
        return scope | Q(**{f"{self.owner_field}__isnull": True})

    def may_change(self, user: ScopedUser, obj: Any) -> bool:
        """Anyone who may write changes an unassigned record they see (to take it)."""
        if getattr(obj, f"{self.owner_field}_id") is None:
            return can_write(user)
        return super().may_change(user, obj)


LEAD = UnassignedToTeamHeadsPolicy(
    hidden_from_inactive=True,
    cover=covered_owner_ids,
    role_denied=_("Your role may not change leads."),
    record_denied=_("You may not change this lead."),
)
"""Leads: the owner rule (with the owner's substitute while they are away); unassigned ones
seen by their team's heads; shared ones by the users they are shared with (an escalated
task's colleague)."""

LEAD_SETTINGS = AdminOnlyPolicy(_("Only an administrator may change the lead settings."))
"""Routing rules, partner codes, the inbound log and its retries."""

WEB_FORMS = AdminOnlyPolicy(_("Only an administrator may manage web forms."))
"""The definitions of web forms."""

ROUTING_VIEW = RolePolicy(
    _("Only administrators and heads of sales see the routing."), roles=(Role.ADMIN, Role.HEAD)
)
"""Reading the routing rules and testing where a lead would go."""
