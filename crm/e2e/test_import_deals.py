"""Deals of another CRM in a real browser, in Russian and English, on a desktop and on a
phone: a Bitrix24 deals file, its stages guessed in the wizard (one chosen by hand), the
missing clients created, the deals in the chosen stages."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from django.db.models import F

from crm.customers.models import Company
from crm.e2e.conftest import sign_in
from crm.sales.models import Deal, LostReason, Pipeline, Stage

if TYPE_CHECKING:
    from crm.e2e.conftest import Org, ShotPage

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

FILE = Path(__file__).resolve().parents[1] / "transfer" / "tests" / "files" / "bitrix24_deals.csv"


def _pipelines() -> tuple[Stage, Stage]:
    """Two pipelines first in order, whatever the migration's defaults (a flushing test
    loses them), each with its won and lost stages."""
    stages = {}
    Pipeline.objects.update(position=F("position") + 10)
    for position, name in enumerate(["Кухни", "Окна"]):
        pipeline = Pipeline.objects.create(name=name, position=position)
        for order, (stage, kind) in enumerate(
            [("Новая", "open"), ("Договор", "open"), ("Закрыта", "won"), ("Отказ", "lost")]
        ):
            stages[(name, stage)] = Stage.objects.create(
                pipeline=pipeline, name=stage, kind=kind, position=order
            )
    LostReason.objects.get_or_create(name="Выбрали конкурента", defaults={"position": 0})
    return stages[("Окна", "Договор")], stages[("Кухни", "Закрыта")]


def _walk(page: ShotPage, org: Org, password: str, language: str) -> None:
    contract, won = _pipelines()
    org.head.language = language
    org.head.save(update_fields=["language"])
    sign_in(page, "head", password)
    page.goto("/imports/new/")
    page.select_option("select[name=kind]", "deal")
    page.set_input_files("input[name=file]", str(FILE))
    page.click("#import-upload-form button[type=submit]")
    page.wait_for_url(re.compile(r"/imports/\d+/setup/$"))
    # the file's stages, the won and lost ones guessed; the first chosen by hand
    assert page.locator("select[name=stage_mapping_0]").input_value() == ""
    assert page.locator("select[name=stage_mapping_1]").input_value() == str(won.pk)
    page.select_option("select[name=stage_mapping_0]", str(contract.pk))
    page.check("input[name=create_clients]")
    page.locator("#import-preview tr[data-action=created]").nth(2).wait_for()
    assert page.locator("#import-preview tr[data-action=failed]").count() == 0
    page.locator("#import-step-stage_mapping").scroll_into_view_if_needed()
    page.shots(f"stage-map-{language}")
    page.click("#import-setup-form button[type=submit]")
    page.wait_for_url(re.compile(r"/imports/\d+/$"))
    page.locator("#import-progress .progress-bar.bg-success").wait_for()
    assert page.locator("[data-count=created]").inner_text() == "3"
    page.shots(f"report-{language}")
    assert Deal.objects.get(title="Поставка оборудования").stage == contract
    assert Company.objects.count() == 2


@pytest.mark.parametrize("language", ["ru", "en"])
def test_deals_of_another_crm(page: ShotPage, org: Org, password: str, language: str) -> None:
    _walk(page, org, password, language)


@pytest.mark.parametrize("language", ["ru", "en"])
def test_deals_of_another_crm_on_a_phone(
    phone_page: ShotPage, org: Org, password: str, language: str
) -> None:
    _walk(phone_page, org, password, language)
