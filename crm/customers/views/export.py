"""CSV export of the contact and company lists, limited to what the user may see."""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict

from django.contrib.auth.decorators import login_required
from django.db.models import Prefetch
from django.http import StreamingHttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.accounts.http import SignedInRequest
from crm.accounts.models import SecurityEvent
from crm.accounts.services import security_event_record
from crm.customers.choices import ContactPointKind
from crm.customers.models import Company, Contact, ContactPoint, Employment
from crm.customers.selectors import CustomerFilters, company_queryset, contact_queryset

CHUNK = 2000
_PLAIN_NUMBER = re.compile(r"\+?[\d ,()-]+")


class _Echo:
    """A file-like object whose write returns the line, for streaming csv.writer output."""

    def write(self, value: str) -> str:
        return value


def _points(record: Contact | Company, kind: str) -> str:
    """Phones in E.164 (machine-readable), e-mails and handles as stored."""
    return ", ".join(
        point.value if kind == ContactPointKind.PHONE else point.display
        for point in record.points.all()
        if point.kind == kind
    )


def _safe(value: object) -> str:
    """Neutralise spreadsheet formulas (CSV injection): a cell may not start with = + - @."""
    text = "" if value is None else str(value)
    if _PLAIN_NUMBER.fullmatch(text):
        return text  # a phone like +79123456789 cannot carry a formula
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _stream(header: list[str], rows: Iterable[Sequence[object]]) -> Iterator[str]:
    writer = csv.writer(_Echo())
    yield "\ufeff"  # Excel opens UTF-8 CSV correctly only with a byte-order mark
    yield writer.writerow(header)
    for row in rows:
        yield writer.writerow([_safe(value) for value in row])


def _response(filename: str, stream: Iterator[str]) -> StreamingHttpResponse:
    response = StreamingHttpResponse(stream, content_type="text/csv; charset=utf-8")
    stamp = timezone.localtime().strftime("%Y-%m-%d")
    response["Content-Disposition"] = f'attachment; filename="{filename}-{stamp}.csv"'
    return response


def _audit(request: SignedInRequest, what: str, rows: int, filters: CustomerFilters) -> None:
    """Record the export in the audit log: who, from where, which list, filters, row count."""
    security_event_record(
        kind=SecurityEvent.Kind.EXPORT,
        request=request,
        actor=request.user,
        data={
            "what": what,
            "rows": rows,
            "filters": {key: value for key, value in asdict(filters).items() if value},
        },
    )


@login_required
def contact_export(request: SignedInRequest) -> StreamingHttpResponse:
    filters = CustomerFilters.from_params(request.GET)
    contacts = (
        contact_queryset(user=request.user, filters=filters)
        .select_related("owner")
        .prefetch_related(
            Prefetch("points", queryset=ContactPoint.objects.order_by("position", "id")),
            "tags",
            Prefetch("employments", queryset=Employment.objects.select_related("company")),
        )
        .order_by("last_name", "first_name", "id")
    )
    header = [
        _("ID"),
        _("Last name"),
        _("First name"),
        _("Patronymic"),
        _("Client type"),
        _("Phones"),
        _("E-mails"),
        _("Companies"),
        _("Tags"),
        _("Responsible"),
        _("Source"),
        _("Birthday"),
        _("Created"),
    ]
    rows = (
        [
            c.pk,
            c.last_name,
            c.first_name,
            c.middle_name,
            c.get_client_type_display(),
            _points(c, ContactPointKind.PHONE),
            _points(c, ContactPointKind.EMAIL),
            "; ".join(e.company.display_name for e in c.employments.all()),
            ", ".join(t.name for t in c.tags.all()),
            str(c.owner),
            c.get_source_display(),
            c.birthday or "",
            timezone.localtime(c.created_at).strftime("%Y-%m-%d %H:%M"),
        ]
        for c in contacts.iterator(chunk_size=CHUNK)
    )
    _audit(request, "contacts", contacts.count(), filters)
    return _response("contacts", _stream([str(h) for h in header], rows))


@login_required
def company_export(request: SignedInRequest) -> StreamingHttpResponse:
    filters = CustomerFilters.from_params(request.GET)
    companies = (
        company_queryset(user=request.user, filters=filters)
        .select_related("owner")
        .prefetch_related(
            Prefetch("points", queryset=ContactPoint.objects.order_by("position", "id")), "tags"
        )
        .order_by("legal_name", "id")
    )
    header = [
        _("ID"),
        _("Legal name"),
        _("Short name"),
        _("Legal form"),
        _("Client type"),
        _("ИНН"),
        _("КПП"),
        _("ОГРН"),
        _("Phones"),
        _("E-mails"),
        _("Website"),
        _("Industry"),
        _("Tags"),
        _("Responsible"),
        _("Created"),
    ]
    rows = (
        [
            c.pk,
            c.legal_name,
            c.short_name,
            c.legal_form,
            c.get_kind_display(),
            c.inn,
            c.kpp,
            c.ogrn,
            _points(c, ContactPointKind.PHONE),
            _points(c, ContactPointKind.EMAIL),
            c.website,
            c.industry,
            ", ".join(t.name for t in c.tags.all()),
            str(c.owner),
            timezone.localtime(c.created_at).strftime("%Y-%m-%d %H:%M"),
        ]
        for c in companies.iterator(chunk_size=CHUNK)
    )
    _audit(request, "companies", companies.count(), filters)
    return _response("companies", _stream([str(h) for h in header], rows))
