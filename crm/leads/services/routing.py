"""Routing: which rule a lead meets, and who of the rule's team gets it.

Assignment is race-free: the round robin locks its team's ``RoundRobinState`` row, so
several workers assigning at once hand out consecutive users; "least loaded" counts open
leads and deals in one grouped query. Users who are away (an absence, or the user's own
"away" dates) and inactive or read-only users are skipped.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import Count
from django.utils import timezone

from crm.accounts.models import TeamMembership
from crm.core.permissions import Role
from crm.leads.choices import OPEN_STATUSES, Strategy
from crm.leads.models import Lead, RoundRobinState, RoutingRule
from crm.leads.services.intake import LeadInput
from crm.planner.services.absences import users_away
from crm.sales.models import Deal


class RoutingBatch:
    """What routing reads, read once for a batch of arrivals processed in one transaction
    (``inbound_process_batch``): the active rules, who is away today, each team's candidates
    and which users may take leads; and each team's round-robin row, locked at its first use
    and written back by ``flush`` before the batch commits. The batch's transaction holds
    that lock, so concurrent workers still hand out consecutive users."""

    def __init__(self) -> None:
        self.rules: list[RoutingRule] | None = None
        self.away: dict[dt.date, set[int]] = {}
        self.candidates: dict[int, list[int]] = {}
        self.available: dict[int, bool] = {}
        self.round_robin: dict[int, RoundRobinState] = {}

    def active_rules(self) -> list[RoutingRule]:
        if self.rules is None:
            self.rules = _active_rules()
        return self.rules

    def users_away(self, today: dt.date) -> set[int]:
        if today not in self.away:
            self.away[today] = users_away(today)
        return self.away[today]

    def flush(self) -> None:
        for state in self.round_robin.values():
            state.save(update_fields=["last_user_id"])


def _active_rules() -> list[RoutingRule]:
    return list(
        RoutingRule.objects.filter(is_active=True).select_related("pipeline", "team", "fixed_user")
    )


def _matches(values: Any, value: str) -> bool:
    return not values or value in values


def rule_matches(
    rule: RoutingRule, lead_input: LeadInput, *, channel: str, form_id: int | None
) -> bool:
    conditions = rule.conditions or {}
    if not _matches(conditions.get("client_types"), lead_input.client_type or "private"):
        return False
    if not _matches(conditions.get("channels"), channel):
        return False
    forms = conditions.get("forms")
    if forms and form_id not in forms:
        return False
    for key in ("source", "medium", "campaign"):
        if not _matches(conditions.get(f"utm_{key}"), lead_input.utm.get(key, "")):
            return False
    for name, expected in (conditions.get("fields") or {}).items():
        if (
            str(lead_input.data.get(name, "")).strip().casefold()
            != str(expected).strip().casefold()
        ):
            return False
    return True


def rule_for(
    lead_input: LeadInput,
    *,
    channel: str,
    form_id: int | None,
    batch: RoutingBatch | None = None,
) -> RoutingRule | None:
    """The first active rule the lead meets; the default rule when none does."""
    rules = batch.active_rules() if batch is not None else _active_rules()
    for rule in rules:
        if not rule.is_default and rule_matches(rule, lead_input, channel=channel, form_id=form_id):
            return rule
    return next((rule for rule in rules if rule.is_default), None)


def _candidates(team_id: int, away: set[int]) -> list[int]:
    """Members of the team who can take leads today, in a stable order."""
    ids = (
        TeamMembership.objects.filter(team_id=team_id, user__is_active=True)
        .exclude(user__role=Role.READONLY)
        .order_by("user_id")
        .values_list("user_id", flat=True)
    )
    return [user_id for user_id in ids if user_id not in away]


def _next_in_turn(last_user_id: int | None, candidates: list[int]) -> int:
    after = [user_id for user_id in candidates if last_user_id is None or user_id > last_user_id]
    return after[0] if after else candidates[0]


def _round_robin(
    team_id: int, candidates: list[int], *, peek: bool = False, batch: RoutingBatch | None = None
) -> int:
    if batch is not None and not peek:
        state = batch.round_robin.get(team_id)
        if state is None:
            state, _ = RoundRobinState.objects.get_or_create(team_id=team_id)
            state = RoundRobinState.objects.select_for_update().get(pk=state.pk)
            batch.round_robin[team_id] = state
        state.last_user_id = _next_in_turn(state.last_user_id, candidates)
        return state.last_user_id
    if peek:
        last = (
            RoundRobinState.objects.filter(team_id=team_id)
            .values_list("last_user_id", flat=True)
            .first()
        )
        return _next_in_turn(last, candidates)
    state, _ = RoundRobinState.objects.get_or_create(team_id=team_id)
    state = RoundRobinState.objects.select_for_update().get(pk=state.pk)
    chosen = _next_in_turn(state.last_user_id, candidates)
    state.last_user_id = chosen
    state.save(update_fields=["last_user_id"])
    return chosen


def _least_loaded(team_id: int, candidates: list[int], *, peek: bool = False) -> int:
    if not peek:
        # Lock the team's row so two workers do not both see the same user as least loaded.
        state, _ = RoundRobinState.objects.get_or_create(team_id=team_id)
        RoundRobinState.objects.select_for_update().get(pk=state.pk)
    leads = dict(
        Lead.objects.filter(owner_id__in=candidates, status__in=OPEN_STATUSES)
        .values("owner_id")
        .annotate(n=Count("id"))
        .values_list("owner_id", "n")
    )
    deals = dict(
        Deal.objects.filter(owner_id__in=candidates, status="open")
        .values("owner_id")
        .annotate(n=Count("id"))
        .values_list("owner_id", "n")
    )
    return min(
        candidates, key=lambda user_id: (leads.get(user_id, 0) + deals.get(user_id, 0), user_id)
    )


def assignee_for(
    rule: RoutingRule,
    *,
    client_owner_id: int | None,
    now: dt.datetime | None = None,
    peek: bool = False,
    batch: RoutingBatch | None = None,
) -> int | None:
    """The user who gets a lead routed by ``rule`` (``None``: nobody can take it now).

    ``peek`` only says who it would be (the rule tester): it writes nothing, so the round
    robin does not advance and no lock is taken.
    """
    today = timezone.localdate(now or timezone.now())
    away = batch.users_away(today) if batch is not None else users_away(today)
    user_model = get_user_model()

    def can_take(user_id: int) -> bool:
        return (
            user_model.objects.filter(pk=user_id, is_active=True)
            .exclude(role=Role.READONLY)
            .exists()
        )

    def available(user_id: int | None) -> bool:
        if not user_id or user_id in away:
            return False
        if batch is None:
            return can_take(user_id)
        if user_id not in batch.available:
            batch.available[user_id] = can_take(user_id)
        return batch.available[user_id]

    if rule.strategy == Strategy.CLIENT_MANAGER and available(client_owner_id):
        return client_owner_id
    if rule.strategy == Strategy.FIXED_USER and available(rule.fixed_user_id):
        return rule.fixed_user_id
    if rule.team_id is None:
        return client_owner_id if available(client_owner_id) else None
    if batch is None:
        candidates = _candidates(rule.team_id, away)
    elif rule.team_id in batch.candidates:
        candidates = batch.candidates[rule.team_id]
    else:
        candidates = batch.candidates[rule.team_id] = _candidates(rule.team_id, away)
    if not candidates:
        return None
    if rule.strategy == Strategy.LEAST_LOADED:
        # Counts open leads, so it reads them for every lead, batch or not.
        return _least_loaded(rule.team_id, candidates, peek=peek)
    return _round_robin(rule.team_id, candidates, peek=peek, batch=batch)
