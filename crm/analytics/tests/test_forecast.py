"""The forecast against a hand-computed history of the retail pipeline (Новая 10 %,
Счёт выставлен 50 %, Оплачено 90 %): a deal that moved back, a reopened one, two currencies,
the past months rebuilt from the stage visits, overdue deals, and a manager who does not
count a colleague's deal.

Measured conversion now (the six months before 7 December): from Новая, 5 decided deals
(A, D, I won; B, C lost) → 3/5; from Счёт выставлен, 4 decided (A, D, I won; C lost) → 3/4;
from Оплачено, none decided → no figure.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.utils import translation

from conftest import client_for
from crm.analytics.filters import ReportFilters
from crm.analytics.models import Plan
from crm.analytics.periods import period_parse
from crm.analytics.selectors import dashboard as dashboard_selectors
from crm.analytics.selectors.forecast import forecast_report, months_before, months_parse
from crm.analytics.tests.test_funnel import history
from crm.core.errors import ValidationFailed
from crm.sales.models import Deal
from crm.sales.services.deals import deal_update
from crm.sales.tests.factories import make_product

pytestmark = pytest.mark.django_db

MOSCOW = ZoneInfo("Europe/Moscow")
NOW = dt.datetime(2026, 12, 7, 9, 0, tzinfo=dt.UTC)
TWO_MONTHS = period_parse(
    {"period": "custom", "date_from": "2026-12-01", "date_to": "2027-01-31"},
    today=NOW.date(),
    zone=MOSCOW,
)
NEW, INVOICE, PAID, SHIPPED, REFUSED = "Новая", "Счёт выставлен", "Оплачено", "Отгружено", "Отказ"
CENT = Decimal("0.01")


def at(month: int, day: int, year: int = 2026) -> dt.datetime:
    return dt.datetime(year, month, day, 9, 0, tzinfo=dt.UTC)


def deal(owner, steps, amount, closes, currency="RUB") -> Deal:
    made = history(owner, steps, amount, currency)
    Deal.objects.filter(pk=made.pk).update(expected_close=closes)
    return made


@pytest.fixture
def forecast_history(org):
    m = org.manager
    deal(m, [(NEW, at(10, 1)), (INVOICE, at(10, 5)), (SHIPPED, at(10, 10))], "1000", "2026-10-15")
    deal(m, [(NEW, at(10, 2)), (REFUSED, at(10, 3))], "500", "2026-10-20")  # B
    deal(  # C: moved back to Новая, then lost
        m,
        [
            (NEW, at(10, 3)),
            (INVOICE, at(10, 4)),
            (NEW, at(10, 6)),
            (INVOICE, at(10, 8)),
            (REFUSED, at(10, 20)),
        ],
        "200",
        "2026-10-31",
    )
    deal(  # D: won in October, reopened in November, open now
        m,
        [(NEW, at(9, 1)), (INVOICE, at(9, 10)), (SHIPPED, at(10, 12)), (INVOICE, at(11, 2))],
        "300",
        "2026-12-20",
    )
    deal(m, [(NEW, at(9, 5)), (INVOICE, at(9, 20)), (SHIPPED, at(10, 15))], "2000", "2026-10-25")
    deal(m, [(NEW, at(10, 20))], "600", "2026-11-15")  # J: overdue
    deal(m, [(NEW, at(12, 1))], "1000", "2027-01-10")  # E
    deal(m, [(NEW, at(11, 10)), (PAID, at(11, 20))], "100", "2026-12-25", "USD")  # F
    deal(m, [(NEW, at(11, 25))], "400", "2026-12-01")  # H: overdue, in December
    deal(org.colleague, [(NEW, at(12, 1))], "5000", "2026-12-15")  # G
    return org


def report(viewer, months=6, filters=None):
    return forecast_report(
        viewer=viewer,
        period=TWO_MONTHS,
        filters=filters or ReportFilters(),
        months=months,
        now=NOW,
    )


def cents(money):
    return {currency: amount.quantize(CENT) for currency, amount in money.items()}


def test_measured_conversion_counts_each_deal_once_per_stage(forecast_history):
    rates = {rate.stage.name: rate for rate in report(forecast_history.manager).rates}
    assert (rates[NEW].won, rates[NEW].decided) == (3, 5)
    assert (rates[INVOICE].won, rates[INVOICE].decided) == (3, 4)
    assert rates[PAID].conversion is None


def test_open_deals_by_month_weighted_both_ways_per_currency(forecast_history):
    result = report(forecast_history.manager)
    december, january = result.by_month
    assert december.key == dt.date(2026, 12, 1) and december.deals == 3
    assert cents(december.amount) == {"RUB": Decimal("700.00"), "USD": Decimal("100.00")}
    # D 300 × 50 % + H 400 × 10 %; F 100 $ × 90 %
    assert cents(december.by_probability) == {"RUB": Decimal("190.00"), "USD": Decimal("90.00")}
    # D 300 × 3/4 + H 400 × 3/5; Оплачено has no measured conversion
    assert cents(december.by_conversion) == {"RUB": Decimal("465.00"), "USD": Decimal("0.00")}
    assert cents(january.by_probability) == {"RUB": Decimal("100.00")}
    assert cents(january.by_conversion) == {"RUB": Decimal("600.00")}
    assert result.total.deals == 4
    assert cents(result.total.by_conversion) == {"RUB": Decimal("1065.00"), "USD": Decimal("0.00")}
    assert december.plan is None and result.currencies == ["RUB", "USD"]


def test_the_past_months_are_rebuilt_from_the_stage_visits(forecast_history):
    past = {row.month: row for row in report(forecast_history.manager).past}
    assert list(past) == [dt.date(2026, month, 1) for month in range(6, 12)]
    october = past[dt.date(2026, 10, 1)]
    # On 1 October only I (Счёт, 2000) was open with an October date; nothing was decided
    # before it, so the measured conversion had no figure yet.
    assert october.forecast.deals == 1
    assert cents(october.forecast.by_probability) == {"RUB": Decimal("1000.00")}
    assert cents(october.forecast.by_conversion) == {"RUB": Decimal("0.00")}
    # A, the reopened D and I entered a won stage in October.
    assert october.won_count == 3 and october.won == {"RUB": Decimal("3300")}
    assert october.won_forecast_deals == {"RUB": Decimal("2000")}
    november = past[dt.date(2026, 11, 1)]
    # J (Новая, 600): 3 of the 5 deals decided by 1 November were won.
    assert cents(november.forecast.by_conversion) == {"RUB": Decimal("360.00")}
    assert cents(november.forecast.by_probability) == {"RUB": Decimal("60.00")}
    assert november.won == {} and november.won_count == 0
    result = report(forecast_history.manager)
    errors = {currency: (first, second) for currency, first, second in result.errors}
    # Misses by probability: Oct |1000 − 3300|, Nov |60 − 0|; by conversion: 3300 and 360.
    assert errors["RUB"][0].quantize(CENT) == Decimal("393.33")
    assert errors["RUB"][1].quantize(CENT) == Decimal("610.00")


def test_overdue_deals_are_listed_longest_first(forecast_history):
    result = report(forecast_history.manager)
    assert result.overdue_count == 2
    assert [(row.amount, row.days_overdue) for row in result.overdue] == [
        (Decimal("600.00"), 22),
        (Decimal("400.00"), 6),
    ]


def test_a_manager_does_not_count_a_colleagues_deal_and_a_head_does(forecast_history):
    mine = report(forecast_history.manager)
    assert [row.label for row in mine.by_manager] == [str(forecast_history.manager)]
    teams = report(forecast_history.head)
    assert cents(teams.by_month[0].amount) == {"RUB": Decimal("5700.00"), "USD": Decimal("100.00")}
    assert len(teams.by_manager) == 2
    colleague = ReportFilters(manager=forecast_history.colleague)
    assert report(forecast_history.head, filters=colleague).total.deals == 1


def test_a_shorter_window_measures_from_fewer_deals(forecast_history):
    result = report(forecast_history.manager, months=1)
    assert all(rate.conversion is None for rate in result.rates)
    assert cents(result.total.by_conversion) == {"RUB": Decimal("0.00"), "USD": Decimal("0.00")}


@pytest.mark.parametrize("value", ["0", "37", "x", "-1"])
def test_a_bad_window_is_refused_naming_it(value):
    with pytest.raises(ValidationFailed) as refused:
        months_parse(value)
    assert list(refused.value.field_errors) == ["months"]


def test_the_page_export_and_api(forecast_history, monkeypatch):
    monkeypatch.setattr(dashboard_selectors, "clock", lambda: NOW)
    client = client_for(forecast_history.manager)
    query = "?period=custom&date_from=2026-12-01&date_to=2027-01-31"
    page = client.get("/reports/forecast/" + query)
    assert page.status_code == 200
    text = page.content.decode()
    assert 'id="forecast-overdue-list"' in text and "forecast-data" in text
    assert "close_from=2027-01-01&amp;close_to=2027-01-31" in text
    assert f"owner={forecast_history.manager.pk}&amp;close_from=2026-12-01" in text
    with translation.override(page["Content-Language"]):  # the note, in the page's language
        note = translation.gettext(
            "Plans are set per manager, not per product: "
            "with the product filter the plan column stays empty."
        )
    assert note not in text
    chair = make_product(name="Стул")
    filtered = client.get(f"/reports/forecast/{query}&product={chair.pk}")
    assert note in filtered.content.decode()
    assert client.get("/reports/forecast/?months=0").status_code == 400
    csv = client.get("/reports/forecast/export/" + query + "&format=csv")
    assert csv.status_code == 200 and csv["Content-Type"].startswith("text/csv")
    assert "1065" in csv.content.decode()
    answer = client.get("/api/v1/reports/forecast" + query)
    assert answer.status_code == 200
    body = answer.json()
    assert body["total"]["by_conversion"] == [
        {"currency": "RUB", "amount": "1065.00"},
        {"currency": "USD", "amount": "0.00"},
    ]
    assert body["overdue_count"] == 2 and len(body["past"]) == 6
    refused = client.get("/api/v1/reports/forecast?months=99")
    assert refused.status_code == 422
    other = client.get(f"/api/v1/reports/forecast?manager={forecast_history.outsider.pk}")
    assert other.status_code == 422 and "manager" in other.content.decode()


def test_the_window_starts_the_same_day_months_before_clamped_to_the_months_end():
    moment = dt.datetime(2026, 8, 31, 12, 0, tzinfo=MOSCOW)
    assert months_before(moment, 6) == dt.datetime(2026, 2, 28, 12, 0, tzinfo=MOSCOW)
    assert months_before(moment, 9) == dt.datetime(2025, 11, 30, 12, 0, tzinfo=MOSCOW)


def revenue_plan(manager, target, month, metric="revenue_won"):
    Plan.objects.create(
        metric=metric,
        manager=manager,
        currency="RUB" if metric == "revenue_won" else "",
        effective_from=month,
        target=Decimal(target),
    )


def test_the_revenue_plans_in_force_stand_next_to_the_forecast(forecast_history):
    org = forecast_history
    revenue_plan(org.manager, "31000", dt.date(2026, 11, 1))
    revenue_plan(org.manager, "62000", dt.date(2027, 1, 1))  # a new version from January
    revenue_plan(org.manager, "9", dt.date(2026, 11, 1), metric="deals_won")  # not money
    revenue_plan(org.colleague, "9300", dt.date(2026, 12, 1))
    revenue_plan(org.head, "3100", dt.date(2026, 12, 1))  # a plan and no open deal

    result = report(org.head)
    december, january = result.by_month
    assert december.plan == {"RUB": Decimal("43400.00")}  # 31 000 + 9 300 + 3 100
    assert january.plan == {"RUB": Decimal("74400.00")}  # 62 000 + 9 300 + 3 100
    managers = {row.key: row for row in result.by_manager}
    assert managers[org.manager.pk].plan == {"RUB": Decimal("93000.00")}
    assert managers[org.head.pk].plan == {"RUB": Decimal("6200.00")}
    assert managers[org.head.pk].deals == 0
    assert result.total.plan == {"RUB": Decimal("117800.00")}
    # A manager sees their own plan only.
    assert report(org.manager).total.plan == {"RUB": Decimal("93000.00")}


def test_with_the_product_filter_no_plan_is_shown(forecast_history):
    org = forecast_history
    revenue_plan(org.manager, "31000", dt.date(2026, 11, 1))
    chair = make_product(name="Стул")
    result = report(org.head, filters=ReportFilters(product=chair))
    assert not result.plan_shown
    assert result.total.plan is None
    assert all(row.plan is None for row in [*result.by_month, *result.by_manager])
    assert report(org.head).total.plan == {"RUB": Decimal("62000.00")}


def test_a_month_the_period_covers_in_part_counts_the_plan_for_its_days(forecast_history):
    org = forecast_history
    revenue_plan(org.manager, "31000", dt.date(2026, 12, 1))
    week = period_parse(
        {"period": "custom", "date_from": "2026-12-10", "date_to": "2026-12-16"},
        today=NOW.date(),
        zone=MOSCOW,
    )
    result = forecast_report(
        viewer=org.manager, period=week, filters=ReportFilters(), months=6, now=NOW
    )
    assert result.total.plan == {"RUB": Decimal("7000.00")}  # 31 000 × 7 / 31


@pytest.mark.parametrize("how", ["shared", "reassigned"])
def test_a_deal_shared_with_or_handed_to_the_viewer_counts_in_every_window(forecast_history, how):
    org = forecast_history
    # K: the colleague's, Счёт выставлен since 3 September, won on 5 October.
    other = deal(
        org.colleague,
        [(NEW, at(9, 1)), (INVOICE, at(9, 3)), (SHIPPED, at(10, 5))],
        "800",
        "2026-10-30",
    )
    if how == "shared":
        other.shared_with.add(org.manager)
    else:
        deal_update(actor=org.admin, pk=other.pk, data={"owner_id": org.manager.pk})

    result = report(org.manager)
    rates = {rate.stage.name: rate for rate in result.rates}
    assert (rates[NEW].won, rates[NEW].decided) == (4, 6)
    assert (rates[INVOICE].won, rates[INVOICE].decided) == (4, 5)
    october = {row.month: row for row in result.past}[dt.date(2026, 10, 1)]
    # On 1 October I (2000) and K (800) sat in Счёт выставлен with an October date.
    assert october.forecast.deals == 2
    assert cents(october.forecast.by_probability) == {"RUB": Decimal("1400.00")}
    assert october.won_count == 4 and october.won == {"RUB": Decimal("4100")}
    assert october.won_forecast_deals == {"RUB": Decimal("2800")}
    theirs = {rate.stage.name: rate for rate in report(org.colleague).rates}
    expected = (0, 0) if how == "reassigned" else (1, 1)
    assert (theirs[NEW].won, theirs[NEW].decided) == expected


@pytest.mark.parametrize("zone", [MOSCOW, ZoneInfo("Asia/Yekaterinburg")])
def test_the_past_months_start_at_midnight_in_the_viewers_zone(org, zone):
    m = org.manager
    # K: won at 00:30 on 1 October in the viewer's zone (still 30 September in UTC, and
    # in Yekaterinburg's case in the site's zone, Moscow, too).
    late = dt.datetime(2026, 10, 1, 0, 30, tzinfo=zone)
    deal(m, [(NEW, at(9, 20)), (SHIPPED, late)], "700", "2026-10-10")
    # M: left Новая for Счёт выставлен at midnight of 1 November in the zone exactly.
    midnight = dt.datetime(2026, 11, 1, tzinfo=zone)
    deal(m, [(NEW, at(10, 20)), (INVOICE, midnight)], "1000", "2026-11-20")
    period = period_parse(
        {"period": "custom", "date_from": "2026-12-01", "date_to": "2027-01-31"},
        today=NOW.date(),
        zone=zone,
    )

    result = forecast_report(viewer=m, period=period, filters=ReportFilters(), now=NOW)
    past = {row.month: row for row in result.past}
    assert past[dt.date(2026, 9, 1)].won_count == 0
    october = past[dt.date(2026, 10, 1)]
    assert october.won_count == 1 and october.won == {"RUB": Decimal("700")}
    # K was still in Новая at the start of October, so it was foreseen.
    assert october.forecast.deals == 1 and october.won_forecast_deals == {"RUB": Decimal("700")}
    november = past[dt.date(2026, 11, 1)]
    # At the start of November M had just left Новая (its stay counts until then) and had
    # not yet entered Счёт выставлен: one deal, once, weighed by Новая (10 %; K decided 1/1).
    assert november.forecast.deals == 1
    assert cents(november.forecast.amount) == {"RUB": Decimal("1000.00")}
    assert cents(november.forecast.by_probability) == {"RUB": Decimal("100.00")}
    assert cents(november.forecast.by_conversion) == {"RUB": Decimal("1000.00")}


def test_the_window_counts_its_first_moment_and_no_decision_at_the_visits_own(org):
    m = org.manager
    since = months_before(NOW.astimezone(MOSCOW), 6)
    # P: entered Новая at the window's first moment, then lost: decided.
    deal(m, [(NEW, since), (REFUSED, at(6, 10))], "100", "2026-06-30")
    # Q: a minute before the window, then won: not measured.
    deal(m, [(NEW, since - dt.timedelta(minutes=1)), (SHIPPED, at(6, 10))], "100", "2026-06-30")
    # N: won at the very moment it entered Новая: not a decision after the visit.
    deal(m, [(NEW, at(11, 1)), (SHIPPED, at(11, 1))], "100", "2026-11-30")
    deal(m, [(NEW, at(12, 1))], "1000", "2026-12-20")  # open, to show the rates

    rates = {rate.stage.name: rate for rate in report(m).rates}
    assert (rates[NEW].won, rates[NEW].decided) == (0, 1)
