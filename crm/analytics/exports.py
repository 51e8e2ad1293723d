"""The reports as tables for CSV and XLSX: the figures of the page, one column per currency
(amounts are never added across currencies), durations in hours, shares in percent."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from crm.analytics.selectors.activity import ActivityReport, ActivityRow
from crm.analytics.selectors.clients import AbcClass, ClientRevenue, ClientsReport
from crm.analytics.selectors.forecast import ForecastReport, ForecastRow
from crm.analytics.selectors.funnel import Funnel
from crm.analytics.selectors.leads import LeadRow, LeadsReport
from crm.analytics.selectors.plans import PlanLine, PlanReport
from crm.analytics.selectors.sales import SalesReport, SalesRow
from crm.core.spreadsheets import Cell
from crm.leads.choices import LeadKind


@dataclass
class Table:
    """A report as a header and rows of plain values; ``name`` names the file and sheet."""

    name: str
    header: list[str]
    rows: list[list[Cell]]


def _hours(seconds: float | None) -> Cell:
    return round(seconds / 3600, 2) if seconds is not None else None


def _percent(share: float | None) -> Cell:
    return round(share * 100, 1) if share is not None else None


def _share(share: Decimal) -> Cell:
    return _percent(float(share))


def _currencies(amounts: Iterable[dict[str, Decimal]]) -> list[str]:
    return sorted({currency for money in amounts for currency in money})


def funnel_table(funnel: Funnel, before: Funnel) -> Table:
    """One row per open stage, then the won deals."""
    currencies = _currencies([row.amount for row in funnel.stages] + [funnel.won_amount])
    header = [
        _("Stage"),
        pgettext("funnel", "Reached"),
        _("Previous period"),
        _("Entered"),
        _("Skipped"),
        _("Moves back"),
        _("To the next stage") + ", %",
        *(f"{_('Amount')}, {currency}" for currency in currencies),
        _("Median time in stage") + ", " + _("hours"),
        _("90th percentile") + ", " + _("hours"),
        _("Lost here, by reason"),
    ]
    rows: list[list[Cell]] = []
    for index, row in enumerate(funnel.stages):
        previous = before.stages[index].reached if index < len(before.stages) else None
        rows.append(
            [
                row.stage.name,
                row.reached,
                previous,
                row.entered,
                row.skipped,
                row.returns,
                _percent(row.conversion),
                *(row.amount.get(currency) for currency in currencies),
                _hours(row.median_seconds),
                _hours(row.p90_seconds),
                "; ".join(f"{name}: {count}" for name, count in row.lost_reasons),
            ]
        )
    rows.append(
        [
            pgettext("funnel", "Won"),
            funnel.won,
            before.won,
            None,
            None,
            None,
            None,
            *(funnel.won_amount.get(currency) for currency in currencies),
            None,
            None,
            "",
        ]
    )
    name = f"funnel-{funnel.period.start.isoformat()}-{funnel.period.end.isoformat()}"
    return Table(name, header, rows)


def sales_table(report: SalesReport) -> Table:
    """The sections of the page one after another: in time, by manager, by source, by
    client type, by product (its line totals in the deals-won columns, no payments); deals
    won and payments received in columns of their own per currency."""
    sections: list[tuple[str, list[SalesRow]]] = [
        (str(_("In time")), report.timeline),
        (str(_("By manager")), report.by_manager),
        (str(_("By source")), report.by_source),
        (str(_("By client type")), report.by_client_type),
    ]
    every = [row for _name, rows in sections for row in rows]
    currencies = _currencies(
        [row.won for row in every]
        + [row.received for row in every]
        + [row.won for row in report.by_product]
    )
    header = [
        _("Section"),
        _("Group"),
        pgettext("funnel", "Won"),
        *(f"{_('Deals won')}, {currency}" for currency in currencies),
        *(f"{_('Payments received')}, {currency}" for currency in currencies),
    ]
    rows: list[list[Cell]] = [
        [
            section,
            row.label,
            row.won_count,
            *(row.won.get(currency) for currency in currencies),
            *(row.received.get(currency) for currency in currencies),
        ]
        for section, section_rows in sections
        for row in section_rows
    ]
    product_section = str(_("By product"))
    rows.extend(
        [
            product_section,
            row.label,
            row.deals,
            *(row.won.get(currency) for currency in currencies),
            *(None for _currency in currencies),
        ]
        for row in report.by_product
    )
    name = f"sales-{report.period.start.isoformat()}-{report.period.end.isoformat()}"
    return Table(name, header, rows)


def leads_table(report: LeadsReport) -> Table:
    """The sections of the leads page one after another (the total, by channel, by form,
    by classification, by manager); revenue in a column per currency."""
    sections: list[tuple[str, list[LeadRow]]] = [
        (str(_("Total")), [report.total]),
        (str(_("By channel")), report.by_channel),
        (str(_("By web form")), report.by_form),
        (str(_("By classification")), report.by_kind),
        (str(_("By manager")), report.by_manager),
    ]
    every = [row for _name, rows in sections for row in rows]
    currencies = _currencies(row.revenue for row in every)
    header = [
        _("Section"),
        _("Group"),
        _("Leads"),
        *(str(label) for _kind, label in LeadKind.choices),
        _("Converted to deals"),
        _("Deals won"),
        _("Leads to won deals") + ", %",
        *(f"{_('Revenue')}, {currency}" for currency in currencies),
        _("Median first response") + ", " + _("hours"),
        _("With a deadline"),
        _("Answered in time"),
        _("Answered in time") + ", %",
    ]
    rows: list[list[Cell]] = [
        [
            section,
            row.label,
            row.leads,
            *(row.kinds.get(kind, 0) for kind in LeadKind.values),
            row.converted,
            row.won,
            _percent(row.won_share),
            *(row.revenue.get(currency) for currency in currencies),
            _hours(row.median_response_seconds),
            row.with_deadline,
            row.in_time,
            _percent(row.in_time_share),
        ]
        for section, section_rows in sections
        for row in section_rows
    ]
    name = f"leads-{report.period.start.isoformat()}-{report.period.end.isoformat()}"
    return Table(name, header, rows)


def activity_table(report: ActivityReport) -> Table:
    """One row per manager and the total; talk time in hours, revenue per currency."""
    currencies = _currencies(row.revenue for row in [*report.rows, report.total])
    header = [
        _("Manager"),
        _("Calls"),
        _("Outgoing calls"),
        _("Incoming calls"),
        _("Missed calls"),
        _("Calls logged by hand"),
        _("Calls from telephony"),
        _("Talk time") + ", " + _("hours"),
        _("Meetings"),
        _("E-mails"),
        _("Notes"),
        _("Tasks done on time"),
        _("Tasks done late"),
        _("Tasks overdue now"),
        _("Leads taken"),
        _("Leads answered in time"),
        pgettext("funnel", "Won"),
        *(f"{_('Revenue')}, {currency}" for currency in currencies),
    ]

    def cells(label: str, row: ActivityRow) -> list[Cell]:
        return [
            label,
            row.calls,
            row.calls_out,
            row.calls_in,
            row.calls_missed,
            row.calls_logged,
            row.calls_telephony,
            _hours(row.talk_seconds),
            row.meetings,
            row.emails,
            row.notes,
            row.tasks_on_time,
            row.tasks_late,
            row.tasks_overdue,
            row.leads_taken,
            row.leads_in_time,
            row.won_count,
            *(row.revenue.get(currency) for currency in currencies),
        ]

    rows = [cells(row.label, row) for row in report.rows]
    rows.append(cells(str(_("Total")), report.total))
    name = f"activity-{report.period.start.isoformat()}-{report.period.end.isoformat()}"
    return Table(name, header, rows)


def _metric_name(line: PlanLine) -> str:
    return f"{line.metric.label}, {line.currency}" if line.currency else str(line.metric.label)


def plans_table(report: PlanReport) -> Table:
    """One row per team total and manager and metric: plan, fact, done, forecast; then the
    bonus with its breakdown on the manager's revenue row."""
    header = [
        _("Team"),
        _("Manager"),
        _("Metric"),
        _("Plan"),
        _("Fact"),
        _("Done") + ", %",
        _("Forecast to the month's end"),
        _("Bonus"),
        _("Currency"),
        _("Revenue above the threshold"),
        _("Percent of it"),
        _("Scale by plan done"),
        _("Capped"),
    ]
    rows: list[list[Cell]] = []
    for block in report.blocks:
        team = block.team.name if block.team is not None else str(_("Not in a team"))
        for row in [block.total, *block.members]:
            who = str(row.user) if row.user is not None else str(_("Team total"))
            for line in row.lines:
                bonus = row.bonus
                explains = (
                    bonus is not None
                    and line.metric.key == "revenue_won"
                    and line.currency == bonus.rule.currency
                )
                rows.append(
                    [
                        team,
                        who,
                        _metric_name(line),
                        line.target,
                        line.fact,
                        _percent(line.done),
                        line.forecast.quantize(Decimal("0.01"))
                        if line.forecast is not None
                        else None,
                        bonus.bonus if bonus is not None and explains else None,
                        bonus.rule.currency if bonus is not None and explains else "",
                        bonus.above if bonus is not None and explains else None,
                        bonus.base if bonus is not None and explains else None,
                        bonus.scale if bonus is not None and explains else None,
                        (_("yes") if bonus.capped else _("no"))
                        if bonus is not None and explains
                        else "",
                    ]
                )
    return Table(f"plans-{report.month:%Y-%m}", header, rows)


def forecast_table(report: ForecastReport) -> Table:
    """The forecast's sections one after another: by month, by manager, the check on the
    past months, then the overdue deals; the amount, both weighted forecasts and what was
    won in columns of their own per currency."""
    currencies = report.currencies
    header = [
        _("Section"),
        _("Group"),
        _("Deals"),
        *(f"{_('Amount')}, {currency}" for currency in currencies),
        *(f"{_('By probability')}, {currency}" for currency in currencies),
        *(f"{_('By measured conversion')}, {currency}" for currency in currencies),
        *(f"{_('Won in the month')}, {currency}" for currency in currencies),
    ]

    def line(section: str, label: str, row: ForecastRow, won: dict[str, Decimal]) -> list[Cell]:
        return [
            section,
            label,
            row.deals,
            *(row.amount.get(currency) for currency in currencies),
            *(row.by_probability.get(currency) for currency in currencies),
            *(row.by_conversion.get(currency) for currency in currencies),
            *(won.get(currency) for currency in currencies),
        ]

    rows: list[list[Cell]] = [
        line(str(_("By expected close month")), row.label, row, {}) for row in report.by_month
    ]
    rows.append(line(str(_("Total")), "", report.total, {}))
    rows += [line(str(_("By manager")), row.label, row, {}) for row in report.by_manager]
    rows += [
        line(
            str(_("Forecast at the month's start")),
            month.month.isoformat(),
            month.forecast,
            month.won,
        )
        for month in report.past
    ]
    blank = [None] * (len(header) - 3)
    for deal in report.overdue:
        amount = [deal.amount if currency == deal.currency else None for currency in currencies]
        rows.append(
            [
                str(_("Expected close date passed")),
                f"{deal.title} ({deal.owner}, {deal.stage}, {deal.expected_close.isoformat()})",
                1,
                *amount,
                *blank[len(amount) :],
            ]
        )
    name = f"forecast-{report.period.start.isoformat()}-{report.period.end.isoformat()}"
    return Table(name, header, rows)


def clients_table(report: ClientsReport) -> Table:
    """The clients report's sections one after another: new clients by type, the ABC
    classes, the top clients, then the untouched clients of the page asked for."""
    header = [
        _("Section"),
        _("Group"),
        _("Number"),
        _("Previous period"),
        _("Currency"),
        _("Revenue"),
        _("Share") + ", %",
        _("Class"),
        _("Last touch"),
    ]
    rows: list[list[Cell]] = [
        [str(_("New clients")), row.label, row.count, row.before, "", None, None, "", ""]
        for row in report.new
    ]
    abc, top = str(_("ABC analysis by revenue")), str(_("Top clients by revenue"))
    money: list[tuple[str, str, int, ClientRevenue | AbcClass]] = [
        *((abc, row.abc, row.clients, row) for row in report.abc),
        *((top, row.name, row.deals, row) for row in report.top),
    ]
    rows += [
        [section, label, number, None, row.currency, row.revenue, _share(row.share), row.abc, ""]
        for section, label, number, row in money
    ]
    rows += [
        [
            str(_("No touch for %(days)d days") % {"days": report.days}),
            row["name"],
            None,
            None,
            "",
            None,
            None,
            "",
            row["last_touch"].isoformat(),
        ]
        for row in report.untouched.object_list
    ]
    name = f"clients-{report.period.start.isoformat()}-{report.period.end.isoformat()}"
    return Table(name, header, rows)
