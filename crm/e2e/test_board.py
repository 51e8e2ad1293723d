"""The deal board in a real browser: drag a card to the next stage, have a drag refused by
the stage's required fields (the card goes back, the dialog names the fields), fill them in
and move; drop on "lost" with a reason; the board on a phone."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import pytest
from django.utils import translation
from playwright.sync_api import expect

from crm.e2e.conftest import sign_in
from crm.sales.models import Deal, LostReason, Pipeline, Stage
from crm.sales.services.deals import requirement_label
from crm.sales.tests.factories import make_deal

if TYPE_CHECKING:
    from playwright.sync_api import Locator, Page

    from crm.e2e.conftest import Org, ShotPage

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def make_pipeline() -> tuple[Pipeline, dict[str, Stage]]:
    """A pipeline of its own: browser tests flush the tables, default pipelines included."""
    pipeline = Pipeline.objects.create(name="Кухни", position=0)
    stages = {}
    for position, (name, kind, color, required) in enumerate(
        [
            ("Новая", "open", "#0d6efd", []),
            ("Замер", "open", "#6610f2", []),
            ("Счёт", "open", "#fd7e14", ["amount", "invoice_number"]),
            ("Оплачено", "open", "#20c997", []),
            ("Продано", "won", "#198754", []),
            ("Отказ", "lost", "#dc3545", []),
        ]
    ):
        stages[name] = Stage.objects.create(
            pipeline=pipeline,
            name=name,
            kind=kind,
            color=color,
            position=position,
            required_fields=required,
        )
    return pipeline, stages


def drag(page: Page, card: Locator, target: Locator) -> None:
    """Press on the card, move in small steps onto the target column, release (SortableJS
    runs on mouse events with ``forceFallback``)."""
    card.scroll_into_view_if_needed()
    box = card.bounding_box()
    assert box is not None
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] - 8
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x + 12, y + 12, steps=4)
    goal = target.bounding_box()
    assert goal is not None
    x, y = goal["x"] + goal["width"] / 2, goal["y"] + 30
    page.mouse.move(x, y, steps=20)
    # Hover a moment, as a hand does: SortableJS handles moves on a timer, and a release
    # right after a fast move would drop on the column the pointer crossed last.
    page.mouse.move(x + 2, y + 2, steps=3)
    page.wait_for_timeout(150)
    page.mouse.up()


def in_column(page: Page, deal: Deal, stage: Stage) -> Locator:
    return page.locator(f"#board-cards-{stage.pk} #deal-{deal.pk}")


def test_drag_move_refusal_and_the_missing_fields_dialog(
    page: ShotPage, org: Org, password: str
) -> None:
    pipeline, stages = make_pipeline()
    kitchen = make_deal(
        org.manager, pipeline="Кухни", title="Кухня Петровых", stage=stages["Новая"]
    )
    for index in range(3):
        make_deal(org.manager, pipeline="Кухни", title=f"Шкаф {index}", stage=stages["Новая"])
    make_deal(org.manager, pipeline="Кухни", title="Гардероб", stage=stages["Замер"])
    sign_in(page, "manager", password)
    page.goto(f"/sales/board/?pipeline={pipeline.pk}")
    page.locator("#board[data-can-move]").wait_for()
    page.shots("board")

    # A drag to the next stage moves the card and updates both headers.
    drag(
        page,
        page.locator(f"#deal-{kitchen.pk}"),
        page.locator(f"#board-cards-{stages['Замер'].pk}"),
    )
    in_column(page, kitchen, stages["Замер"]).wait_for()
    page.locator(f"#board-head-{stages['Замер'].pk} .board-count", has_text="2").wait_for()
    page.locator(f"#board-head-{stages['Новая'].pk} .board-count", has_text="3").wait_for()
    page.shots("moved")
    assert Deal.objects.get(pk=kitchen.pk).stage == stages["Замер"]
    page.reload()
    in_column(page, kitchen, stages["Замер"]).wait_for()

    # A drag to a stage with required fields is refused: the card goes back, the dialog
    # names what is missing.
    drag(
        page, page.locator(f"#deal-{kitchen.pk}"), page.locator(f"#board-cards-{stages['Счёт'].pk}")
    )
    dialog = page.locator("#board-modal")
    dialog.locator("[data-refusal]").wait_for()
    page.locator("#board-modal.show").wait_for()
    page.wait_for_timeout(400)  # the dialog's fade-in
    with translation.override("ru"):
        labels = [requirement_label("amount"), requirement_label("invoice_number")]
    refusal = dialog.locator("[data-refusal]").inner_text()
    assert all(label in refusal for label in labels), refusal
    in_column(page, kitchen, stages["Замер"]).wait_for()
    assert page.locator(f"#board-cards-{stages['Счёт'].pk} .board-card").count() == 0
    page.shots("refused-dialog")
    assert Deal.objects.get(pk=kitchen.pk).stage == stages["Замер"]

    # Filling them in retries the move, which now goes through.
    dialog.locator("input[name=amount]").fill("250 000")
    dialog.locator("input[name=invoice_number]").fill("С-17")
    dialog.locator("button[type=submit]").click()
    in_column(page, kitchen, stages["Счёт"]).wait_for()
    dialog.wait_for(state="hidden")
    page.locator(f"#board-head-{stages['Счёт'].pk}", has_text="250").wait_for()
    page.shots("moved-after-dialog")
    kitchen.refresh_from_db()
    assert kitchen.stage == stages["Счёт"] and kitchen.invoice_number == "С-17"
    page.reload()
    in_column(page, kitchen, stages["Счёт"]).wait_for()

    # A click (no drag) on the title opens the deal.
    page.locator(f"#deal-{kitchen.pk} .board-card-title").click()
    page.wait_for_url(f"**/sales/deals/{kitchen.pk}/")


def test_a_long_column_loads_more_cards_when_scrolled(
    page: ShotPage, org: Org, password: str
) -> None:
    pipeline, stages = make_pipeline()
    for index in range(27):
        make_deal(org.manager, pipeline="Кухни", title=f"Заявка {index}", stage=stages["Новая"])
    sign_in(page, "manager", password)
    page.goto(f"/sales/board/?pipeline={pipeline.pk}")
    cards = page.locator(f"#board-cards-{stages['Новая'].pk} .board-card")
    cards.first.wait_for()
    assert cards.count() == 20
    page.locator(".board-column-body").first.evaluate("el => el.scrollTo(0, el.scrollHeight)")
    # A locator waits without evaluating a string in the page (the CSP forbids eval).
    expect(page.locator(f"#board-cards-{stages['Новая'].pk} .board-card")).to_have_count(27)
    assert page.locator(f"#board-more-{stages['Новая'].pk} button").count() == 0
    titles = cards.all_inner_texts()
    assert len(set(titles)) == 27
    viewport_shot(page, "column-scrolled-to-the-end")


def test_drop_on_lost_asks_for_the_reason(page: ShotPage, org: Org, password: str) -> None:
    pipeline, stages = make_pipeline()
    reason = LostReason.objects.create(name="Дорого")
    wardrobe = make_deal(org.manager, pipeline="Кухни", title="Гардероб", stage=stages["Новая"])
    sign_in(page, "manager", password)
    page.goto(f"/sales/board/?pipeline={pipeline.pk}")
    lost = page.locator(f"#board-cards-{stages['Отказ'].pk}")
    drag(page, page.locator(f"#deal-{wardrobe.pk}"), lost)
    dialog = page.locator("#board-modal")
    dialog.locator("select[name=lost_reason_id]").wait_for()
    in_column(page, wardrobe, stages["Новая"]).wait_for()
    page.locator("#board-modal.show").wait_for()
    page.wait_for_timeout(400)
    page.shots("lost-reason-dialog")
    dialog.locator("select[name=lost_reason_id]").select_option(str(reason.pk))
    dialog.locator("textarea[name=lost_comment]").fill("Нашли дешевле")
    dialog.locator("button[type=submit]").click()
    page.locator(f"#deal-{wardrobe.pk}").wait_for(state="detached")
    page.locator(f"#board-head-{stages['Отказ'].pk} .board-count", has_text="1").wait_for()
    wardrobe.refresh_from_db()
    assert wardrobe.status == "lost" and wardrobe.lost_reason == reason


def test_read_only_user_cannot_drag(page: ShotPage, org: Org, password: str) -> None:
    pipeline, stages = make_pipeline()
    deal = make_deal(org.manager, pipeline="Кухни", title="Кухня", stage=stages["Новая"])
    sign_in(page, "viewer", password)
    page.goto(f"/sales/board/?pipeline={pipeline.pk}")
    page.locator(f"#deal-{deal.pk}").wait_for()
    assert page.locator("#board[data-can-move]").count() == 0
    drag(page, page.locator(f"#deal-{deal.pk}"), page.locator(f"#board-cards-{stages['Замер'].pk}"))
    in_column(page, deal, stages["Новая"]).wait_for()
    assert Deal.objects.get(pk=deal.pk).stage == stages["Новая"]


def test_board_on_a_phone(phone_page: ShotPage, org: Org, password: str) -> None:
    pipeline, stages = make_pipeline()
    for index, name in enumerate(["Новая", "Новая", "Замер", "Счёт"]):
        make_deal(
            org.manager,
            pipeline="Кухни",
            title=f"Сделка с длинным названием {index}",
            stage=stages[name],
            amount=1000 * (index + 1),
        )
    sign_in(phone_page, "manager", password)
    phone_page.goto(f"/sales/board/?pipeline={pipeline.pk}")
    phone_page.locator(".board-card").first.wait_for()
    phone_page.shots("phone-board")
    phone_page.get_by_role("button", name=re.compile("Filters|Фильтры")).click()
    phone_page.locator("#board-filters.show").wait_for()
    phone_page.wait_for_timeout(400)
    phone_page.shots("phone-filters")
    assert phone_page.evaluate("document.documentElement.scrollWidth") <= 390
    phone_page.get_by_role("button", name=re.compile("Filters|Фильтры")).click()
    phone_page.locator("#board-filters").wait_for(state="hidden")
    width = phone_page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, "the page must not scroll sideways; the board scrolls inside"
    board = phone_page.locator("#board")
    assert board.evaluate("el => el.scrollWidth > el.clientWidth")
    assert board.evaluate("el => getComputedStyle(el).scrollSnapType").startswith("x")
    column = phone_page.locator(".board-column").first.bounding_box()
    assert column is not None and 300 <= column["width"] <= 390
    # A swipe's worth of scrolling snaps the next column to the left edge.
    board.evaluate("el => el.scrollBy({left: el.clientWidth * 0.8, behavior: 'instant'})")
    phone_page.wait_for_timeout(300)
    second = phone_page.locator(".board-column").nth(1).bounding_box()
    assert second is not None and 0 <= second["x"] <= 16, second
    viewport_shot(phone_page, "phone-board-second-column")


def viewport_shot(page: ShotPage, label: str) -> None:
    """What the screen shows (a full-page shot re-lays the page out and loses the scroll)."""
    page.shots.count += 1
    page.screenshot(path=str(page.shots.folder / f"{page.shots.count:02d}-{label}.png"))
