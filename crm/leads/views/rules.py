"""Routing settings: the ordered routing rules (with the "test a lead" box) and the
partner codes.

Administrators change them; heads of sales read the rules and use the tester (others 403,
anonymous users go to the sign-in page). Every view parses the form, calls one service or
selector, and redirects, or renders the page again with the refusal on the fields it names
(422) or as a message (409).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import URLPattern, path, reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from crm.accounts.http import SignedInRequest
from crm.core.errors import Conflict
from crm.core.forms import InlineList, domain_errors, saved
from crm.core.pages import edit_page, flash_post, optional_static, order_post, posted
from crm.core.permissions import Role
from crm.customers.choices import ClientType
from crm.leads import selectors_admin as selectors
from crm.leads.choices import Channel, Strategy
from crm.leads.forms_admin import PartnerCodeForm, RoutingRuleForm, RuleTestForm
from crm.leads.models import RoutingRule
from crm.leads.permissions import LEAD_SETTINGS, ROUTING_VIEW
from crm.leads.services import rules as services

# --- routing rules --------------------------------------------------------------------------------


def _conditions(rule: RoutingRule, form_names: dict[int, str]) -> list[tuple[str, str]]:
    """The rule's conditions as (what, values) lines for the list."""
    conditions = rule.conditions or {}
    client_types = dict(ClientType.choices)
    channels = dict(Channel.choices)
    lines = []
    if conditions.get("client_types"):
        values = [str(client_types.get(v, v)) for v in conditions["client_types"]]
        lines.append((_("Client type"), ", ".join(values)))
    if conditions.get("channels"):
        values = [str(channels.get(v, v)) for v in conditions["channels"]]
        lines.append((_("Channel"), ", ".join(values)))
    if conditions.get("forms"):
        names = [form_names.get(pk, f"#{pk}") for pk in conditions["forms"]]
        lines.append((_("Web form"), ", ".join(names)))
    for key in ("utm_source", "utm_medium", "utm_campaign"):
        if conditions.get(key):
            lines.append((key, ", ".join(conditions[key])))
    for name, value in (conditions.get("fields") or {}).items():
        lines.append((name, value))
    return lines


def _rule_test(request: SignedInRequest) -> tuple[RuleTestForm, selectors.RuleTest | None]:
    form_choices = selectors.web_form_choices()
    if "client_type" not in request.GET:
        return RuleTestForm(form_choices=form_choices, auto_id="test_%s"), None
    form = RuleTestForm(request.GET, form_choices=form_choices, auto_id="test_%s")
    if not form.is_valid():
        return form, None
    data = form.cleaned_data
    result = selectors.routing_rule_test(
        actor=request.user,
        client_type=data["client_type"] or "",
        channel=data["channel"] or Channel.WEB_FORM,
        utm_source=data["utm_source"].strip(),
        form_id=int(data["form"]) if data["form"] else None,
    )
    return form, result


@login_required
@domain_errors
def routing_rule_list(request: SignedInRequest) -> HttpResponse:
    """The rules in the order they are tried, and the tester (``?client_type=…``)."""
    rules = selectors.routing_rule_list(actor=request.user)
    test_form, test = _rule_test(request)
    form_names = selectors.form_names()
    for rule in rules:
        rule.condition_lines = _conditions(rule, form_names)  # type: ignore[attr-defined]
    return render(
        request,
        "leads/admin/rule_list.html",
        {
            "rules": [rule for rule in rules if not rule.is_default],
            "default_rules": [rule for rule in rules if rule.is_default],
            "can_edit": getattr(request.user, "role", "") == Role.ADMIN,
            "test_form": test_form,
            "test": test,
            "strategies": Strategy,
            "sortable_js": optional_static("vendor/Sortable.min.js"),
        },
    )


@login_required
@domain_errors
def routing_rule_test(request: SignedInRequest) -> HttpResponse:
    """The tester's answer alone (for the box on the rules page)."""
    ROUTING_VIEW.check(request.user)
    test_form, test = _rule_test(request)
    return render(
        request,
        "leads/admin/partials/rule_test_result.html",
        {"test_form": test_form, "test": test, "strategies": Strategy},
    )


def _rule_form_page(request: SignedInRequest, rule: RoutingRule | None) -> HttpResponse:
    form = RoutingRuleForm(posted(request), rule=rule)
    return edit_page(
        request,
        form,
        lambda: services.routing_rule_save(actor=request.user, rule=rule, **form.service_data()),
        template="leads/admin/rule_form.html",
        context={"rule": rule},
        success=lambda stored: saved(
            request,
            _("Rule “%(name)s” saved.") % {"name": stored.name},
            f"{reverse('leads:routing_rule_list')}#rule-{stored.pk}",
        ),
    )


@login_required
@domain_errors
def routing_rule_create(request: SignedInRequest) -> HttpResponse:
    LEAD_SETTINGS.check(request.user)
    return _rule_form_page(request, None)


@login_required
@domain_errors
def routing_rule_edit(request: SignedInRequest, pk: int) -> HttpResponse:
    return _rule_form_page(request, selectors.routing_rule_get(actor=request.user, pk=pk))


@login_required
@domain_errors
@require_POST
def routing_rule_delete(request: SignedInRequest, pk: int) -> HttpResponse:
    rule = selectors.routing_rule_get(actor=request.user, pk=pk)
    return flash_post(
        request,
        lambda: services.routing_rule_delete(actor=request.user, rule=rule),
        done=_("Rule “%(name)s” deleted.") % {"name": rule.name},
        to="leads:routing_rule_list",
        refusals=(Conflict,),
    )


@login_required
@domain_errors
@require_POST
def routing_rule_move(request: SignedInRequest, pk: int) -> HttpResponse:
    """Move a rule one place up or down (the buttons that work without JavaScript)."""
    rule = selectors.routing_rule_get(actor=request.user, pk=pk)
    services.routing_rule_move(
        actor=request.user, rule=rule, direction=request.POST.get("direction", "")
    )
    return redirect(f"{reverse('leads:routing_rule_list')}#rule-{rule.pk}")


@login_required
@domain_errors
@require_POST
def routing_rule_reorder(request: SignedInRequest) -> HttpResponse:
    """Save the order of the rules (``rule_ids``, each once), as dragged."""
    LEAD_SETTINGS.check(request.user)
    return order_post(
        request,
        "rule_ids",
        lambda rule_ids: services.routing_rule_reorder(actor=request.user, rule_ids=rule_ids),
        changed=_("The rules have changed meanwhile; the page now shows them as they are."),
        to="leads:routing_rule_list",
    )


# --- partner codes --------------------------------------------------------------------------------


PARTNERS = InlineList(
    template="leads/admin/partner_list.html",
    rows_name="partners",
    form_class=PartnerCodeForm,
    row_prefix="partner",
    initial=lambda partner: {"code": partner.code, "name": partner.name},
)


def _partners(request: SignedInRequest) -> Callable[[], list[Any]]:
    return lambda: selectors.partner_code_list(actor=request.user)


@login_required
@domain_errors
def partner_code_list(request: SignedInRequest) -> HttpResponse:
    """The partner codes; the form on top adds one."""
    LEAD_SETTINGS.check(request.user)
    return PARTNERS.list_view(
        request,
        _partners(request),
        lambda form: services.partner_code_save(actor=request.user, **form.cleaned_data),
        added=lambda partner: _("Partner code “%(code)s” added.") % {"code": partner.code},
        to="leads:partner_code_list",
    )


@login_required
@domain_errors
@require_POST
def partner_code_edit(request: SignedInRequest, pk: int) -> HttpResponse:
    partner = selectors.partner_code_get(actor=request.user, pk=pk)
    return PARTNERS.edit_view(
        request,
        partner,
        _partners(request),
        lambda form: services.partner_code_save(
            actor=request.user, partner=partner, **form.cleaned_data
        ),
        to="leads:partner_code_list",
    )


@login_required
@domain_errors
@require_POST
def partner_code_delete(request: SignedInRequest, pk: int) -> HttpResponse:
    partner = selectors.partner_code_get(actor=request.user, pk=pk)
    services.partner_code_delete(actor=request.user, partner=partner)
    messages.success(request, _("Partner code “%(code)s” deleted.") % {"code": partner.code})
    return redirect("leads:partner_code_list")


urlpatterns: list[URLPattern] = [
    path("settings/rules/", routing_rule_list, name="routing_rule_list"),
    path("settings/rules/test/", routing_rule_test, name="routing_rule_test"),
    path("settings/rules/new/", routing_rule_create, name="routing_rule_create"),
    path("settings/rules/reorder/", routing_rule_reorder, name="routing_rule_reorder"),
    path("settings/rules/<int:pk>/", routing_rule_edit, name="routing_rule_edit"),
    path("settings/rules/<int:pk>/move/", routing_rule_move, name="routing_rule_move"),
    path("settings/rules/<int:pk>/delete/", routing_rule_delete, name="routing_rule_delete"),
    path("settings/partners/", partner_code_list, name="partner_code_list"),
    path("settings/partners/<int:pk>/", partner_code_edit, name="partner_code_edit"),
    path("settings/partners/<int:pk>/delete/", partner_code_delete, name="partner_code_delete"),
]
