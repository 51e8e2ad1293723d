"""The import wizard in a real browser, on a desktop and on a phone: upload a file, check
the guessed columns and the preview, start, see the progress bar and the report, download
the failed rows and undo the import."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import pytest

from crm.customers.models import Contact
from crm.e2e.conftest import sign_in
from crm.transfer.models import ImportJob

if TYPE_CHECKING:
    from pathlib import Path

    from crm.e2e.conftest import Org, ShotPage

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

CSV = (
    "ФИО,Телефон,E-mail\n"
    "Иванов Пётр,8 (916) 123-45-67,petr@example.ru\n"
    "Смирнова Анна,+7 903 555 00 11,anna@example.ru\n"
    "Кузнецов Олег,12,\n"
)


def _walk(page: ShotPage, tmp_path: Path, password: str, *, phone: bool = False) -> None:
    source = tmp_path / "clients.csv"
    source.write_text(CSV, encoding="utf-8")
    sign_in(page, "head", password)
    page.goto("/")
    if phone:  # the menu is folded on a phone
        page.click("button.navbar-toggler")
    page.locator("#mainnav .dropdown-toggle").first.click()  # "Administration"
    page.locator("a.dropdown-item[href='/imports/']").click()
    page.wait_for_url(re.compile(r"/imports/$"))
    page.click("a[href='/imports/new/']")
    page.select_option("select[name=kind]", "contact")
    page.set_input_files("input[name=file]", str(source))
    page.shots("upload")
    page.click("#import-upload-form button[type=submit]")
    page.wait_for_url(re.compile(r"/imports/\d+/setup/$"))
    # the headers are recognised: ФИО → full name, Телефон → phone
    assert page.locator("select[name=column_0]").input_value() in {"full_name", ""}
    page.select_option("select[name=column_0]", "full_name")
    page.select_option("select[name=column_1]", "phone")
    page.select_option("select[name=column_2]", "email")
    page.locator("#import-preview tr[data-action=failed]").wait_for()
    assert page.locator("#import-preview tr[data-action=created]").count() == 2
    page.shots("setup-and-preview")
    page.click("#import-setup-form button[type=submit]")
    page.wait_for_url(re.compile(r"/imports/\d+/$"))
    page.locator("#import-progress .progress-bar.bg-success").wait_for()
    assert page.locator("[data-count=created]").inner_text() == "2"
    assert page.locator("[data-count=failed]").inner_text() == "1"
    page.shots("report")
    with page.expect_download() as download_info:
        page.click("#import-failed-rows")
    failed = download_info.value.path().read_text(encoding="utf-8-sig").splitlines()
    assert failed[0].startswith("ФИО,Телефон,E-mail,") and failed[1].startswith("Кузнецов Олег,12,")
    assert Contact.objects.count() == 2
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("form[action$='/undo/'] button[type=submit]")
    page.locator("#import-undo-result").wait_for()
    page.shots("undone")
    assert not Contact.objects.exists()
    assert ImportJob.objects.get().status == ImportJob.Status.UNDONE


def test_import_wizard(page: ShotPage, org: Org, password: str, tmp_path: Path) -> None:
    _walk(page, tmp_path, password)


def test_import_wizard_on_a_phone(
    phone_page: ShotPage, org: Org, password: str, tmp_path: Path
) -> None:
    _walk(phone_page, tmp_path, password, phone=True)
    width = phone_page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, width
