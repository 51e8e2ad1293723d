"""Reads for the administrator's lead pages: routing rules (and the rule tester), web
forms with their submission counts, partner codes, and the log of incoming requests.

The rules may be read by administrators and heads of sales; everything else only by
administrators (``PermissionDenied`` otherwise). Counts come from correlated subqueries,
so every list costs the same number of queries for one row and for many.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeVar

from django.contrib.auth import get_user_model
from django.core.exceptions import ObjectDoesNotExist
from django.db import models
from django.utils.translation import gettext as _

from crm.accounts.models import Team, User
from crm.core.errors import NotFound
from crm.core.models import related_count
from crm.core.pagination import Page, keyset_page
from crm.core.permissions import Role
from crm.leads.choices import Channel, InboundStatus, Strategy
from crm.leads.models import Inbound, Lead, PartnerCode, RoutingRule, WebForm
from crm.leads.permissions import LEAD_SETTINGS, ROUTING_VIEW
from crm.leads.services.intake import LeadInput
from crm.leads.services.routing import assignee_for, rule_for
from crm.sales.models import Pipeline

Row = TypeVar("Row", bound=models.Model)


def _get(queryset: models.QuerySet[Row], pk: Any) -> Row:
    try:
        return queryset.get(pk=int(pk))
    except (ObjectDoesNotExist, TypeError, ValueError):
        raise NotFound(_("Not found.")) from None


# --- routing rules --------------------------------------------------------------------------------


def routing_rule_list(*, actor: User) -> list[RoutingRule]:
    """Every rule in the order they are tried, the default one last."""
    ROUTING_VIEW.check(actor)
    return list(
        RoutingRule.objects.select_related("pipeline", "team", "fixed_user").order_by(
            "is_default", "position", "id"
        )
    )


def routing_rule_get(*, actor: User, pk: Any) -> RoutingRule:
    LEAD_SETTINGS.check(actor)
    return _get(RoutingRule.objects.select_related("pipeline", "team", "fixed_user"), pk)


def form_names() -> dict[int, str]:
    return dict(WebForm.objects.values_list("id", "name"))


def pipeline_choices(*, keep: int | None = None) -> list[tuple[str, str]]:
    """Live pipelines; ``keep`` adds an archived one a rule still points at (so the form
    shows it and the service can say why it must change)."""
    pipelines = Pipeline.objects.filter(models.Q(archived=False) | models.Q(pk=keep or 0))
    return [
        (str(p.pk), f"{p.name} ({_('archived')})" if p.archived else p.name)
        for p in pipelines.order_by("archived", "position", "id")
    ]


def team_choices() -> list[tuple[str, str]]:
    return [(str(team.pk), team.name) for team in Team.objects.order_by("name")]


def assignable_user_choices(*, keep: int | None = None) -> list[tuple[str, str]]:
    """Active users who may own leads (and ``keep``, the rule's current user, if not)."""
    users = get_user_model().objects.filter(
        (models.Q(is_active=True) & ~models.Q(role=Role.READONLY)) | models.Q(pk=keep or 0)
    )
    return [
        (str(user.pk), str(user)) for user in users.order_by("last_name", "first_name", "username")
    ]


def web_form_choices() -> list[tuple[str, str]]:
    return [(str(pk), name) for pk, name in WebForm.objects.values_list("id", "name")]


@dataclass
class RuleTest:
    """What the rule tester answers: the rule a lead would meet and who would get it."""

    rule: RoutingRule | None
    assignee: Any
    client_manager_first: bool


def routing_rule_test(
    *, actor: User, client_type: str, channel: str, utm_source: str, form_id: int | None = None
) -> RuleTest:
    """Which rule a lead with these values meets, and who would get it now. Writes
    nothing: the round robin is only peeked at."""
    ROUTING_VIEW.check(actor)
    lead_input = LeadInput(
        client_type=client_type, utm={"source": utm_source} if utm_source else {}
    )
    rule = rule_for(lead_input, channel=channel or Channel.WEB_FORM, form_id=form_id)
    if rule is None:
        return RuleTest(None, None, False)
    user_id = assignee_for(rule, client_owner_id=None, peek=True)
    user = get_user_model().objects.filter(pk=user_id).first() if user_id else None
    return RuleTest(rule, user, rule.strategy == Strategy.CLIENT_MANAGER)


# --- web forms ------------------------------------------------------------------------------------


def _with_counts(queryset: models.QuerySet[WebForm]) -> models.QuerySet[WebForm]:
    return queryset.annotate(
        submission_count=related_count(
            Inbound.objects.exclude(status=InboundStatus.REJECTED), "form"
        ),
        spam_count=related_count(Inbound.objects.filter(status=InboundStatus.REJECTED), "form"),
        lead_count=related_count(Lead.objects.all(), "form"),
    )


def webform_list(*, actor: User) -> list[WebForm]:
    """Every web form with ``submission_count`` (accepted), ``spam_count`` (refused as a
    bot's) and ``lead_count``."""
    LEAD_SETTINGS.check(actor)
    return list(_with_counts(WebForm.objects.all()).order_by("-is_active", "name", "id"))


def webform_get(*, actor: User, pk: Any) -> WebForm:
    LEAD_SETTINGS.check(actor)
    return _get(_with_counts(WebForm.objects.all()), pk)


# --- partner codes --------------------------------------------------------------------------------


def partner_code_list(*, actor: User) -> list[PartnerCode]:
    """Every partner code with ``lead_count``."""
    LEAD_SETTINGS.check(actor)
    return list(
        PartnerCode.objects.annotate(
            lead_count=related_count(Lead.objects.all(), "partner")
        ).order_by("code")
    )


def partner_code_get(*, actor: User, pk: Any) -> PartnerCode:
    LEAD_SETTINGS.check(actor)
    return _get(PartnerCode.objects.all(), pk)


# --- incoming requests ----------------------------------------------------------------------------


@dataclass
class InboundFilters:
    status: str = ""
    channel: str = ""

    @classmethod
    def from_params(cls, params: Any) -> InboundFilters:
        status = params.get("status") or ""
        channel = params.get("channel") or ""
        return cls(
            status=status if status in InboundStatus.values else "",
            channel=channel if channel in Channel.values else "",
        )

    @property
    def active(self) -> bool:
        return bool(self.status or self.channel)


def inbound_page(
    *, actor: User, filters: InboundFilters, cursor: str | None = None, limit: int = 50
) -> Page[Inbound]:
    """Incoming requests, newest first, with their form and lead (one query a page; the
    raw message text is not loaded)."""
    LEAD_SETTINGS.check(actor)
    queryset = Inbound.objects.select_related("form", "lead").defer("raw")
    if filters.status:
        queryset = queryset.filter(status=filters.status)
    if filters.channel:
        queryset = queryset.filter(channel=filters.channel)
    return keyset_page(queryset, order=["-received_at", "-id"], cursor=cursor, limit=limit)


def inbound_get(*, actor: User, pk: Any) -> Inbound:
    LEAD_SETTINGS.check(actor)
    return _get(Inbound.objects.all(), pk)
