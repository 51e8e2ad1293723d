"""The rows of the contact and company lists, rendered in Python: ``{% contact_rows page.items %}``.

A list page shows fifty rows of a dozen cells each. Through the template engine every cell
costs a node's render (a variable's lookup chain, a filter, a tag, a loop's context), which
made the rows about a quarter of the page's CPU time; the cells here are plain string
formatting with ``html.escape`` (what ``{{ value }}`` does to a plain string), as Django's own
admin builds its change list's cells in Python (``admin_list.items_for_result``). The markup
is the one the template fragments had; the labels are translated once per page, the record
links resolved once per page (``record_url_parts``) and the dates formatted once per day.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date, datetime
from html import escape
from typing import Any

from django import template
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext

from crm.core.templatetags.record_links import record_url_parts
from crm.customers.choices import ClientType

register = template.Library()

TAG = '<span class="badge rounded-pill text-bg-light border me-1">{}</span>'
PHONE = '<a class="text-nowrap text-decoration-none" href="tel:{}">{}</a>'


def _short_dates() -> Callable[[datetime], str]:
    """``{{ value|date:"SHORT_DATE_FORMAT" }}`` in the current time zone and language,
    formatted once per local day (a page's rows mostly share a few days)."""
    formatted: dict[date, str] = {}

    def short_date(value: datetime) -> str:
        day = timezone.localtime(value).date() if timezone.is_aware(value) else value.date()
        text = formatted.get(day)
        if text is None:
            text = formatted[day] = escape(date_format(day, "SHORT_DATE_FORMAT"))
        return text

    return short_date


def _url_of(name: str) -> Callable[[int], str]:
    before, after = record_url_parts(name)
    return lambda pk: f"{before}{int(pk)}{after}"


def _tags(names: Iterable[str]) -> str:
    return "".join(TAG.format(escape(name)) for name in names)


def _phones(phones: Iterable[dict[str, str]]) -> str:
    return "".join(PHONE.format(escape(p["value"]), escape(p["display"])) for p in phones)


@register.simple_tag
def contact_rows(contacts: Iterable[Any]) -> SafeString:
    """The ``<tr>`` of each row of ``selectors.contact_table``."""
    contact_url = _url_of("customers:contact_detail")
    company_url = _url_of("customers:company_detail")
    short_date = _short_dates()
    no_name = escape(gettext("(no name)"))
    types = {value: escape(str(label)) for value, label in ClientType.choices}
    html = []
    for contact in contacts:
        name = escape(contact.full_name) or no_name
        kind = types.get(contact.client_type)
        if kind is None:
            kind = escape(str(contact.get_client_type_display()))
        companies = ", ".join(
            f'<a href="{company_url(job["company_id"])}"><bdi>{escape(job["name"])}</bdi></a>'
            for job in contact.employment_list
        )
        emails = "".join(
            f'<a class="text-decoration-none" href="mailto:{escape(email)}">{escape(email)}</a>'
            for email in contact.email_list
        )
        html.append(
            "\n      <tr>\n"
            f'        <td><a class="fw-semibold" href="{contact_url(contact.pk)}"><bdi>{name}</bdi>'
            f'</a>\n          <div class="small text-muted">{kind}</div></td>\n'
            f"        <td>{companies}</td>\n"
            f"        <td>{_phones(contact.phone_list)}</td>\n"
            f'        <td class="text-break">{emails}</td>\n'
            f"        <td>{_tags(contact.tag_list)}</td>\n"
            f'        <td class="text-nowrap">{escape(str(contact.owner))}</td>\n'
            '        <td class="text-nowrap small text-muted">'
            f"{short_date(contact.created_at)}</td>\n"
            "      </tr>"
        )
    return mark_safe("".join(html))  # every value above is escaped


@register.simple_tag
def company_rows(companies: Iterable[Any]) -> SafeString:
    """The ``<tr>`` of each row of ``selectors.company_table``."""
    company_url = _url_of("customers:company_detail")
    short_date = _short_dates()
    business = escape(gettext("Business"))
    government = escape(gettext("Government body"))
    html = []
    for company in companies:
        legal_name = ""
        if company.short_name and company.short_name != company.legal_name:
            legal_name = (
                f'<div class="small text-muted"><bdi>{escape(company.legal_name)}</bdi></div>'
            )
        if company.kind == ClientType.GOVERNMENT:
            kind = f'<span class="badge text-bg-info">{government}</span>'
        elif company.kind == ClientType.BUSINESS:
            kind = business
        else:
            kind = escape(str(company.get_kind_display()))
        html.append(
            "\n      <tr>\n"
            f'        <td><a class="fw-semibold" href="{company_url(company.pk)}"><bdi>'
            f"{escape(company.display_name)}</bdi></a>\n          {legal_name}</td>\n"
            f'        <td class="font-monospace">{escape(company.inn)}</td>\n'
            f"        <td>{kind}</td>\n"
            f"        <td>{_phones(company.phone_list)}</td>\n"
            f"        <td>{_tags(company.tag_list)}</td>\n"
            f'        <td class="text-nowrap">{escape(str(company.owner))}</td>\n'
            '        <td class="text-nowrap small text-muted">'
            f"{short_date(company.created_at)}</td>\n"
            "      </tr>"
        )
    return mark_safe("".join(html))  # every value above is escaped
