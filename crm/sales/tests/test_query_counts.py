"""Exact query-count baselines of the sales pages: the deal list, the board and a column's next
cards, the deal card and its panels, and the settings lists, each the same pinned number of
queries for one row and for fifty (varied owners, stages, clients, tags, currencies)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from urllib.parse import urlencode

import pytest
from django.urls import reverse
from django.utils import timezone

from conftest import client_for
from crm.core.tests.baselines import keyset_list_of_fifty, one_then_fifty
from crm.customers.models import Tag
from crm.customers.services import customer_share
from crm.customers.tests.factories import make_company, make_contact
from crm.planner.tests.factories import make_task
from crm.sales.models import (
    Deal,
    DealLine,
    DocumentTemplate,
    LostReason,
    Pipeline,
    StageAction,
    StageVisit,
)
from crm.sales.selectors_board import PAGE_SIZE
from crm.sales.services.lines import deal_line_add
from crm.sales.services.payments import payment_add
from crm.sales.services.timeline import deal_timeline_add
from crm.sales.tests.factories import make_deal, make_product
from crm.sales.tests.pipeline_fixtures import make_pipeline

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def clients(org):
    """A company and a contact of the manager that the colleague may see too."""
    company = make_company(org.manager, legal_name="Альфа")
    contact = make_contact(org.manager, last_name="Сидоров")
    for record in (company, contact):
        customer_share(actor=org.manager, record=record, user_ids=[org.colleague.pk])
    return company, contact


def _deal(org, index: int, clients, pipeline: str = "Розница") -> Deal:
    company, contact = clients
    stages = list(Pipeline.objects.get(name=pipeline).stages.filter(kind="open"))
    deal = make_deal(
        (org.manager, org.colleague, org.head)[index % 3],
        pipeline=pipeline,
        stage=stages[index % len(stages)],
        title=f"Сделка {index}",
        company=company if index % 2 else None,
        contact=contact if index % 3 else None,
        amount=Decimal(index + 1),
        currency="USD" if index % 4 == 0 else "RUB",
    )
    for name in ("vip", f"тег{index % 4}")[: 1 + index % 2]:
        deal.tags.add(Tag.objects.get_or_create(name=name)[0])
    if index % 5 == 0:
        deal.shared_with.add(org.viewer)
    return deal


def test_deal_list(org, clients, django_assert_num_queries):
    client, url = client_for(org.head), reverse("sales:deal_list")
    keyset_list_of_fifty(
        client, url, lambda index: _deal(org, index, clients), 8, django_assert_num_queries
    )


def test_deal_list_under_the_funnel_and_product_filters(org, clients, django_assert_num_queries):
    """The list behind a funnel figure: the stage's lookup and the user's zone, then the
    same queries as the plain list, whatever the number of deals."""
    table = make_product(name="Стол")
    first = Pipeline.objects.get(name="Розница").stages.order_by("position").first()
    today = timezone.localdate()

    def build(index: int) -> Deal:
        deal = _deal(org, index, clients)
        StageVisit.objects.create(
            deal=deal, stage=deal.stage, entered_at=timezone.now(), owner_id=deal.owner_id
        )
        DealLine.objects.create(
            deal=deal, product=table, name="Стол", price=1, total=1, vat_amount=0
        )
        return deal

    query = {
        "reached_stage": first.pk,
        "reached_from": (today - dt.timedelta(days=1)).isoformat(),
        "reached_to": (today + dt.timedelta(days=1)).isoformat(),
        "product": table.pk,
    }
    url = f"{reverse('sales:deal_list')}?{urlencode(query)}"
    keyset_list_of_fifty(client_for(org.head), url, build, 10, django_assert_num_queries)


def test_board(org, clients, django_assert_num_queries):
    client, url = client_for(org.head), reverse("sales:board")
    response = one_then_fifty(
        lambda index: _deal(org, index, clients),
        10,
        lambda: client.get(url),
        django_assert_num_queries,
    )
    assert sum(column.count for column in response.context["board"].columns) == 50


def test_board_column_next_cards(org, clients, django_assert_num_queries):
    first = Pipeline.objects.get(name="Розница").stages.filter(kind="open").first()
    client = client_for(org.head)
    url = reverse("sales:board_column", args=[first.pk])

    def build(index):
        deal = _deal(org, index, clients)
        Deal.objects.filter(pk=deal.pk).update(stage=first)

    response = one_then_fifty(build, 6, lambda: client.get(url, **HTMX), django_assert_num_queries)
    assert len(response.context["cards"]) == PAGE_SIZE


def test_deal_card(org, clients, django_assert_num_queries):
    deal = _deal(org, 1, clients)
    client = client_for(org.head)
    url = reverse("sales:deal_detail", args=[deal.pk])

    def build(index):
        author = (org.head, org.colleague)[index % 2]
        deal_line_add(actor=author, deal=deal, name=f"Работа {index}", price="100.00")
        payment_add(actor=author, deal=deal, kind="partial", amount="10.00")
        deal_timeline_add(actor=author, record=deal, kind="note", body=f"Заметка {index}")
        make_task(author, subject=deal, title=f"Позвонить {index}")

    response = one_then_fifty(build, 17, lambda: client.get(url), django_assert_num_queries)
    assert response.content.decode().count("Работа ") >= 50


@pytest.mark.parametrize("panel", ["sales:deal_lines", "sales:deal_payments"])
def test_deal_panels(org, clients, panel, django_assert_num_queries):
    deal = _deal(org, 1, clients)
    client = client_for(org.head)
    url = reverse(panel, args=[deal.pk])

    def build(index):
        author = (org.head, org.colleague)[index % 2]
        deal_line_add(actor=author, deal=deal, name=f"Работа {index}", price="100.00")
        payment_add(actor=author, deal=deal, kind="partial", amount="10.00")

    one_then_fifty(build, 6, lambda: client.get(url, **HTMX), django_assert_num_queries)


def test_deal_timeline_page(org, clients, django_assert_num_queries):
    deal = _deal(org, 1, clients)
    client = client_for(org.head)
    url = reverse("activities:timeline_page", args=["deal", deal.pk])

    def build(index):
        author = (org.head, org.colleague)[index % 2]
        deal_timeline_add(actor=author, record=deal, kind="note", body=f"Заметка {index}")

    one_then_fifty(build, 6, lambda: client.get(url), django_assert_num_queries)


def test_pipeline_list(org, django_assert_num_queries):
    client, url = client_for(org.admin), reverse("sales:pipeline_list")
    one_then_fifty(
        lambda index: make_pipeline(f"Воронка {index}"),
        3,
        lambda: client.get(url),
        django_assert_num_queries,
    )


def test_pipeline_detail(org, django_assert_num_queries):
    pipeline = make_pipeline("Проекты")
    client = client_for(org.admin)
    url = reverse("sales:pipeline_detail", args=[pipeline.pk])

    def build(index):
        stage = pipeline.stages.create(name=f"Этап {index}", kind="open", position=10 + index)
        StageAction.objects.create(
            stage=stage, kind="notify", config={"user_ids": [org.manager.pk], "text": "Пора"}
        )

    one_then_fifty(build, 6, lambda: client.get(url), django_assert_num_queries)


def test_lost_reason_list(org, django_assert_num_queries):
    client, url = client_for(org.admin), reverse("sales:lost_reason_list")
    one_then_fifty(
        lambda index: LostReason.objects.create(name=f"Причина {index}", position=index),
        3,
        lambda: client.get(url),
        django_assert_num_queries,
    )


def test_product_list(org, django_assert_num_queries):
    client, url = client_for(org.head), reverse("sales:product_list")
    response = one_then_fifty(
        lambda index: make_product(name=f"Товар {index}", sku=f"SKU-{index}"),
        3,
        lambda: client.get(url),
        django_assert_num_queries,
    )
    assert response.content.decode().count("SKU-") >= 50


def test_line_picker(org, clients, django_assert_num_queries):
    deal = _deal(org, 1, clients)
    client = client_for(org.head)
    url = reverse("sales:deal_line_picker", args=[deal.pk])
    one_then_fifty(
        lambda index: make_product(name=f"Товар {index}", sku=f"SKU-{index}"),
        5,
        lambda: client.get(url, {"q": "Товар"}, **HTMX),
        django_assert_num_queries,
    )


def test_document_template_list(org, django_assert_num_queries):
    client, url = client_for(org.admin), reverse("sales:document_template_list")
    response = one_then_fifty(
        lambda index: DocumentTemplate.objects.create(
            kind=("proposal", "invoice", "contract")[index % 3],
            name=f"Шаблон {index}",
            uploaded_by=(org.admin, None)[index % 2],
            archived=index % 5 == 4,
        ),
        3,
        lambda: client.get(url),
        django_assert_num_queries,
    )
    assert response.content.decode().count("Шаблон ") >= 40


def test_client_suggest(org, django_assert_num_queries):
    client, url = client_for(org.head), reverse("sales:client_suggest")

    def build(index):
        owner = (org.manager, org.colleague, org.head)[index % 3]
        make_contact(owner, first_name=f"Имя{index}", last_name="Подборов", tags=["vip"])
        make_company(owner, legal_name=f"Подбор {index}")

    one_then_fifty(
        build,
        9,
        lambda: client.get(url, {"client_q": "Подбор"}, **HTMX),
        django_assert_num_queries,
    )
