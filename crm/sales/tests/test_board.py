"""The deal board: scope of cards and of counts/sums, filters, constant queries, column
pages, moves (accepted, refused, retried with the missing fields), permissions."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from conftest import client_for
from crm.customers.models import CustomField, Tag
from crm.customers.tests.factories import make_company, make_contact
from crm.sales.models import Deal, LostReason, Pipeline, Stage, StageVisit
from crm.sales.selectors_board import PAGE_SIZE
from crm.sales.tests.factories import make_deal

pytestmark = pytest.mark.django_db

BOARD = reverse("sales:board")
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def pipeline() -> Pipeline:
    """Open stages ``new``, ``talks`` and ``invoice`` (needs amount and invoice number),
    then won and lost."""
    pipeline = Pipeline.objects.create(name="Проверка", position=0)
    Pipeline.objects.exclude(pk=pipeline.pk).update(position=5)
    for position, (name, kind, required) in enumerate(
        [
            ("Новая", "open", []),
            ("Переговоры", "open", []),
            ("Счёт", "open", ["amount", "invoice_number"]),
            ("Успех", "won", []),
            ("Отказ", "lost", []),
        ]
    ):
        Stage.objects.create(
            pipeline=pipeline, name=name, kind=kind, position=position, required_fields=required
        )
    return pipeline


def stage(pipeline: Pipeline, name: str) -> Stage:
    return pipeline.stages.get(name=name)


def deal(owner, pipeline: Pipeline, stage_name: str = "Новая", *, tags=(), ago=0, **fields) -> Deal:
    """A deal in ``stage_name`` that entered it ``ago`` minutes ago, with its stage visit."""
    entered = timezone.now() - dt.timedelta(minutes=ago)
    status = {"won": "won", "lost": "lost"}.get(stage(pipeline, stage_name).kind, "open")
    created = make_deal(
        owner,
        pipeline=pipeline.name,
        stage=stage(pipeline, stage_name),
        status=status,
        stage_entered_at=entered,
        **fields,
    )
    StageVisit.objects.create(deal=created, stage=created.stage, entered_at=entered, owner=owner)
    for name in tags:
        created.tags.add(Tag.objects.get_or_create(name=name)[0])
    return created


def columns(response) -> dict[str, tuple[int, list[tuple[str, Decimal]]]]:
    board = response.context["board"]
    return {c.stage.name: (c.count, c.totals) for c in [*board.columns, *board.closing]}


def card_ids(response) -> list[int]:
    return [int(pk) for pk in re.findall(r'id="deal-(\d+)"', response.content.decode())]


# --- the page --------------------------------------------------------------------------------


def test_board_shows_columns_with_counts_and_sums_in_the_viewer_scope(org, pipeline):
    # given deals of the manager, a colleague of the same team and an outsider
    deal(org.manager, pipeline, title="Моя", amount=Decimal("100"))
    deal(org.manager, pipeline, title="Моя в долларах", amount=Decimal("5"), currency="USD")
    deal(org.colleague, pipeline, "Переговоры", title="Коллеги", amount=Decimal("50"))
    deal(org.outsider, pipeline, title="Чужая", amount=Decimal("7"))
    params = {"pipeline": pipeline.pk}
    # when each of them opens the board
    mine = client_for(org.manager).get(BOARD, params)
    team = client_for(org.head).get(BOARD, params)
    everything = client_for(org.admin).get(BOARD, params)
    # then a manager sees and counts their own deals only, per currency
    assert mine.status_code == 200
    assert columns(mine)["Новая"] == (2, [("RUB", Decimal("100")), ("USD", Decimal("5"))])
    assert columns(mine)["Переговоры"] == (0, [])
    text = mine.content.decode()
    assert "Моя" in text and "Коллеги" not in text and "Чужая" not in text
    assert "100\xa0₽" in text and "5\xa0$" in text
    # the head sees the team, the administrator everything
    assert columns(team)["Новая"][0] == 2 and columns(team)["Переговоры"] == (
        1,
        [("RUB", Decimal("50"))],
    )
    assert "Чужая" not in team.content.decode()
    assert columns(everything)["Новая"][0] == 3
    assert "Чужая" in everything.content.decode()
    # and won/lost are drop zones at the end, open stages are columns in order
    board = mine.context["board"]
    assert [c.stage.name for c in board.columns] == ["Новая", "Переговоры", "Счёт"]
    assert [c.stage.name for c in board.closing] == ["Успех", "Отказ"]


def test_board_cards_show_client_amount_owner_days_close_date_and_tags(org, pipeline):
    company = make_company(org.manager, legal_name="Ромашка")
    contact = make_contact(org.manager, last_name="Петров", first_name="Иван")
    deal(
        org.manager,
        pipeline,
        title="Кухня",
        company=company,
        amount=Decimal("1250000.50"),
        expected_close=timezone.localdate() - dt.timedelta(days=1),
        tags=["vip"],
        ago=3 * 24 * 60 + 5,
    )
    deal(org.manager, pipeline, title="Шкаф", contact=contact)
    page = client_for(org.manager).get(BOARD, {"pipeline": pipeline.pk})
    text = page.content.decode()
    assert "ООО «Ромашка»" in text and "Петров Иван" in text
    assert "1\xa0250\xa0000,50\xa0₽" in text
    assert "vip" in text and "text-danger" in text  # overdue expected close
    kitchen = page.context["board"].columns[0].cards[1]
    assert kitchen.title == "Кухня" and kitchen.days_in_stage == 3 and kitchen.is_overdue
    assert reverse("sales:deal_detail", args=[kitchen.pk]) in text
    assert "data-can-move" in text and "data-movable" in text


def test_board_pipeline_switcher_and_default_pipeline(org, pipeline):
    other = Pipeline.objects.get(name="Опт")
    client = client_for(org.manager)
    first = client.get(BOARD)
    assert first.context["board"].pipeline == pipeline
    assert f"?pipeline={other.pk}" in first.content.decode()
    chosen = client.get(BOARD, {"pipeline": other.pk})
    assert chosen.context["board"].pipeline == other
    other.archived = True
    other.save()
    assert client.get(BOARD, {"pipeline": other.pk}).context["board"].pipeline == pipeline
    assert client.get(BOARD, {"pipeline": "x", "created_from": "zzz"}).status_code == 200


def test_board_filters(org, pipeline):
    old = timezone.now() - dt.timedelta(days=40)
    company = make_company(org.head, legal_name="Вектор")
    deal(org.manager, pipeline, title="Окна", tags=["VIP"], expected_close=dt.date(2030, 1, 10))
    deal(org.colleague, pipeline, title="Двери", company=company)
    stale = deal(org.head, pipeline, title="Старая")
    Deal.objects.filter(pk=stale.pk).update(created_at=old)
    client = client_for(org.head)

    def titles(**params):
        page = client.get(BOARD, {"pipeline": pipeline.pk, **params})
        return sorted(
            card.title for column in page.context["board"].columns for card in column.cards
        )

    assert titles() == ["Двери", "Окна", "Старая"]
    assert titles(owner=org.manager.pk) == ["Окна"]
    assert titles(tag="vip") == ["Окна"]
    assert titles(client="вектор") == ["Двери"]
    assert titles(client=f"company:{company.pk}") == ["Двери"]
    assert titles(created_to=(old + dt.timedelta(days=1)).date().isoformat()) == ["Старая"]
    assert titles(created_from=timezone.localdate().isoformat()) == ["Двери", "Окна"]
    assert titles(close_from="2030-01-01", close_to="2030-01-31") == ["Окна"]
    # counts follow the filters too
    page = client.get(BOARD, {"pipeline": pipeline.pk, "tag": "vip"})
    assert columns(page)["Новая"][0] == 1


def test_closed_zones_count_the_recently_closed_deals(org, pipeline):
    deal(org.manager, pipeline, "Успех", title="Вчера", amount=Decimal("10"), ago=24 * 60)
    deal(org.manager, pipeline, "Успех", title="Давно", amount=Decimal("20"), ago=60 * 24 * 60)
    deal(org.manager, pipeline, "Отказ", title="Отказ вчера", ago=60)
    page = client_for(org.manager).get(BOARD, {"pipeline": pipeline.pk})
    assert columns(page)["Успех"] == (1, [("RUB", Decimal("10"))])
    assert columns(page)["Отказ"] == (1, [])
    assert "Вчера" not in page.content.decode()  # closed deals are counted, not shown


def test_board_query_count_is_the_same_for_one_and_sixty_deals(org, pipeline):
    company = make_company(org.manager, legal_name="Альфа")
    contact = make_contact(org.manager, last_name="Сидоров")
    deal(org.manager, pipeline, title="Первая", company=company, tags=["a"], amount=Decimal(1))
    client = client_for(org.head)
    url = f"{BOARD}?pipeline={pipeline.pk}&tag=&owner="
    client.get(url)
    with CaptureQueriesContext(connection) as one:
        assert client.get(url).status_code == 200
    names = ["Новая", "Переговоры", "Счёт", "Успех", "Отказ"]
    for index in range(59):
        deal(
            [org.manager, org.colleague, org.head][index % 3],
            pipeline,
            names[index % 5],
            title=f"Сделка {index}",
            company=company if index % 2 else None,
            contact=contact if index % 3 else None,
            amount=Decimal(index),
            currency="USD" if index % 4 == 0 else "RUB",
            tags=["a", "b"] if index % 2 else [],
        )
    with CaptureQueriesContext(connection) as many:
        page = client.get(url)
    assert len(many) == len(one), [query["sql"] for query in many.captured_queries]
    assert sum(column.count for column in page.context["board"].columns) == 37


def test_board_first_screen_reads_deals_in_four_queries(org, pipeline):
    deal(org.manager, pipeline, tags=["a"])
    client = client_for(org.manager)
    client.get(BOARD)
    with CaptureQueriesContext(connection) as queries:
        client.get(BOARD, {"pipeline": pipeline.pk})
    # counts and sums of every column, the first card ids of every column, the cards, tags
    deal_queries = [q["sql"] for q in queries.captured_queries if '"sales_deal' in q["sql"]]
    assert len(deal_queries) == 4, deal_queries
    assert "GROUP BY" in deal_queries[0] and "ROW_NUMBER() OVER" in deal_queries[1]


# --- column pages ----------------------------------------------------------------------------


def more_url(response) -> str:
    found = re.search(r'hx-get="(/sales/board/stages/[^"]+)"', response.content.decode())
    return found.group(1).replace("&amp;", "&") if found else ""


def test_column_pages_continue_without_duplicates(org, pipeline):
    # given 45 deals in one stage, some entering it at the same moment
    same = timezone.now() - dt.timedelta(hours=1)
    created = [deal(org.manager, pipeline, title=f"Сделка {i}", ago=i) for i in range(40)]
    for index in range(5):
        extra = deal(org.manager, pipeline, title=f"Одновременная {index}")
        Deal.objects.filter(pk=extra.pk).update(stage_entered_at=same)
        created.append(extra)
    client = client_for(org.manager)
    page = client.get(BOARD, {"pipeline": pipeline.pk, "tag": ""})
    first = page.context["board"].columns[0]
    assert len(first.cards) == PAGE_SIZE and first.next_cursor
    seen = card_ids(page)
    url = more_url(page)
    # when "load more" is followed to the end
    pages = 0
    while url:
        response = client.get(url, **HTMX)
        assert response.status_code == 200
        seen += card_ids(response)
        pages += 1
        url = more_url(response)
        assert 'hx-swap-oob="true"' in response.content.decode()
    # then every deal came exactly once, newest move first
    assert pages == 2
    assert len(seen) == len(set(seen)) == 45
    expected = sorted(created, key=lambda d: (Deal.objects.get(pk=d.pk).stage_entered_at, d.pk))
    assert seen == [d.pk for d in reversed(expected)]


def test_column_page_keeps_scope_and_refuses_bad_input(org, pipeline):
    for index in range(PAGE_SIZE + 1):
        deal(org.outsider, pipeline, title=f"Чужая {index}")
    client = client_for(org.manager)
    url = reverse("sales:board_column", args=[stage(pipeline, "Новая").pk])
    assert card_ids(client.get(url)) == []
    assert client.get(url, {"cursor": "garbage"}).status_code == 400
    assert client.get(reverse("sales:board_column", args=[999999])).status_code == 404


# --- moves -----------------------------------------------------------------------------------


def move(client, target: Deal, stage_obj: Stage, data=None, query="", **headers):
    url = reverse("sales:deal_move", args=[target.pk]) + query
    return client.post(url, {"stage_id": stage_obj.pk, **(data or {})}, **headers)


def test_move_answers_the_card_and_both_column_headers(org, pipeline):
    target = deal(org.manager, pipeline, title="Кухня", amount=Decimal("300"))
    deal(org.manager, pipeline, "Переговоры", amount=Decimal("20"))
    talks = stage(pipeline, "Переговоры")
    response = move(client_for(org.manager), target, talks, query="?owner=", **HTMX)
    assert response.status_code == 200
    text = response.content.decode()
    assert f'id="deal-{target.pk}"' in text and "Кухня" in text
    new = stage(pipeline, "Новая")
    assert f'id="board-head-{new.pk}" hx-swap-oob="true"' in text
    assert f'id="board-head-{talks.pk}" hx-swap-oob="true"' in text
    assert 'data-count="2"' in text and 'data-count="0"' in text and "320\xa0₽" in text
    target.refresh_from_db()
    assert target.stage == talks
    assert StageVisit.objects.filter(deal=target, stage=talks, left_at__isnull=True).exists()


def test_refused_move_names_the_missing_fields_and_changes_nothing(org, pipeline):
    target = deal(org.manager, pipeline, title="Без счёта")
    invoice = stage(pipeline, "Счёт")
    visits = list(StageVisit.objects.filter(deal=target).values_list("stage_id", "left_at"))
    response = move(client_for(org.manager), target, invoice, **HTMX)
    assert response.status_code == 422
    text = response.content.decode()
    message = response.context["message"]
    assert "Счёт" in message
    for field in ("amount", "invoice_number"):
        assert f'name="{field}"' in text
        label = str(Deal._meta.get_field(field).verbose_name)
        assert label.lower() in message.lower()
    target.refresh_from_db()
    assert target.stage == stage(pipeline, "Новая")
    assert list(StageVisit.objects.filter(deal=target).values_list("stage_id", "left_at")) == visits


def test_move_with_the_missing_fields_filled_in_succeeds(org, pipeline):
    target = deal(org.manager, pipeline, title="Со счётом")
    invoice = stage(pipeline, "Счёт")
    client = client_for(org.manager)
    # a half-filled dialog is refused again and keeps what was typed
    half = move(client, target, invoice, {"amount": "1 500,50"}, **HTMX)
    assert half.status_code == 422
    assert 'value="1 500,50"' in half.content.decode()
    assert Deal.objects.get(pk=target.pk).amount is None
    # the complete one moves the deal with its new fields
    response = move(
        client, target, invoice, {"amount": "1 500,50", "invoice_number": "С-7"}, **HTMX
    )
    assert response.status_code == 200
    target.refresh_from_db()
    assert target.stage == invoice
    assert target.amount == Decimal("1500.50") and target.invoice_number == "С-7"


def test_custom_field_requirement_is_asked_for_and_filled_in(org, pipeline):
    CustomField.objects.create(entity="deal", key="budget", label="Бюджет", field_type="number")
    talks = stage(pipeline, "Переговоры")
    talks.required_fields = ["custom.budget"]
    talks.save()
    target = deal(org.manager, pipeline)
    client = client_for(org.manager)
    refused = move(client, target, talks, **HTMX)
    assert refused.status_code == 422
    assert (
        "Бюджет" in refused.context["message"]
        and 'name="custom.budget"' in refused.content.decode()
    )
    assert move(client, target, talks, {"custom.budget": "250"}, **HTMX).status_code == 200
    target.refresh_from_db()
    assert target.stage == talks and target.custom == {"budget": 250}


def test_requirements_that_cannot_be_typed_in_link_to_the_deal(org, pipeline):
    talks = stage(pipeline, "Переговоры")
    talks.required_fields = ["company"]
    talks.save()
    target = deal(org.manager, pipeline)
    refused = move(client_for(org.manager), target, talks, **HTMX)
    assert refused.status_code == 422
    text = refused.content.decode()
    assert 'data-requirement="company"' in text and "data-untyped" in text
    assert reverse("sales:deal_detail", args=[target.pk]) in text
    assert 'type="submit"' not in text


def test_lost_stage_needs_a_reason(org, pipeline):
    reason = LostReason.objects.create(name="Дорого")
    target = deal(org.manager, pipeline)
    lost = stage(pipeline, "Отказ")
    client = client_for(org.manager)
    refused = move(client, target, lost, **HTMX)
    assert refused.status_code == 422
    assert 'name="lost_reason_id"' in refused.content.decode()
    assert f'<option value="{reason.pk}">Дорого</option>' in refused.content.decode()
    assert Deal.objects.get(pk=target.pk).status == "open"
    done = move(
        client, target, lost, {"lost_reason_id": reason.pk, "lost_comment": "Нашли дешевле"}, **HTMX
    )
    assert done.status_code == 200
    target.refresh_from_db()
    assert target.status == "lost" and target.lost_reason == reason
    assert target.lost_comment == "Нашли дешевле"


def test_move_permissions(org, pipeline):
    team_deal = deal(org.manager, pipeline)
    foreign = deal(org.outsider, pipeline)
    talks = stage(pipeline, "Переговоры")
    # a read-only user sees the board without dragging and may not move
    viewer = client_for(org.viewer)
    page = viewer.get(BOARD, {"pipeline": pipeline.pk})
    assert page.status_code == 200 and f'id="deal-{team_deal.pk}"' in page.content.decode()
    assert "data-can-move" not in page.content.decode()
    assert "data-movable" not in page.content.decode()
    assert move(viewer, team_deal, talks, **HTMX).status_code == 403
    assert move(viewer, team_deal, talks).status_code == 403
    # a deal outside the scope does not exist
    assert move(client_for(org.manager), foreign, talks, **HTMX).status_code == 404
    # anonymous users sign in first
    anonymous = move(Client(), team_deal, talks)
    assert anonymous.status_code == 302 and "/accounts/login/" in anonymous["Location"]
    # the board does not take GET for a move
    url = reverse("sales:deal_move", args=[team_deal.pk])
    assert client_for(org.manager).get(url).status_code == 405
    assert Deal.objects.get(pk=team_deal.pk).stage_id == stage(pipeline, "Новая").pk


def test_move_needs_the_csrf_token(org, pipeline):
    target = deal(org.manager, pipeline)
    client = Client(enforce_csrf_checks=True)
    client.force_login(org.manager)
    talks = stage(pipeline, "Переговоры")
    assert move(client, target, talks, **HTMX).status_code == 403
    client.get(BOARD)
    token = client.cookies["csrftoken"].value
    assert move(client, target, talks, HTTP_X_CSRFTOKEN=token, **HTMX).status_code == 200


def test_move_without_javascript_redirects_back_with_a_message(org, pipeline):
    target = deal(org.manager, pipeline, title="Форма")
    client = client_for(org.manager)
    back = f"{BOARD}?pipeline={pipeline.pk}"
    refused = move(client, target, stage(pipeline, "Счёт"), {"next": back})
    assert refused.status_code == 302 and refused["Location"] == back
    page = client.get(back)
    assert "Форма" in next(str(m) for m in page.context["messages"])
    done = move(client, target, stage(pipeline, "Переговоры"), {"next": "https://evil.example/"})
    assert done.status_code == 302
    assert done["Location"] == f"{BOARD}?pipeline={pipeline.pk}"
    assert Deal.objects.get(pk=target.pk).stage.name == "Переговоры"


def test_move_to_another_pipelines_stage_is_refused(org, pipeline):
    target = deal(org.manager, pipeline)
    elsewhere = Pipeline.objects.get(name="Опт").stages.first()
    response = move(client_for(org.manager), target, elsewhere, **HTMX)
    assert response.status_code == 422
    assert 'type="submit"' not in response.content.decode()
