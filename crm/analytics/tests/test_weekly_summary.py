"""The weekly e-mail summary against a small hand-made week (30 November – 6 December 2026,
Moscow; the summary made on Monday 7 December at 08:00): plan progress to Sunday, the
week's deals won, stuck deals, slow answers; when it is due in each recipient's zone; who
gets it and switching it off; once only, also with two schedulers at once; delivered by a
real SMTP server as plain text and HTML, in Russian and in English."""

from __future__ import annotations

import datetime as dt
import email
import re
from decimal import Decimal
from email.policy import default as default_policy

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from conftest import client_for, run_together
from crm.accounts.models import Team, User
from crm.accounts.services import user_preferences_set
from crm.accounts.tests.factories import TeamFactory, UserFactory, add_member
from crm.analytics.models import Plan, WeeklySummary
from crm.analytics.selectors.weekly import weekly_summary
from crm.analytics.services_weekly import weekly_summaries_send, weekly_summary_due
from crm.analytics.tests.test_dashboard import won
from crm.core.errors import ValidationFailed
from crm.core.permissions import Role
from crm.core.records import registry
from crm.leads.models import Lead
from crm.notifications.models import Notification
from crm.notifications.tests.conftest import smtp_server  # noqa: F401  (the real SMTP server)
from crm.sales.models import Deal, Pipeline
from crm.sales.tests.factories import make_deal
from crm.sales.tests.pipeline_fixtures import make_pipeline

UTC = dt.UTC
NOVEMBER = dt.date(2026, 11, 1)
# Monday 7 December 2026, 08:00 in Moscow (UTC+3).
MONDAY_8 = dt.datetime(2026, 12, 7, 5, 0, tzinfo=UTC)
WEEK_START = dt.date(2026, 11, 30)


def _lead(owner, *, respond_by, responded_at=None, status="new") -> Lead:
    return Lead.objects.create(
        title="Заявка",
        channel="web_form",
        owner=owner,
        assigned_at=respond_by - dt.timedelta(hours=1),
        respond_by=respond_by,
        responded_at=responded_at,
        status=status,
    )


def build_week(org) -> None:
    """The hand-made week of team «Москва» (the head's), and noise that must not count."""
    if not Pipeline.objects.filter(name="Розница").exists():  # flushed by a browser test
        make_pipeline("Розница")
    for user, (last, first) in {
        org.head: ("Главная", "Анна"),
        org.manager: ("Иванов", "Иван"),
        org.colleague: ("Петров", "Пётр"),
        org.outsider: ("Чужой", "Олег"),
        org.viewer: ("Зритель", "Зоя"),
    }.items():
        user.last_name, user.first_name = last, first
        user.save()
    # Won in the week: the manager's 300 000 ₽ (Thursday) and 100 $ (Friday). Not in it: the
    # colleague's 900 000 ₽ on Sunday 29 November (the week before), 50 000 ₽ on Monday
    # 7 December at 06:00 Moscow (after Sunday), the outsider's (another team).
    won(org.manager, "300000.00", dt.datetime(2026, 12, 3, 10, 0, tzinfo=UTC))
    won(org.manager, "100.00", dt.datetime(2026, 12, 4, 10, 0, tzinfo=UTC), "USD")
    won(org.colleague, "900000.00", dt.datetime(2026, 11, 29, 12, 0, tzinfo=UTC))
    won(org.colleague, "50000.00", dt.datetime(2026, 12, 7, 3, 0, tzinfo=UTC))
    won(org.outsider, "70000.00", dt.datetime(2026, 12, 2, 10, 0, tzinfo=UTC))
    # Plans of December (set in November): the manager 400 000 ₽ (300 000 done: 75 %), the
    # colleague 2 deals (none by Sunday: 0 %), the team 1 000 000 ₽ (30 %).
    team = Team.objects.get(name="Москва")
    Plan.objects.create(
        metric="revenue_won",
        manager=org.manager,
        currency="RUB",
        effective_from=NOVEMBER,
        target=Decimal(400000),
    )
    Plan.objects.create(
        metric="deals_won", manager=org.colleague, effective_from=NOVEMBER, target=Decimal(2)
    )
    Plan.objects.create(
        metric="revenue_won",
        team=team,
        currency="RUB",
        effective_from=NOVEMBER,
        target=Decimal(1000000),
    )
    # Stuck: «Старая» 40 days in its stage (since 27 November), «Просроченная» expected on
    # 1 December (since the 2nd), the colleague's «Вчерашняя» expected on Sunday the 6th
    # (since the 7th). Not stuck: 29 days in the stage and closing later; a won deal with an
    # old date; the outsider's.
    make_deal(org.manager, title="Старая", stage_entered_at=MONDAY_8 - dt.timedelta(days=40))
    make_deal(
        org.manager,
        title="Просроченная",
        expected_close=dt.date(2026, 12, 1),
        stage_entered_at=MONDAY_8 - dt.timedelta(days=2),
    )
    make_deal(
        org.colleague,
        title="Вчерашняя",
        expected_close=dt.date(2026, 12, 6),
        stage_entered_at=MONDAY_8 - dt.timedelta(days=5),
    )
    make_deal(
        org.manager,
        title="Свежая",
        expected_close=dt.date(2026, 12, 20),
        stage_entered_at=MONDAY_8 - dt.timedelta(days=29),
    )
    closed = won(org.manager, "1.00", dt.datetime(2026, 10, 1, tzinfo=UTC))
    Deal.objects.filter(pk=closed.pk).update(expected_close=dt.date(2026, 9, 1))
    make_deal(org.outsider, title="Чужая", expected_close=dt.date(2026, 11, 1))
    # Slow answers: the manager answered one lead 2 h after its deadline on Wednesday, one in
    # time; one late answer the week before; one new lead waits past its deadline now. The
    # colleague's waiting lead is not due yet; one in progress without an answer is not
    # "new" (the lead list's overdue filter); the outsider's late answer is not the head's.
    wednesday = dt.datetime(2026, 12, 2, 9, 0, tzinfo=UTC)
    _lead(org.manager, respond_by=wednesday, responded_at=wednesday + dt.timedelta(hours=2))
    _lead(org.manager, respond_by=wednesday, responded_at=wednesday - dt.timedelta(minutes=5))
    _lead(
        org.manager,
        respond_by=wednesday - dt.timedelta(days=7),
        responded_at=wednesday - dt.timedelta(days=6),
    )
    _lead(org.manager, respond_by=MONDAY_8 - dt.timedelta(hours=1))
    _lead(org.colleague, respond_by=MONDAY_8 + dt.timedelta(hours=1))
    _lead(org.colleague, respond_by=wednesday, status="in_progress")
    _lead(org.outsider, respond_by=wednesday, responded_at=wednesday + dt.timedelta(hours=5))


@pytest.fixture
def week(org, settings):
    settings.TIME_ZONE = "Europe/Moscow"
    settings.CRM_BASE_URL = "https://crm.example.com"
    build_week(org)
    return org


def sent_to(user) -> list[Notification]:
    return list(Notification.objects.filter(recipient=user, kind=Notification.Kind.WEEKLY))


@pytest.mark.django_db
def test_the_content_by_hand(week):
    summary = weekly_summary(recipient=week.head, now=MONDAY_8)
    assert (summary.week.start, summary.week.end) == (WEEK_START, dt.date(2026, 12, 6))
    assert summary.month.start == dt.date(2026, 12, 1) and summary.through == summary.week.end
    [part] = summary.teams
    assert part.team.name == "Москва"
    assert part.won_count == 2
    assert part.revenue == {"RUB": Decimal("300000.00"), "USD": Decimal("100.00")}

    total = part.plan_total
    assert [(f.target, f.fact, f.done) for f in total.figures] == [
        (Decimal("1000000.00"), Decimal("300000.00"), 0.3)
    ]
    people = {person.label: person.figures for person in part.plan_people}
    assert set(people) == {"Иван Иванов", "Пётр Петров"}  # the head has no plan: no row
    [revenue] = people["Иван Иванов"]
    assert (revenue.currency, revenue.target, revenue.fact, revenue.done) == (
        "RUB",
        Decimal("400000.00"),
        Decimal("300000.00"),
        0.75,
    )
    [deals] = people["Пётр Петров"]
    assert (deals.target, deals.fact, deals.done) == (Decimal(2), Decimal(0), 0.0)

    assert part.stuck_count == 3
    assert [item.deal.title for item in part.stuck] == ["Старая", "Просроченная", "Вчерашняя"]
    assert [item.since for item in part.stuck] == [
        dt.date(2026, 11, 27),
        dt.date(2026, 12, 2),
        dt.date(2026, 12, 7),
    ]
    old, overdue, _yesterday = part.stuck
    assert (old.days_in_stage, old.is_overdue) == (40, False)
    assert (overdue.days_in_stage, overdue.is_overdue) == (2, True)
    assert overdue.url == f"https://crm.example.com/sales/deals/{overdue.deal.pk}/"

    assert [(row.user.username, row.late, row.waiting) for row in part.slow] == [("manager", 1, 1)]
    assert (part.late_count, part.waiting_count) == (1, 1)
    assert part.slow[0].url == (f"https://crm.example.com/leads/?owner={week.manager.pk}&overdue=1")
    assert part.plans_url == (
        f"https://crm.example.com/reports/plans/?month=2026-12&team={part.team.pk}"
    )
    assert part.won_url.startswith("https://crm.example.com/sales/deals/?status=won")
    assert "closed_from=2026-11-30&closed_to=2026-12-06" in part.won_url


@pytest.mark.django_db
def test_the_links_show_as_many_records_as_the_figures(week):
    summary = weekly_summary(recipient=week.head, now=MONDAY_8)
    [part] = summary.teams
    client = client_for(week.head)
    base = "https://crm.example.com"
    deals = client.get(part.won_url.removeprefix(base))
    assert deals.status_code == 200
    assert len(deals.context["page"].items) == part.won_count
    leads = client.get(part.slow[0].url.removeprefix(base))
    assert len(leads.context["page"].items) == part.slow[0].waiting


@pytest.mark.django_db
def test_long_lists_show_ten_and_say_how_many_more(week):
    week.head.language = "en"
    week.head.save()
    for number in range(12):
        make_deal(week.colleague, title=f"Стоит {number}", expected_close=dt.date(2026, 11, 2))
    [part] = weekly_summary(recipient=week.head, now=MONDAY_8).teams
    assert part.stuck_count == 15 and len(part.stuck) == 10 and part.stuck_more == 5
    text = _write_and_read(week.head)
    assert "… and 5 more" in text


@pytest.mark.django_db
def test_the_number_of_queries_does_not_grow_with_the_records(week):
    def count() -> int:
        head = User.objects.get(pk=week.head.pk)  # no scope cached from before
        with CaptureQueriesContext(connection) as queries:
            weekly_summary(recipient=head, now=MONDAY_8)
        return len(queries)

    before = count()
    second = TeamFactory(name="Второй отдел")
    second.heads.add(week.head)
    for number in range(5):
        extra = UserFactory(username=f"extra{number}")
        add_member(Team.objects.get(name="Москва") if number % 2 else second, extra)
        make_deal(extra, title="Стоит", expected_close=dt.date(2026, 11, 2))
        _lead(extra, respond_by=MONDAY_8 - dt.timedelta(hours=2))
    assert count() == before
    assert len(weekly_summary(recipient=week.head, now=MONDAY_8).teams) == 2


def _write_and_read(user) -> str:
    WeeklySummary.objects.filter(recipient=user).delete()
    Notification.objects.filter(recipient=user, kind=Notification.Kind.WEEKLY).delete()
    weekly_summaries_send(now=MONDAY_8)
    [notification] = sent_to(user)
    return notification.email_text


@pytest.mark.django_db
def test_the_text_in_english_and_in_russian(week):
    week.head.language = "en"
    week.head.save()
    english = _write_and_read(week.head)
    assert "Weekly summary: 11/30/2026 – 12/06/2026" in english
    assert "Deals won last week: 2, 300,000.00\u00a0₽, 100.00\u00a0$" in english
    assert (
        "Иван Иванов: Revenue: deals won: 300,000.00\u00a0₽ / 400,000.00\u00a0₽ (75.0\u00a0%)"
        in (english)
    )
    assert "Stuck deals: 3" in english
    assert "Старая (Иван Иванов, " in english
    assert "answered late 1, waiting past the deadline 1" in english
    assert "https://crm.example.com/accounts/time-zone/#weekly-summary" in english

    week.head.language = "ru"
    week.head.save()
    russian = _write_and_read(week.head)
    [notification] = sent_to(week.head)
    assert notification.title == "Сводка за неделю: 30.11.2026 – 06.12.2026"
    assert "300\u00a0000,00\u00a0₽" in russian and "100,00\u00a0$" in russian
    assert "Застрявшие сделки: 3" in russian
    assert "(75,0\u00a0%)" in russian
    assert "Москва:" in notification.body and "застрявших сделок 3" in notification.body


# --- when, to whom, how often -----------------------------------------------------------------


@pytest.mark.django_db
def test_monday_eight_in_the_recipients_zone_and_not_again(week):
    assert weekly_summaries_send(now=MONDAY_8 - dt.timedelta(minutes=1)) == {}
    assert sent_to(week.head) == []
    assert weekly_summaries_send(now=MONDAY_8) == {"sent": 1}
    [notification] = sent_to(week.head)
    assert notification.dedupe_key == "weekly-summary:2026-11-30"
    assert WeeklySummary.objects.get(recipient=week.head).notification == notification
    # Later on Monday, on Tuesday, on Sunday: nothing more.
    for later in (dt.timedelta(hours=3), dt.timedelta(days=1), dt.timedelta(days=6, hours=15)):
        assert weekly_summaries_send(now=MONDAY_8 + later) == {}
    assert len(sent_to(week.head)) == 1
    # The next Monday at 07:59 nothing, at 08:00 the next week's.
    next_monday = MONDAY_8 + dt.timedelta(days=7)
    assert weekly_summaries_send(now=next_monday - dt.timedelta(minutes=1)) == {}
    assert weekly_summaries_send(now=next_monday) == {"sent": 1}
    assert [n.dedupe_key for n in sent_to(week.head)] == [
        "weekly-summary:2026-12-07",
        "weekly-summary:2026-11-30",
    ]


@pytest.mark.django_db
def test_each_recipient_in_their_own_zone(week):
    far = UserFactory(username="far", role=Role.HEAD, time_zone="Asia/Vladivostok")
    team = TeamFactory(name="Владивосток")
    add_member(team, UserFactory(username="seller"))
    team.heads.add(far)
    # Sunday 22:00 UTC: Monday 08:00 in Vladivostok, 01:00 in Moscow.
    sunday_22 = dt.datetime(2026, 12, 6, 22, 0, tzinfo=UTC)
    assert weekly_summaries_send(now=sunday_22 - dt.timedelta(minutes=1)) == {}
    assert weekly_summaries_send(now=sunday_22) == {"sent": 1}
    assert len(sent_to(far)) == 1 and sent_to(week.head) == []
    assert weekly_summaries_send(now=MONDAY_8) == {"sent": 1}
    assert len(sent_to(far)) == 1 and len(sent_to(week.head)) == 1


@pytest.mark.django_db
def test_a_missed_monday_is_sent_later_that_week_once(week):
    wednesday = MONDAY_8 + dt.timedelta(days=2, hours=4)
    assert weekly_summaries_send(now=wednesday) == {"sent": 1}
    assert weekly_summaries_send(now=wednesday + dt.timedelta(minutes=5)) == {}
    [notification] = sent_to(week.head)
    assert notification.dedupe_key == "weekly-summary:2026-11-30"


@pytest.mark.django_db
def test_who_gets_it_and_switching_it_off(week):
    lonely_head = UserFactory(username="lonely", role=Role.HEAD)  # leads no team
    week.manager.weekly_summary = True  # a manager has none, whatever the flag says
    week.manager.save()
    weekly_summaries_send(now=MONDAY_8)
    assert len(sent_to(week.head)) == 1
    assert sent_to(week.admin) == sent_to(week.manager) == sent_to(lonely_head) == []

    # The head switches it off on their settings page: nothing the next Monday.
    client = client_for(week.head)
    page = client.get(reverse("accounts:time_zone"))
    content = page.content.decode()
    assert 'id="weekly-summary"' in content and "Еженедельная сводка по почте" in content
    assert re.search(r'name="weekly_summary"[^>]*checked', content)
    assert client.post(reverse("accounts:time_zone"), {"time_zone": ""}).status_code == 302
    week.head.refresh_from_db()
    assert week.head.weekly_summary is False
    next_monday = MONDAY_8 + dt.timedelta(days=7)
    weekly_summaries_send(now=next_monday)
    assert len(sent_to(week.head)) == 1

    # An administrator switches it on and gets every team; the head switches it on again.
    response = client_for(week.admin).post(
        reverse("accounts:time_zone"), {"time_zone": "", "weekly_summary": "on"}
    )
    assert response.status_code == 302
    client.post(reverse("accounts:time_zone"), {"time_zone": "", "weekly_summary": "on"})
    assert weekly_summaries_send(now=next_monday) == {"sent": 2}
    assert len(sent_to(week.head)) == 2
    [admins] = sent_to(week.admin)
    assert "== Москва ==" in admins.email_text and "== Питер ==" in admins.email_text


@pytest.mark.django_db
def test_a_manager_sees_no_switch_and_cannot_post_one(week):
    client = client_for(week.manager)
    page = client.get(reverse("accounts:time_zone"))
    assert "weekly_summary" not in page.content.decode()
    client.post(reverse("accounts:time_zone"), {"time_zone": "", "weekly_summary": "on"})
    week.manager.refresh_from_db()
    assert week.manager.weekly_summary is None


@pytest.mark.django_db
def test_the_switch_is_refused_to_a_manager_and_nothing_changes(org):
    with pytest.raises(ValidationFailed) as refused:
        user_preferences_set(user=org.manager, time_zone="Asia/Omsk", weekly_summary=True)
    assert set(refused.value.field_errors) == {"weekly_summary"}
    org.manager.refresh_from_db()
    assert (org.manager.time_zone, org.manager.weekly_summary) == ("", None)
    user_preferences_set(user=org.admin, time_zone="Asia/Omsk", weekly_summary=True)
    org.admin.refresh_from_db()
    assert (org.admin.time_zone, org.admin.wants_weekly_summary) == ("Asia/Omsk", True)


@pytest.mark.django_db
def test_the_scheduler_runs_it(week):
    sweep = registry.sweeps["analytics.weekly_summary"]
    due = weekly_summary_due(week.head, timezone.now())  # None only on Monday before 08:00
    assert sweep.run() == ({"sent": 1} if due else {})
    assert sweep.run() == {}
    assert len(sent_to(week.head)) == (1 if due else 0)


@pytest.mark.django_db
def test_two_runs_send_once(week):
    weekly_summaries_send(now=MONDAY_8)
    weekly_summaries_send(now=MONDAY_8)
    assert len(sent_to(week.head)) == 1
    assert WeeklySummary.objects.count() == 1


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs a server database")
def test_two_schedulers_at_once_send_once(org, settings):
    settings.TIME_ZONE = "Europe/Moscow"
    build_week(org)
    outcomes: list[dict[str, int]] = []
    run_together(lambda: outcomes.append(weekly_summaries_send(now=MONDAY_8)), [()] * 4)
    # One scheduler wrote it; the others' claims failed on the unique pair, quietly.
    assert sorted(outcomes, key=len) == [{}, {}, {}, {"sent": 1}]
    assert len(sent_to(org.head)) == 1
    assert WeeklySummary.objects.filter(recipient=org.head).count() == 1


# --- delivery ----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_delivered_by_smtp_as_text_and_html_in_russian(
    week,
    smtp_server,  # noqa: F811
    settings,
    django_capture_on_commit_callbacks,
):
    settings.DEFAULT_FROM_EMAIL = "crm@example.com"
    week.head.language = "ru"
    week.head.save()
    with django_capture_on_commit_callbacks(execute=True):
        weekly_summaries_send(now=MONDAY_8)
    [envelope] = smtp_server.messages
    assert envelope.rcpt_tos == [week.head.email]
    message = email.message_from_bytes(envelope.original_content, policy=default_policy)
    # A long non-ASCII subject is folded onto the next line: the value starts with a space.
    assert message["Subject"].strip() == "Сводка за неделю: 30.11.2026 – 06.12.2026"
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    assert "== Москва ==" in text and "Застрявшие сделки: 3" in text
    assert "Все ваши уведомления: https://crm.example.com/notifications/" in text
    assert '<html lang="ru">' in html and "Старая</a>" in html
    assert "300\u00a0000,00\u00a0₽" in html
    assert "https://crm.example.com/accounts/time-zone/#weekly-summary" in html
    [notification] = sent_to(week.head)
    assert notification.emailed_at is not None
