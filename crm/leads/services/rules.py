"""The administrator's lead settings: routing rules (their conditions, order and
assignment), partner codes, and processing a stored arrival again.

Every function here is for an active administrator only (``PermissionDenied`` otherwise).
Refusals name the field they are about (``pipeline``, ``fixed_user``,
``conditions.utm_source``…) so the pages show them in place.

Invariants kept here: exactly one default rule, always active, always last, without
conditions, never deleted; a rule's pipeline is live; a rule that hands leads out within a
team has a team, one for a fixed user has an active user who may own records.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Max
from django.utils.translation import gettext as _

from crm.accounts.models import Team, User
from crm.core.errors import Conflict, ValidationFailed
from crm.core.permissions import Role
from crm.customers.choices import ClientType
from crm.customers.services.cleaning import Errors, clean_text
from crm.leads.choices import Channel, InboundStatus, Strategy
from crm.leads.models import Inbound, Lead, PartnerCode, RoutingRule, WebForm
from crm.leads.permissions import LEAD_SETTINGS
from crm.leads.services.intake import inbound_process
from crm.leads.services.webforms import FIELD_NAME
from crm.sales.models import Pipeline

UTM_CONDITIONS = ("utm_source", "utm_medium", "utm_campaign")
CONDITION_KEYS = ("client_types", "channels", "forms", *UTM_CONDITIONS, "fields")
MAX_VALUES = 50
MAX_RESPONSE_MINUTES = 60 * 24 * 30
TEAM_STRATEGIES = (Strategy.ROUND_ROBIN, Strategy.LEAST_LOADED)


# --- routing rules --------------------------------------------------------------------------------


def _choice_list(errors: Errors, name: str, raw: Any, allowed: list[str]) -> list[str]:
    if raw is None:
        return []
    if not isinstance(raw, list | tuple):
        errors.add(name, _("Expected a list."))
        return []
    values = [str(value) for value in raw]
    unknown = [value for value in values if value not in allowed]
    if unknown:
        errors.add(name, _("Unknown value “%(value)s”.") % {"value": unknown[0][:50]})
    return [value for value in allowed if value in values]


def _text_list(errors: Errors, name: str, raw: Any) -> list[str]:
    if not isinstance(raw, list | tuple):
        errors.add(name, _("Expected a list."))
        return []
    values: list[str] = []
    for item in raw:
        text = " ".join(str(item).split())
        if len(text) > 200:
            errors.add(name, _("Each value at most %(n)d characters.") % {"n": 200})
            return []
        if text and text not in values:
            values.append(text)
    if len(values) > MAX_VALUES:
        errors.add(name, _("At most %(n)d values.") % {"n": MAX_VALUES})
        return []
    return values


def _form_ids(errors: Errors, raw: Any) -> list[int]:
    try:
        ids = sorted({int(value) for value in (raw or [])})
    except (TypeError, ValueError):
        errors.add("conditions.forms", _("Unknown form."))
        return []
    if ids and WebForm.objects.filter(pk__in=ids).count() != len(ids):
        errors.add("conditions.forms", _("Unknown form."))
    return ids


def _field_values(errors: Errors, raw: Any) -> dict[str, str]:
    if not isinstance(raw, dict):
        errors.add("conditions.fields", _("Expected pairs of a field name and a value."))
        return {}
    if len(raw) > 20:
        errors.add("conditions.fields", _("At most %(n)d fields.") % {"n": 20})
        return {}
    pairs: dict[str, str] = {}
    for name, value in raw.items():
        if not FIELD_NAME.match(str(name)):
            errors.add(
                "conditions.fields",
                _("“%(name)s”: a field name is Latin letters, digits and “_”.")
                % {"name": str(name)[:50]},
            )
            continue
        text = " ".join(str(value if value is not None else "").split())
        if not text or len(text) > 200:
            errors.add(
                "conditions.fields",
                _("“%(name)s”: give a value of at most 200 characters.") % {"name": name},
            )
            continue
        pairs[str(name)] = text
    return pairs


def clean_conditions(errors: Errors, raw: Any) -> dict[str, Any]:
    """The rule's conditions as stored: only the known keys, only the non-empty ones."""
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        errors.add("conditions", _("Expected conditions."))
        return {}
    unknown = sorted(set(raw) - set(CONDITION_KEYS))
    if unknown:
        errors.add("conditions", _("Unknown condition “%(key)s”.") % {"key": unknown[0][:50]})
    conditions: dict[str, Any] = {
        "client_types": _choice_list(
            errors, "conditions.client_types", raw.get("client_types"), list(ClientType.values)
        ),
        "channels": _choice_list(
            errors, "conditions.channels", raw.get("channels"), list(Channel.values)
        ),
        "forms": _form_ids(errors, raw.get("forms")),
        **{
            key: _text_list(errors, f"conditions.{key}", raw.get(key) or [])
            for key in UTM_CONDITIONS
        },
        "fields": _field_values(errors, raw.get("fields") or {}),
    }
    return {key: value for key, value in conditions.items() if value}


def _pipeline(errors: Errors, pipeline_id: Any) -> Pipeline | None:
    if pipeline_id in (None, ""):
        errors.add("pipeline", _("Choose a pipeline."))
        return None
    try:
        pipeline = Pipeline.objects.get(pk=int(pipeline_id))
    except (Pipeline.DoesNotExist, TypeError, ValueError):
        errors.add("pipeline", _("Choose a pipeline."))
        return None
    if pipeline.archived:
        errors.add(
            "pipeline",
            _("The pipeline “%(name)s” is archived; choose a live one.") % {"name": pipeline.name},
        )
    return pipeline


def _team(errors: Errors, team_id: Any) -> Team | None:
    if team_id in (None, ""):
        return None
    try:
        return Team.objects.get(pk=int(team_id))
    except (Team.DoesNotExist, TypeError, ValueError):
        errors.add("team", _("Choose a team."))
        return None


def _fixed_user(errors: Errors, user_id: Any) -> Any:
    if user_id in (None, ""):
        return None
    pk = _int_or_none(user_id)
    user = get_user_model().objects.filter(pk=pk).first() if pk is not None else None
    if user is None:
        errors.add("fixed_user", _("Choose a user."))
    elif not user.is_active or user.role == Role.READONLY:
        errors.add("fixed_user", _("%(user)s cannot take leads.") % {"user": user})
    return user


def _int_or_none(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _response_minutes(errors: Errors, value: Any) -> int:
    minutes = _int_or_none(value)
    if minutes is None or not 1 <= minutes <= MAX_RESPONSE_MINUTES:
        errors.add(
            "response_minutes",
            _("From 1 to %(max)d working minutes.") % {"max": MAX_RESPONSE_MINUTES},
        )
        return 60
    return minutes


@transaction.atomic
def routing_rule_save(
    *,
    actor: User,
    rule: RoutingRule | None = None,
    name: Any,
    conditions: Any = None,
    pipeline_id: Any,
    team_id: Any = None,
    strategy: Any = Strategy.ROUND_ROBIN,
    fixed_user_id: Any = None,
    response_minutes: Any = 60,
    reassign_on_escalation: bool = False,
    is_active: bool = True,
) -> RoutingRule:
    """Create a rule (placed after the others, before the default one) or change one.

    Refuses, naming the field: no name; an unknown or archived pipeline; a team strategy
    without a team; a fixed-user strategy without a user (or with one who cannot own
    leads); a response time outside 1 minute – 30 days; malformed conditions; conditions
    on, or switching off, the default rule.
    """
    LEAD_SETTINGS.check(actor)
    errors = Errors()
    clean_name = clean_text(errors, "name", name, max_length=150, required=True)
    clean = clean_conditions(errors, conditions)
    pipeline = _pipeline(errors, pipeline_id)
    team = _team(errors, team_id)
    user = _fixed_user(errors, fixed_user_id)
    if strategy not in Strategy.values:
        errors.add("strategy", _("Choose how leads are assigned."))
    if strategy in TEAM_STRATEGIES and team is None and "team" not in errors.fields:
        errors.add("team", _("This way of assigning picks someone in a team: choose the team."))
    if strategy == Strategy.FIXED_USER and user is None and "fixed_user" not in errors.fields:
        errors.add("fixed_user", _("Choose the user who gets the leads."))
    minutes = _response_minutes(errors, response_minutes)
    is_default = bool(rule and rule.is_default)
    if is_default and clean:
        errors.add("conditions", _("The default rule takes every lead the others do not."))
    if is_default and not is_active:
        errors.add("is_active", _("The default rule cannot be switched off."))
    errors.raise_if_any()
    assert pipeline is not None  # refused above otherwise
    if rule is None:
        last = RoutingRule.objects.filter(is_default=False).aggregate(n=Max("position"))["n"]
        rule = RoutingRule(position=0 if last is None else last + 1)
    rule.name = clean_name
    rule.conditions = clean
    rule.pipeline = pipeline
    rule.team = team
    rule.strategy = strategy
    rule.fixed_user = user if strategy == Strategy.FIXED_USER else None
    rule.response_minutes = minutes
    rule.reassign_on_escalation = bool(reassign_on_escalation)
    rule.is_active = bool(is_active)
    rule.save()
    return rule


@transaction.atomic
def routing_rule_delete(*, actor: User, rule: RoutingRule) -> None:
    """Delete a rule; leads it routed keep their pipeline and team. The default rule stays
    (``Conflict``)."""
    LEAD_SETTINGS.check(actor)
    if rule.is_default:
        raise Conflict(_("The default rule cannot be deleted: it takes every other lead."))
    rule.delete()


@transaction.atomic
def routing_rule_reorder(*, actor: User, rule_ids: list[int]) -> None:
    """Put the rules in the given order: every rule but the default one exactly once (the
    default one may be named last); the default rule stays last."""
    LEAD_SETTINGS.check(actor)
    rules = {rule.pk: rule for rule in RoutingRule.objects.select_for_update()}
    default_ids = [pk for pk, rule in rules.items() if rule.is_default]
    ids = list(rule_ids)
    if ids and default_ids and ids[-1] in default_ids:
        ids.pop()
    others = {pk for pk, rule in rules.items() if not rule.is_default}
    if len(ids) != len(set(ids)) or set(ids) != others:
        raise ValidationFailed(
            field_errors={"rule_ids": [_("List every rule once; the default rule stays last.")]}
        )
    for position, pk in enumerate(ids):
        rules[pk].position = position
    for pk in default_ids:
        rules[pk].position = len(ids)
    RoutingRule.objects.bulk_update(rules.values(), ["position"])


def routing_rule_move(*, actor: User, rule: RoutingRule, direction: str) -> None:
    """Move a rule one place up or down among the non-default rules."""
    LEAD_SETTINGS.check(actor)
    if rule.is_default:
        return
    order = list(
        RoutingRule.objects.filter(is_default=False)
        .order_by("position", "id")
        .values_list("id", flat=True)
    )
    index = order.index(rule.pk)
    other = index - 1 if direction == "up" else index + 1
    if 0 <= other < len(order):
        order[index], order[other] = order[other], order[index]
        routing_rule_reorder(actor=actor, rule_ids=order)


# --- partner codes --------------------------------------------------------------------------------


@transaction.atomic
def partner_code_save(
    *, actor: User, partner: PartnerCode | None = None, code: Any, name: Any
) -> PartnerCode:
    """Create or change a partner code. The code is what arrives as ``partner`` or as
    ``utm_source``: one word, unique."""
    LEAD_SETTINGS.check(actor)
    errors = Errors()
    clean_code = clean_text(errors, "code", code, max_length=100, required=True)
    if clean_code and any(ch.isspace() for ch in clean_code):
        errors.add("code", _("One word, without spaces (as it comes in utm_source)."))
    clean_name = clean_text(errors, "name", name, max_length=150, required=True)
    others = PartnerCode.objects.exclude(pk=partner.pk) if partner else PartnerCode.objects
    if clean_code and others.filter(code=clean_code).exists():
        errors.add("code", _("This code is already taken."))
    errors.raise_if_any()
    partner = partner or PartnerCode()
    partner.code, partner.name = clean_code, clean_name
    partner.save()
    return partner


@transaction.atomic
def partner_code_delete(*, actor: User, partner: PartnerCode) -> None:
    """Delete a partner code; leads marked with it keep their classification."""
    LEAD_SETTINGS.check(actor)
    partner.delete()


# --- incoming requests ----------------------------------------------------------------------------


def inbound_retry(*, actor: User, inbound: Inbound) -> Lead | None:
    """Process a failed or still pending arrival again: its status goes back to pending,
    its attempts and error are cleared, then ``inbound_process`` runs (and may fail again,
    recording the new error). Processed and rejected arrivals are refused (``Conflict``).

    Not atomic on purpose: the reset is committed first, so the processing (its own
    transaction) starts from a clean row even when it fails.
    """
    LEAD_SETTINGS.check(actor)
    with transaction.atomic():
        locked = Inbound.objects.select_for_update().filter(pk=inbound.pk).first()
        if locked is None or locked.status not in (InboundStatus.FAILED, InboundStatus.PENDING):
            raise Conflict(_("Only a failed or waiting request can be processed again."))
        locked.status, locked.attempts, locked.error = InboundStatus.PENDING, 0, ""
        locked.save(update_fields=["status", "attempts", "error"])
    return inbound_process(inbound.pk)
