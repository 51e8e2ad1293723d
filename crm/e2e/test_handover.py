"""The handover page in a real browser, on a desktop and on a phone: choose the leaving
user, see the counts, spread over a team, deactivate, watch the progress to the end."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import pytest

from crm.customers.models import Contact
from crm.customers.tests.factories import make_contact
from crm.e2e.conftest import sign_in
from crm.sales.models import Pipeline, Stage
from crm.sales.tests.factories import make_deal

if TYPE_CHECKING:
    from crm.e2e.conftest import Org, ShotPage

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _work(org: Org) -> None:
    """Three contacts with a deal each (a pipeline of its own: browser tests
    flush the tables, default pipelines included)."""
    pipeline = Pipeline.objects.create(name="Кухни", position=0)
    stage = Stage.objects.create(pipeline=pipeline, name="Новая", kind="open", position=0)
    for index in range(3):
        contact = make_contact(org.manager, first_name=f"Клиент{index}")
        make_deal(org.manager, pipeline="Кухни", stage=stage, contact=contact)


def _hand_over(page: ShotPage, org: Org, password: str) -> None:
    sign_in(page, "admin", password)
    page.goto(f"/customers/reassign/handover/?from_user={org.manager.pk}")
    preview = page.locator("#handover-preview")
    preview.get_by_text("Будет передано").wait_for()
    assert re.search(r"Контакты\s*3", preview.inner_text())
    page.shots("preview")
    page.check("input[name=receivers][value=team]")
    page.select_option("select[name=team]", label="Москва")
    page.check("input[name=deactivate]")
    page.shots("team-and-deactivate")
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#handover-form button[type=submit]")
    page.wait_for_url(re.compile(r"/customers/reassign/\d+/$"))
    page.locator(".alert-success").wait_for()
    page.shots("done")
    assert not Contact.objects.filter(owner=org.manager).exists()
    org.manager.refresh_from_db()
    assert not org.manager.is_active


def test_hand_over_to_a_team_and_deactivate(page: ShotPage, org: Org, password: str) -> None:
    _work(org)
    _hand_over(page, org, password)


def test_hand_over_on_a_phone(phone_page: ShotPage, org: Org, password: str) -> None:
    _work(org)
    _hand_over(phone_page, org, password)
    width = phone_page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, width
