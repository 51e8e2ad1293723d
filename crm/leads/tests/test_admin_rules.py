"""Routing settings: the rules page (order, default rule, editor, the tester) and the
partner codes; who may see and change them."""

from __future__ import annotations

import pytest
from django.urls import reverse

from conftest import client_for
from crm.accounts.models import Team
from crm.core.errors import Conflict, PermissionDenied, ValidationFailed
from crm.leads.models import PartnerCode, RoundRobinState, RoutingRule
from crm.leads.services import rules as services
from crm.leads.services.routing import assignee_for
from crm.sales.models import Pipeline

pytestmark = pytest.mark.django_db


@pytest.fixture
def team(org) -> Team:
    return Team.objects.get(name="Москва")


@pytest.fixture
def retail() -> Pipeline:
    return Pipeline.objects.get(name="Розница")


def ordered() -> list[str]:
    return list(
        RoutingRule.objects.order_by("is_default", "position", "id").values_list("name", flat=True)
    )


def rule_data(into: Pipeline, **overrides) -> dict:
    data = {
        "name": "Яндекс",
        "is_active": "on",
        "client_types": ["private"],
        "channels": ["web_form"],
        "utm_source": "yandex, ya.direct",
        "utm_medium": "",
        "utm_campaign": "",
        "field_values": "budget=больше\n",
        "pipeline": str(into.pk),
        "team": "",
        "strategy": "client_manager",
        "fixed_user": "",
        "response_minutes": "30",
    }
    data.update(overrides)
    return data


# --- who may do what ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "rules", "other_pages"),
    [("admin", 200, 200), ("head", 200, 403), ("manager", 403, 403), ("viewer", 403, 403)],
)
def test_permission_matrix_of_the_pages(org, who, rules, other_pages):
    client = client_for(getattr(org, who))
    rule = RoutingRule.objects.filter(is_default=False).first()
    assert client.get(reverse("leads:routing_rule_list")).status_code == rules
    assert (
        client.get(reverse("leads:routing_rule_test"), {"client_type": "private"}).status_code
        == rules
    )
    for url in (
        reverse("leads:routing_rule_create"),
        reverse("leads:routing_rule_edit", args=[rule.pk]),
        reverse("leads:partner_code_list"),
        reverse("leads:webform_list"),
        reverse("leads:webform_create"),
        reverse("leads:inbound_list"),
    ):
        assert client.get(url).status_code == other_pages, url


def test_anonymous_users_are_sent_to_sign_in(db):
    client = client_for(None)
    rule = RoutingRule.objects.first()
    for url in (
        reverse("leads:routing_rule_list"),
        reverse("leads:routing_rule_test"),
        reverse("leads:routing_rule_create"),
        reverse("leads:routing_rule_edit", args=[rule.pk]),
        reverse("leads:partner_code_list"),
        reverse("leads:webform_list"),
        reverse("leads:inbound_list"),
    ):
        response = client.get(url)
        assert response.status_code == 302 and "/accounts/login/" in response["Location"], url
    response = client.post(reverse("leads:routing_rule_delete", args=[rule.pk]))
    assert response.status_code == 302 and RoutingRule.objects.filter(pk=rule.pk).exists()


@pytest.mark.parametrize("who", ["head", "manager", "viewer"])
def test_only_the_administrator_changes_rules(org, retail, who):
    client = client_for(getattr(org, who))
    rule = RoutingRule.objects.filter(is_default=False).first()
    before = ordered()
    assert client.post(reverse("leads:routing_rule_create"), rule_data(retail)).status_code == 403
    assert client.post(reverse("leads:routing_rule_delete", args=[rule.pk])).status_code == 403
    assert (
        client.post(
            reverse("leads:routing_rule_move", args=[rule.pk]), {"direction": "down"}
        ).status_code
        == 403
    )
    ids = list(RoutingRule.objects.filter(is_default=False).values_list("id", flat=True))
    assert (
        client.post(reverse("leads:routing_rule_reorder"), {"rule_ids": ids[::-1]}).status_code
        == 403
    )
    assert ordered() == before
    with pytest.raises(PermissionDenied):
        services.routing_rule_delete(actor=getattr(org, who), rule=rule)


def test_a_head_reads_the_rules_without_the_controls(org):
    page = client_for(org.head).get(reverse("leads:routing_rule_list")).content.decode()
    assert "Частные клиенты" in page and "Все остальные" in page
    assert reverse("leads:routing_rule_create") not in page
    assert "/move/" not in page and "/delete/" not in page
    admin_page = client_for(org.admin).get(reverse("leads:routing_rule_list")).content.decode()
    assert reverse("leads:routing_rule_create") in admin_page and "/move/" in admin_page


# --- the editor -----------------------------------------------------------------------------------


def test_a_new_rule_goes_before_the_default_one_with_its_conditions(org, retail):
    response = client_for(org.admin).post(reverse("leads:routing_rule_create"), rule_data(retail))
    assert response.status_code == 302
    rule = RoutingRule.objects.get(name="Яндекс")
    assert rule.conditions == {
        "client_types": ["private"],
        "channels": ["web_form"],
        "utm_source": ["yandex", "ya.direct"],
        "fields": {"budget": "больше"},
    }
    assert rule.response_minutes == 30 and rule.strategy == "client_manager"
    assert ordered()[-2:] == ["Яндекс", "Все остальные"]
    page = client_for(org.admin).get(reverse("leads:routing_rule_list")).content.decode()
    assert "yandex, ya.direct" in page and "budget" in page


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"strategy": "fixed_user"}, "fixed_user"),
        ({"strategy": "round_robin"}, "team"),
        ({"strategy": "least_loaded"}, "team"),
        ({"name": " "}, "name"),
        ({"response_minutes": "0"}, "response_minutes"),
        ({"field_values": "budget больше"}, "field_values"),
        ({"field_values": "Бюджет=много"}, "field_values"),
        ({"utm_source": "a, " + "b" * 201}, "utm_source"),
        ({"pipeline": "999999"}, "pipeline"),
    ],
)
def test_bad_input_is_named_on_its_field(org, retail, overrides, field):
    before = RoutingRule.objects.count()
    response = client_for(org.admin).post(
        reverse("leads:routing_rule_create"), rule_data(retail, **overrides)
    )
    assert response.status_code == 422
    form = response.context["form"]
    assert list(form.errors) == [field], form.errors
    assert f'name="{field}"' in response.content.decode()
    assert RoutingRule.objects.count() == before


def test_an_archived_pipeline_is_refused(org, retail):
    retail.archived = True
    retail.save()
    rule = RoutingRule.objects.get(name__startswith="Частные")
    response = client_for(org.admin).post(
        reverse("leads:routing_rule_edit", args=[rule.pk]), rule_data(retail, name="Частные")
    )
    assert response.status_code == 422
    assert list(response.context["form"].errors) == ["pipeline"]
    assert RoutingRule.objects.get(pk=rule.pk).name.startswith("Частные клиенты")


def test_the_service_names_every_bad_field_and_changes_nothing(org, retail, team):
    archived = Pipeline.objects.create(name="Старая", archived=True)
    with pytest.raises(ValidationFailed) as refused:
        services.routing_rule_save(
            actor=org.admin,
            name="Плохое",
            pipeline_id=archived.pk,
            strategy="fixed_user",
            fixed_user_id=org.viewer.pk,
            response_minutes=-5,
            conditions={
                "client_types": ["alien"],
                "channels": ["pigeon"],
                "forms": [999999],
                "utm_source": ["x" * 300],
                "fields": {"Бюджет": "1"},
                "colour": ["red"],
            },
        )
    assert set(refused.value.field_errors) == {
        "pipeline",
        "fixed_user",
        "response_minutes",
        "conditions",
        "conditions.client_types",
        "conditions.channels",
        "conditions.forms",
        "conditions.utm_source",
        "conditions.fields",
    }
    assert not RoutingRule.objects.filter(name="Плохое").exists()
    with pytest.raises(ValidationFailed) as refused:
        services.routing_rule_save(
            actor=org.admin, name="Без команды", pipeline_id=retail.pk, strategy="round_robin"
        )
    assert set(refused.value.field_errors) == {"team"}
    saved = services.routing_rule_save(
        actor=org.admin,
        name="С командой",
        pipeline_id=retail.pk,
        team_id=team.pk,
        strategy="fixed_user",
        fixed_user_id=org.manager.pk,
    )
    assert saved.fixed_user == org.manager and saved.team == team
    with pytest.raises(PermissionDenied):
        services.routing_rule_save(actor=org.head, name="x", pipeline_id=retail.pk)


# --- the default rule and the order ---------------------------------------------------------------


def test_the_default_rule_cannot_be_deleted_switched_off_or_given_conditions(org, retail):
    default = RoutingRule.objects.get(is_default=True)
    client = client_for(org.admin)
    response = client.post(reverse("leads:routing_rule_delete", args=[default.pk]), follow=True)
    assert RoutingRule.objects.filter(pk=default.pk).exists()
    assert [m.level_tag for m in response.context["messages"]] == ["error"]
    with pytest.raises(Conflict):
        services.routing_rule_delete(actor=org.admin, rule=default)
    with pytest.raises(ValidationFailed) as refused:
        services.routing_rule_save(
            actor=org.admin,
            rule=default,
            name="Все",
            pipeline_id=retail.pk,
            strategy="client_manager",
            is_active=False,
            conditions={"client_types": ["private"]},
        )
    assert set(refused.value.field_errors) == {"is_active", "conditions"}
    default.refresh_from_db()
    assert default.is_active and default.conditions == {} and default.name == "Все остальные"
    # The page has no condition boxes nor the "active" box for it, and saves the rest.
    page = client.get(reverse("leads:routing_rule_edit", args=[default.pk])).content.decode()
    assert 'name="client_types"' not in page and 'name="is_active"' not in page
    response = client.post(
        reverse("leads:routing_rule_edit", args=[default.pk]),
        {
            "name": "Остальные",
            "pipeline": str(retail.pk),
            "strategy": "client_manager",
            "response_minutes": "90",
        },
    )
    assert response.status_code == 302
    default.refresh_from_db()
    assert default.name == "Остальные" and default.response_minutes == 90 and default.is_active


def test_reorder_by_drag_and_by_arrows_keeps_the_default_last(org, retail):
    third = services.routing_rule_save(
        actor=org.admin, name="Третье", pipeline_id=retail.pk, strategy="client_manager"
    )
    first, second = (
        RoutingRule.objects.filter(is_default=False).exclude(pk=third.pk).order_by("position")
    )
    default = RoutingRule.objects.get(is_default=True)
    client = client_for(org.admin)
    response = client.post(
        reverse("leads:routing_rule_reorder"),
        {"rule_ids": [third.pk, first.pk, second.pk]},
        HTTP_X_REQUESTED_WITH="XMLHttpRequest",
    )
    assert response.status_code == 204
    assert ordered() == [third.name, first.name, second.name, default.name]
    # The default rule named anywhere but last, a rule missing or twice: refused, unchanged.
    for ids in (
        [default.pk, third.pk, first.pk, second.pk],
        [third.pk, first.pk],
        [third.pk, first.pk, first.pk, second.pk],
        ["x"],
    ):
        response = client.post(
            reverse("leads:routing_rule_reorder"),
            {"rule_ids": ids},
            HTTP_X_REQUESTED_WITH="XMLHttpRequest",
        )
        assert response.status_code == 422
        assert ordered() == [third.name, first.name, second.name, default.name]
    client.post(reverse("leads:routing_rule_move", args=[second.pk]), {"direction": "up"})
    assert ordered() == [third.name, second.name, first.name, default.name]
    client.post(reverse("leads:routing_rule_move", args=[third.pk]), {"direction": "up"})
    client.post(reverse("leads:routing_rule_move", args=[default.pk]), {"direction": "up"})
    assert ordered() == [third.name, second.name, first.name, default.name]
    client.post(reverse("leads:routing_rule_move", args=[first.pk]), {"direction": "down"})
    assert ordered()[-1] == default.name
    response = client.post(reverse("leads:routing_rule_delete", args=[second.pk]))
    assert response.status_code == 302 and ordered() == [third.name, first.name, default.name]


# --- the tester -----------------------------------------------------------------------------------


def test_the_tester_names_the_rule_and_who_would_get_it_without_moving_the_turn(org, team):
    RoutingRule.objects.update(team=team, strategy="round_robin")
    client = client_for(org.head)
    response = client.get(
        reverse("leads:routing_rule_list"),
        {"client_type": "business", "channel": "web_form", "utm_source": ""},
    )
    test = response.context["test"]
    assert test.rule.name.startswith("Компании") and test.assignee is not None
    first = test.assignee
    assert not RoundRobinState.objects.exists()
    again = client.get(
        reverse("leads:routing_rule_test"),
        {"client_type": "business", "channel": "email", "utm_source": "yandex"},
    )
    assert again.context["test"].assignee == first and str(first) in again.content.decode()
    assert not RoundRobinState.objects.exists()
    # Private clients, and a default-rule case when no condition holds.
    private = client.get(reverse("leads:routing_rule_test"), {"client_type": "private"})
    assert private.context["test"].rule.name.startswith("Частные")
    RoutingRule.objects.filter(is_default=False).update(is_active=False)
    fallback = client.get(reverse("leads:routing_rule_test"), {"client_type": "private"})
    assert fallback.context["test"].rule.is_default


def test_the_tester_follows_a_utm_condition(org, team, retail):
    services.routing_rule_save(
        actor=org.admin,
        name="Яндекс",
        pipeline_id=retail.pk,
        team_id=team.pk,
        strategy="fixed_user",
        fixed_user_id=org.colleague.pk,
        conditions={"utm_source": ["yandex"]},
    )
    services.routing_rule_reorder(
        actor=org.admin,
        rule_ids=list(
            RoutingRule.objects.filter(is_default=False)
            .order_by("-id")
            .values_list("id", flat=True)
        ),
    )
    response = client_for(org.admin).get(
        reverse("leads:routing_rule_test"),
        {"client_type": "business", "channel": "api", "utm_source": "yandex"},
    )
    assert response.context["test"].rule.name == "Яндекс"
    assert response.context["test"].assignee == org.colleague


def test_peek_says_who_is_next_and_writes_nothing(org, team):
    rule = RoutingRule.objects.get(is_default=True)
    rule.team, rule.strategy = team, "round_robin"
    peeked = assignee_for(rule, client_owner_id=None, peek=True)
    assert not RoundRobinState.objects.exists()
    assert assignee_for(rule, client_owner_id=None, peek=True) == peeked
    given = assignee_for(rule, client_owner_id=None)
    assert given == peeked
    state = RoundRobinState.objects.get(team=team)
    after = assignee_for(rule, client_owner_id=None, peek=True)
    assert after != given
    assert RoundRobinState.objects.get(team=team).last_user_id == state.last_user_id == given
    assert assignee_for(rule, client_owner_id=None) == after
    rule.strategy = "least_loaded"
    RoundRobinState.objects.all().delete()
    assert assignee_for(rule, client_owner_id=None, peek=True) is not None
    assert not RoundRobinState.objects.exists()


# --- partner codes --------------------------------------------------------------------------------


def test_partner_codes_add_edit_delete_and_bad_input(org):
    client = client_for(org.admin)
    url = reverse("leads:partner_code_list")
    assert client.post(url, {"code": "ivanov", "name": "Агентство Иванова"}).status_code == 302
    partner = PartnerCode.objects.get(code="ivanov")
    response = client.post(url, {"code": "ivanov", "name": "Ещё"})
    assert response.status_code == 422 and "code" in response.context["add_form"].errors
    response = client.post(url, {"code": "two words", "name": "Двое"})
    assert response.status_code == 422 and list(response.context["add_form"].errors) == ["code"]
    response = client.post(url, {"code": "solo", "name": ""})
    assert response.status_code == 422 and list(response.context["add_form"].errors) == ["name"]
    assert PartnerCode.objects.count() == 1
    response = client.post(
        reverse("leads:partner_code_edit", args=[partner.pk]), {"code": "ivanov2", "name": "И"}
    )
    assert response.status_code == 302
    partner.refresh_from_db()
    assert (partner.code, partner.name) == ("ivanov2", "И")
    assert "ivanov2" in client.get(url).content.decode()
    for who in ("head", "manager", "viewer"):
        other = client_for(getattr(org, who))
        assert other.post(url, {"code": "x", "name": "y"}).status_code == 403
        assert (
            other.post(reverse("leads:partner_code_delete", args=[partner.pk])).status_code == 403
        )
    assert client.post(reverse("leads:partner_code_delete", args=[partner.pk])).status_code == 302
    assert not PartnerCode.objects.exists()
