"""Click-through from the funnel: each stage's "reached" figure and its "lost here" figure
open the deal list (page and API) holding exactly the deals counted, on a history with a
skipped stage, a move back, a reopened deal, lost deals, a colleague's deal, the period's
edge in the viewer's zone and the product filter; a refused funnel filter answers 4xx
naming the parameter."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest

from conftest import client_for
from crm.analytics.selectors import dashboard
from crm.analytics.tests.test_funnel import INVOICE, NEW, PAID, REFUSED, SHIPPED, day, history
from crm.api.tests.conftest import ApiClient, token_for
from crm.sales.models import DealLine, Pipeline, Stage
from crm.sales.tests.factories import make_product

pytestmark = pytest.mark.django_db

DECEMBER = {"period": "custom", "date_from": "2026-12-01", "date_to": "2026-12-31"}
UTC = dt.UTC


@pytest.fixture
def deals(org, settings, monkeypatch):
    """The manager's (and head's) history in December, days counted in Vladivostok while the
    site is in Moscow; the colleague's deal only the head sees."""
    settings.TIME_ZONE = "Europe/Moscow"
    monkeypatch.setattr(dashboard, "clock", lambda: day(7))
    for user in (org.manager, org.head):
        user.time_zone = "Asia/Vladivostok"
        user.save()
    manager = org.manager
    made = {
        "won": history(
            manager, [(NEW, day(1)), (INVOICE, day(2)), (PAID, day(4)), (SHIPPED, day(5))]
        ),
        "skipped": history(
            manager, [(NEW, day(1)), (PAID, day(3)), (REFUSED, day(6))], reason="Дорого"
        ),
        "back": history(
            manager, [(NEW, day(2)), (INVOICE, day(3)), (NEW, day(4)), (INVOICE, day(6))]
        ),
        "lost_new": history(manager, [(NEW, day(1)), (REFUSED, day(2))]),
        "reopened": history(manager, [(NEW, day(1)), (SHIPPED, day(3)), (INVOICE, day(5))]),
        # Won straight from the first stage; won in December from a November stage.
        "straight": history(manager, [(NEW, day(1)), (SHIPPED, day(2))]),
        "won_only": history(manager, [(NEW, day(20, 11)), (SHIPPED, day(2))]),
        "november": history(manager, [(NEW, day(10, 11)), (INVOICE, day(12, 11))]),
        # 1 December 00:30 in Vladivostok: in; 30 November 23:59 there: out.
        "edge_in": history(manager, [(NEW, dt.datetime(2026, 11, 30, 14, 30, tzinfo=UTC))]),
        "edge_out": history(manager, [(NEW, dt.datetime(2026, 11, 30, 13, 59, tzinfo=UTC))]),
        "colleague": history(org.colleague, [(NEW, day(1)), (INVOICE, day(2))]),
    }
    return made


def _ids(deals, *names):
    return sorted(deals[name].pk for name in names)


def _listed(client, url: str) -> list[int]:
    response = client.get(url)
    assert response.status_code == 200, response.content[:500]
    assert response.context["page"].next_cursor is None
    return sorted(deal.pk for deal in response.context["page"].items)


def _funnel_page(client, **extra):
    response = client.get("/reports/funnel/", {**DECEMBER, **extra})
    assert response.status_code == 200
    return response


def _stage(name: str) -> Stage:
    return Stage.objects.get(pipeline__name="Розница", name=name)


def test_each_stage_links_to_exactly_the_deals_it_counts(org, deals):
    client = client_for(org.manager)
    response = _funnel_page(client)
    report, urls = response.context["report"], response.context["reached_urls"]
    expected = {
        NEW: _ids(
            deals,
            "won",
            "skipped",
            "back",
            "lost_new",
            "reopened",
            "edge_in",
            "straight",
            "won_only",
        ),
        INVOICE: _ids(deals, "won", "skipped", "back", "reopened", "straight", "won_only"),
        PAID: _ids(deals, "won", "skipped", "straight", "won_only"),
    }
    for row in report.stages:
        listed = _listed(client, urls[row.stage.pk])
        assert listed == expected[row.stage.name], row.stage.name
        assert len(listed) == row.reached
        assert f'href="{urls[row.stage.pk].replace("&", "&amp;")}"' in response.content.decode()


def test_lost_here_links_to_the_lost_deals_whose_furthest_stage_it_was(org, deals):
    client = client_for(org.manager)
    response = _funnel_page(client)
    urls = response.context["lost_here_urls"]
    assert _listed(client, urls[_stage(PAID).pk]) == _ids(deals, "skipped")
    assert _listed(client, urls[_stage(NEW).pk]) == _ids(deals, "lost_new")
    assert _listed(client, urls[_stage(INVOICE).pk]) == []
    for row in response.context["report"].stages:
        assert len(_listed(client, urls[row.stage.pk])) == row.lost
    page = response.content.decode()
    for name in (PAID, NEW):
        assert f'href="{urls[_stage(name).pk].replace("&", "&amp;")}"' in page
    assert f'href="{urls[_stage(INVOICE).pk].replace("&", "&amp;")}"' not in page


def test_the_chart_steps_carry_their_lists(org, deals):
    response = _funnel_page(client_for(org.manager))
    steps = response.context["chart"]["steps"]
    urls = response.context["reached_urls"]
    assert [step["url"] for step in steps[:-1]] == [
        urls[row.stage.pk] for row in response.context["report"].stages
    ]
    assert parse_qs(urlsplit(steps[-1]["url"]).query)["status"] == ["won"]


def test_the_head_counts_the_colleague_and_the_manager_filter_carries(org, deals):
    client = client_for(org.head)
    invoice = _stage(INVOICE).pk
    everyone = _funnel_page(client).context["reached_urls"][invoice]
    assert _listed(client, everyone) == _ids(
        deals, "won", "skipped", "back", "reopened", "straight", "won_only", "colleague"
    )
    narrowed = _funnel_page(client, manager=org.colleague.pk).context["reached_urls"][invoice]
    assert parse_qs(urlsplit(narrowed).query)["owner"] == [str(org.colleague.pk)]
    assert _listed(client, narrowed) == _ids(deals, "colleague")


def test_the_product_filter_narrows_the_funnel_and_its_lists(org, deals):
    chair = make_product(name="Стул")
    for name in ("won", "back"):
        DealLine.objects.create(
            deal=deals[name],
            product=chair,
            name="Стул",
            price=Decimal("10"),
            total=Decimal("10"),
            vat_amount=Decimal("1.80"),
        )
    client = client_for(org.manager)
    response = _funnel_page(client, product=chair.pk)
    report = response.context["report"]
    assert [row.reached for row in report.stages] == [2, 2, 1]
    for row in report.stages:
        url = response.context["reached_urls"][row.stage.pk]
        assert parse_qs(urlsplit(url).query)["product"] == [str(chair.pk)]
        assert len(_listed(client, url)) == row.reached
    assert _listed(client, f"/sales/deals/?product={chair.pk}") == _ids(deals, "won", "back")


def test_the_api_list_takes_the_same_filter(org, deals):
    api = ApiClient(token_for(org.manager))
    paid = _stage(PAID)
    answer = api.get(
        "/deals", reached_stage=paid.pk, reached_from="2026-12-01", reached_to="2026-12-31"
    )
    assert answer.status_code == 200, answer.content
    assert sorted(item["id"] for item in answer.json()["items"]) == _ids(
        deals, "won", "skipped", "straight", "won_only"
    )
    lost = api.get(
        "/deals",
        reached_stage=paid.pk,
        reached_from="2026-12-01",
        reached_to="2026-12-31",
        lost_here="true",
    )
    assert [item["id"] for item in lost.json()["items"]] == _ids(deals, "skipped")
    new = _stage(NEW).pk
    edge = api.get("/deals", reached_stage=new, reached_from="2026-11-30", reached_to="2026-11-30")
    # 30 November in Vladivostok: the deal at 23:59 there; the one at 00:30 on 1 December
    # there (still 30 November in Moscow) is not.
    assert [item["id"] for item in edge.json()["items"]] == _ids(deals, "edge_out")


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"reached_stage": "abc", "reached_from": "2026-12-01", "reached_to": "2026-12-31"}, "reached_stage"),
        ({"reached_stage": "999999", "reached_from": "2026-12-01", "reached_to": "2026-12-31"}, "reached_stage"),
        ({"reached_stage": "WON", "reached_from": "2026-12-01", "reached_to": "2026-12-31"}, "reached_stage"),
        ({"reached_stage": "NEW", "reached_to": "2026-12-31"}, "reached_from"),
        ({"reached_stage": "NEW", "reached_from": "2026-12-01"}, "reached_to"),
        ({"reached_stage": "NEW", "reached_from": "1.12.2026", "reached_to": "2026-12-31"}, "reached_from"),
        ({"reached_stage": "NEW", "reached_from": "2026-12-31", "reached_to": "2026-12-01"}, "reached_to"),
        ({"reached_stage": "NEW", "reached_from": "2026-12-01", "reached_to": "2026-12-31", "lost_here": "2"}, "lost_here"),
        ({"reached_from": "2026-12-01", "reached_to": "2026-12-31"}, "reached_stage"),
    ],
)  # fmt: skip
def test_a_refused_funnel_filter_answers_400_naming_it(org, params, field):
    stages = {"NEW": _stage(NEW).pk, "WON": _stage(SHIPPED).pk}
    query = {key: str(stages.get(value, value)) for key, value in params.items()}
    response = client_for(org.manager).get("/sales/deals/", query)
    assert response.status_code == 400
    assert f"<code>{field}</code>" in response.content.decode()


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"reached_stage": "0", "reached_from": "2026-12-01", "reached_to": "2026-12-31"}, "reached_stage"),
        ({"reached_stage": "NEW", "reached_from": "2026-12-01"}, "reached_to"),
        ({"reached_stage": "NEW", "reached_from": "tomorrow", "reached_to": "2026-12-31"}, "reached_from"),
        ({"reached_stage": "WON", "reached_from": "2026-12-01", "reached_to": "2026-12-31"}, "reached_stage"),
        ({"product": "x"}, "product"),
    ],
)  # fmt: skip
def test_the_api_refuses_them_with_422_naming_the_field(org, params, field):
    stages = {"NEW": _stage(NEW).pk, "WON": _stage(SHIPPED).pk}
    query = {key: str(stages.get(value, value)) for key, value in params.items()}
    answer = ApiClient(token_for(org.manager)).get("/deals", **query)
    assert answer.status_code == 422, answer.content
    assert any(name.endswith(field) for name in answer.json()["errors"]), answer.json()


def test_the_stage_of_another_pipeline_lists_its_own_deals_only(org, deals):
    wholesale_stage = Pipeline.objects.get(name="Опт").stages.filter(kind="open").first()
    query = {"reached_stage": wholesale_stage.pk, "reached_from": "2026-12-01"}
    url = f"/sales/deals/?{urlencode({**query, 'reached_to': '2026-12-31'})}"
    assert _listed(client_for(org.manager), url) == []
