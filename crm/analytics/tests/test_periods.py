"""Periods: presets and custom ranges in the user's zone, the period before, bad input."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from crm.accounts.tests.factories import TeamFactory, UserFactory, add_member
from crm.analytics.periods import period_parse, user_time_zone
from crm.core.errors import ValidationFailed

MOSCOW = ZoneInfo("Europe/Moscow")
TODAY = dt.date(2026, 12, 7)  # a Monday


def parse(zone: ZoneInfo = MOSCOW, today: dt.date = TODAY, **params: str):
    return period_parse(params, today=today, zone=zone)


def test_this_month_is_the_whole_month_from_local_midnight():
    period = parse(period="this_month")
    assert (period.start, period.end) == (dt.date(2026, 12, 1), dt.date(2026, 12, 31))
    assert period.start_at == dt.datetime(2026, 11, 30, 21, 0, tzinfo=dt.UTC)
    assert period.end_at == dt.datetime(2026, 12, 31, 21, 0, tzinfo=dt.UTC)


def test_the_same_month_starts_at_another_moment_in_another_zone():
    period = parse(ZoneInfo("America/New_York"), period="this_month")
    assert period.start_at == dt.datetime(2026, 12, 1, 5, 0, tzinfo=dt.UTC)


def test_the_period_before_a_preset_is_the_previous_calendar_unit():
    month = parse(period="this_month").previous()
    assert (month.start, month.end) == (dt.date(2026, 11, 1), dt.date(2026, 11, 30))
    week = parse(period="this_week")
    assert (week.start, week.end) == (dt.date(2026, 12, 7), dt.date(2026, 12, 13))
    assert week.previous().start == dt.date(2026, 11, 30)


def test_last_quarter_and_last_year_cross_the_new_year():
    quarter = parse(today=dt.date(2027, 2, 10), period="last_quarter")
    assert (quarter.start, quarter.end) == (dt.date(2026, 10, 1), dt.date(2026, 12, 31))
    assert (quarter.previous().start, quarter.previous().end) == (
        dt.date(2026, 7, 1),
        dt.date(2026, 9, 30),
    )
    year = parse(period="last_year")
    assert (year.start, year.end) == (dt.date(2025, 1, 1), dt.date(2025, 12, 31))


def test_a_custom_range_compares_with_as_many_days_before():
    period = parse(period="custom", date_from="2026-03-10", date_to="2026-03-19")
    assert period.days == 10
    before = period.previous()
    assert (before.start, before.end) == (dt.date(2026, 2, 28), dt.date(2026, 3, 9))


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"period": "fortnight"}, "period"),
        ({"period": "custom", "date_to": "2026-01-01"}, "date_from"),
        ({"period": "custom", "date_from": "2026-13-01", "date_to": "2026-12-01"}, "date_from"),
        ({"period": "custom", "date_from": "2026-05-02", "date_to": "2026-05-01"}, "date_to"),
        ({"period": "custom", "date_from": "2020-01-01", "date_to": "2025-12-31"}, "date_to"),
    ],
)
def test_bad_periods_are_refused_naming_the_parameter(params, field):
    with pytest.raises(ValidationFailed) as refused:
        parse(**params)
    assert field in refused.value.field_errors


def test_five_years_exactly_is_allowed():
    period = parse(period="custom", date_from="2021-01-01", date_to="2025-12-31")
    assert period.days == 1826


@pytest.mark.django_db
def test_the_users_zone_is_their_teams(settings):
    settings.TIME_ZONE = "Europe/Moscow"
    far = TeamFactory(name="Владивосток", time_zone="Asia/Vladivostok")
    user, loner = UserFactory(username="far"), UserFactory(username="loner")
    add_member(far, user)
    assert user_time_zone(user) == ZoneInfo("Asia/Vladivostok")
    assert user_time_zone(loner) == ZoneInfo("Europe/Moscow")
