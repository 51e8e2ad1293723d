"""The weekly e-mail summary in a real browser: a head of sales switches it off and on again
on their settings page on a 390 px phone in Russian; the summary's HTML e-mail as a mail
program would show it, on a phone and on a desktop. No Content-Security-Policy violation on
the CRM's pages (the page fixtures fail the test on one)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import pytest

from crm.analytics.services_weekly import weekly_summaries_send
from crm.e2e.conftest import sign_in
from crm.notifications.models import Notification
from crm.sales.models import Deal, Pipeline, Stage

if TYPE_CHECKING:
    from crm.e2e.conftest import Org, ShotPage

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

MONDAY_8 = dt.datetime(2026, 12, 7, 5, 0, tzinfo=dt.UTC)  # 08:00 in Moscow


def _week(org: Org) -> None:
    """Last week the manager won 300 000 ₽; «Старая» has sat in its stage for 40 days."""
    pipeline = Pipeline.objects.create(name="Кухни", position=0)
    new = Stage.objects.create(pipeline=pipeline, name="Новая", kind="open", position=0)
    won = Stage.objects.create(pipeline=pipeline, name="Продано", kind="won", position=1)
    for title, stage, entered in (
        ("Кухня Ивановых", won, MONDAY_8 - dt.timedelta(days=4)),
        ("Старая", new, MONDAY_8 - dt.timedelta(days=40)),
    ):
        Deal.objects.create(
            title=title,
            pipeline=pipeline,
            stage=stage,
            status=stage.kind,
            owner=org.manager,
            amount=Decimal("300000.00"),
            stage_entered_at=entered,
            last_activity_at=entered,
            closed_at=entered if stage == won else None,
        )


def test_the_head_switches_the_summary_off_and_on(
    phone_page: ShotPage, org: Org, password: str
) -> None:
    sign_in(phone_page, "head", password)
    phone_page.goto("/accounts/time-zone/")
    switch = phone_page.get_by_label("Присылать мне еженедельную сводку по почте")
    assert switch.is_checked()
    assert phone_page.get_by_text("Каждый понедельник в 08:00").is_visible()
    phone_page.shots("settings-390")
    switch.uncheck()
    phone_page.get_by_role("button", name="Сохранить").click()
    phone_page.get_by_text("Настройки сохранены.").wait_for()
    org.head.refresh_from_db()
    assert org.head.weekly_summary is False
    assert not phone_page.get_by_label("Присылать мне еженедельную сводку по почте").is_checked()
    phone_page.get_by_label("Присылать мне еженедельную сводку по почте").check()
    phone_page.get_by_role("button", name="Сохранить").click()
    phone_page.get_by_text("Настройки сохранены.").wait_for()
    org.head.refresh_from_db()
    assert org.head.weekly_summary is True


def test_the_html_email_reads_on_a_phone_and_a_desktop(
    phone_page: ShotPage, page: ShotPage, org: Org, settings: Any
) -> None:
    settings.TIME_ZONE = "Europe/Moscow"
    _week(org)
    weekly_summaries_send(now=MONDAY_8)
    summary = Notification.objects.get(recipient=org.head, kind=Notification.Kind.WEEKLY)
    for shown, label in ((phone_page, "email-390"), (page, "email-1280")):
        shown.set_content(summary.email_html)
        assert shown.get_by_role("heading", name="Москва").is_visible()
        assert shown.get_by_role("link", name="Старая").is_visible()
        width = shown.evaluate("document.documentElement.scrollWidth")
        viewport = shown.viewport_size
        assert viewport is not None and width <= viewport["width"], label
        text = shown.inner_text("body")
        assert "Застрявшие сделки: 1" in text and "300\u00a0000,00\u00a0₽" in text
        shown.shots(label)
