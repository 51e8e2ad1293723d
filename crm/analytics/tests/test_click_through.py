"""Click-through: the list behind a figure holds exactly as many records as the figure says,
counted in the viewer's own time zone (Vladivostok, UTC+10, where the site is in Moscow)."""

from __future__ import annotations

import datetime as dt
import html
import re
from decimal import Decimal
from urllib.parse import urlsplit

import pytest

from conftest import client_for
from crm.analytics.selectors import dashboard
from crm.customers.tests.factories import make_company
from crm.leads.models import Lead
from crm.sales.models import Deal, Stage, StageVisit
from crm.sales.tests.factories import make_deal

pytestmark = pytest.mark.django_db

UTC = dt.UTC
DECEMBER = "period=custom&date_from=2026-12-01&date_to=2026-12-31"
NOW = dt.datetime(2026, 12, 7, 3, 0, tzinfo=UTC)


def closed(owner, status, at, **fields) -> Deal:
    stage = Stage.objects.get(pipeline__name="Розница", kind=status)
    deal = make_deal(
        owner, stage=stage, status=status, amount=Decimal("100"), closed_at=at, **fields
    )
    StageVisit.objects.create(deal=deal, stage=stage, entered_at=at, owner=owner)
    # Made and moved at that moment, as the services write a deal (the funnel relies on it).
    Deal.objects.filter(pk=deal.pk).update(created_at=at, stage_entered_at=at)
    return deal


@pytest.fixture
def december(org, settings, monkeypatch):
    """In Vladivostok: the manager wins at 00:30 on 1 December and at 23:30 on 31 December
    (both in), at 23:59 on 30 November and at 00:00 on 1 January (both out, though in
    December in Moscow or UTC); loses one on the 5th; the colleague wins one for a company
    from the web form; the outsider (another team) wins one."""
    settings.TIME_ZONE = "Europe/Moscow"
    monkeypatch.setattr(dashboard, "clock", lambda: NOW)
    for user in (org.manager, org.head):
        user.time_zone = "Asia/Vladivostok"
        user.save()
    closed(org.manager, "won", dt.datetime(2026, 11, 30, 14, 30, tzinfo=UTC))
    closed(org.manager, "won", dt.datetime(2026, 12, 31, 13, 30, tzinfo=UTC))
    closed(org.manager, "won", dt.datetime(2026, 11, 30, 13, 59, tzinfo=UTC))
    closed(org.manager, "won", dt.datetime(2026, 12, 31, 14, 0, tzinfo=UTC))
    closed(org.manager, "lost", dt.datetime(2026, 12, 5, 9, 0, tzinfo=UTC))
    firm = make_company(org.colleague, legal_name="Альфа", inn="")
    closed(
        org.colleague,
        "won",
        dt.datetime(2026, 12, 9, 9, 0, tzinfo=UTC),
        company=firm,
        source="web_form",
    )
    closed(org.outsider, "won", dt.datetime(2026, 12, 9, 9, 0, tzinfo=UTC))
    return org


def listed_deals(client, href: str) -> int:
    response = client.get(href)
    assert response.status_code == 200
    return response.context["totals"].count


def links(page: str, container_id: str) -> list[tuple[str, str]]:
    """(href, text) of the links inside the element with ``container_id``."""
    start = page.index(f'id="{container_id}"')
    chunk = page[start : page.index("</table>", start)]
    return [
        (html.unescape(href), re.sub(r"<[^>]+>", "", text).strip())
        for href, text in re.findall(r'<a href="([^"]+)">(.*?)</a>', chunk)
    ]


@pytest.mark.parametrize(("who", "won"), [("manager", 2), ("head", 3)])
def test_sales_won_links_to_exactly_the_deals_won(december, who, won):
    client = client_for(getattr(december, who))
    response = client.get(f"/reports/sales/?{DECEMBER}")
    report = response.context["report"]
    assert report.summary.won_count == won
    assert "closed_from=2026-12-01" in response.context["won_query"]
    assert listed_deals(client, f"/sales/deals/?{response.context['won_query']}") == won


def test_sales_groups_link_to_their_deals(december):
    client = client_for(december.head)
    page = client.get(f"/reports/sales/?{DECEMBER}").content.decode()
    seen = 0
    for table in ("sales-by-manager", "sales-by-source", "sales-by-client-type"):
        for href, _label in links(page, table):
            row = page[page.index(href.replace("&", "&amp;")) :]
            figure = int(re.search(r'<td class="text-end">(\d+)</td>', row).group(1))
            assert listed_deals(client, href) == figure, href
            seen += 1
    # two managers, the web form and the company client type
    assert seen == 4


def test_sales_filters_carry_into_the_list(december):
    client = client_for(december.head)
    query = f"{DECEMBER}&manager={december.colleague.pk}&client_type=business&source=web_form"
    response = client.get(f"/reports/sales/?{query}")
    assert response.context["report"].summary.won_count == 1
    assert listed_deals(client, f"/sales/deals/?{response.context['won_query']}") == 1
    team = december.manager.teams.get()
    other = client.get(f"/reports/sales/?{DECEMBER}&team={team.pk}")
    assert other.context["report"].summary.won_count == 3
    assert "team=" in other.context["won_query"]
    assert listed_deals(client, f"/sales/deals/?{other.context['won_query']}") == 3


def test_funnel_won_and_lost_link_to_their_deals(december):
    client = client_for(december.manager)
    pipeline = Stage.objects.get(pipeline__name="Розница", kind="won").pipeline_id
    response = client.get(f"/reports/funnel/?{DECEMBER}&pipeline={pipeline}")
    report = response.context["report"]
    assert (report.won, report.lost) == (2, 1)
    assert listed_deals(client, f"/sales/deals/?{response.context['won_query']}") == 2
    assert listed_deals(client, f"/sales/deals/?{response.context['lost_query']}") == 1


def test_dashboard_tiles_link_to_their_records(december):
    # This month in Vladivostok is December: the manager's two wins.
    waiting = Lead.objects.create(
        title="Заявка", channel="web_form", owner=december.manager, status="new"
    )
    Lead.objects.create(
        title="Отвечена",
        channel="web_form",
        owner=december.manager,
        status="in_progress",
        responded_at=NOW,
    )
    Lead.objects.create(title="Закрыта", channel="web_form", owner=december.manager, status="lost")
    client = client_for(december.manager)
    response = client.get("/")
    board = response.context["board"]
    assert (board.total.won_count, board.total.leads_waiting) == (2, 1)
    page = response.content.decode()
    revenue = html.unescape(re.search(r'id="tile-revenue" href="([^"]+)"', page).group(1))
    assert listed_deals(client, revenue) == 2
    leads = html.unescape(re.search(r'id="tile-leads" href="([^"]+)"', page).group(1))
    listed = client.get(leads).context["page"].items
    assert [lead.pk for lead in listed] == [waiting.pk]


def test_the_head_rows_link_to_each_managers_wins(december):
    client = client_for(december.head)
    page = client.get("/").content.decode()
    row = page[page.index(f'data-manager="{december.colleague.pk}"') :]
    href = html.unescape(re.search(r'<a href="([^"]+)">1</a>', row).group(1))
    assert urlsplit(href).path == "/sales/deals/"
    assert listed_deals(client, href) == 1


def test_lead_list_filters_by_created_days_in_the_users_zone(december):
    inside = Lead.objects.create(title="Да", channel="web_form", owner=december.manager)
    outside = Lead.objects.create(title="Нет", channel="web_form", owner=december.manager)
    Lead.objects.filter(pk=inside.pk).update(
        created_at=dt.datetime(2026, 11, 30, 14, 30, tzinfo=UTC)  # 1 Dec 00:30 there
    )
    Lead.objects.filter(pk=outside.pk).update(
        created_at=dt.datetime(2026, 11, 30, 13, 30, tzinfo=UTC)  # 30 Nov 23:30 there
    )
    response = client_for(december.manager).get(
        "/leads/?created_from=2026-12-01&created_to=2026-12-31"
    )
    assert [lead.pk for lead in response.context["page"].items] == [inside.pk]
