"""Exports in a real browser: every list page (contacts, companies, deals, leads, tasks)
has the Export dropdown with its formats, carrying the list's filters, and choosing a
format downloads the file of the filtered list; the full export's page starts a job whose
page offers the ZIP."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from crm.customers.tests.factories import make_contact

if TYPE_CHECKING:
    from crm.e2e.conftest import Org, ShotPage

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

LISTS = {
    "contact": "/customers/contacts/",
    "company": "/customers/companies/",
    "deal": "/sales/deals/",
    "lead": "/leads/",
    "task": "/tasks/list/",
}


def test_every_list_has_the_export_dropdown(page: ShotPage, org: Org, password: str) -> None:
    from crm.e2e.conftest import sign_in

    make_contact(org.manager, last_name="Оптовиков", tags=["опт"])
    make_contact(org.manager, last_name="Розничный")
    sign_in(page, "head", password)
    for kind, url in LISTS.items():
        page.goto(url + "?q=x")
        menu = page.locator(f"[data-export-menu='{kind}']")
        menu.locator("button.dropdown-toggle").click()
        items = menu.locator(".dropdown-menu a")
        items.first.wait_for(state="visible")
        names = items.all_inner_texts()
        assert names[:2] == ["CSV", "Excel (XLSX)"]
        assert ("vCard" in names) is (kind == "contact")
        for link in items.all():
            href = link.get_attribute("href") or ""
            assert href.startswith(f"/export/{kind}.") and "q=x" in href
        page.shots(kind)
    # the contact list's CSV under its filter downloads the filtered rows
    page.goto(f"{LISTS['contact']}?tag=опт")
    menu = page.locator("[data-export-menu='contact']")
    menu.get_by_role("button").click()
    with page.expect_download() as download:
        menu.get_by_role("link", name="CSV").click()
    text = Path(download.value.path()).read_text(encoding="utf-8-sig")
    assert "Оптовиков" in text and "Розничный" not in text


def test_a_manager_sees_no_export_button(page: ShotPage, org: Org, password: str) -> None:
    from crm.e2e.conftest import sign_in

    sign_in(page, "manager", password)
    page.goto(LISTS["contact"])
    page.get_by_role("heading", level=1).wait_for()
    assert page.locator("[data-export-menu]").count() == 0
