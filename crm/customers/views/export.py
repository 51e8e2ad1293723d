"""CSV export of the contact and company lists, limited to what the user may see."""

from __future__ import annotations

import csv
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass
from operator import attrgetter, methodcaller
from typing import TYPE_CHECKING, Any

from django.contrib.auth.decorators import login_required
from django.db.models import Prefetch
from django.http import StreamingHttpResponse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _lazy

from crm.accounts.http import SignedInRequest
from crm.accounts.models import SecurityEvent
from crm.accounts.services import security_event_record
from crm.customers.choices import ContactPointKind
from crm.customers.kinds import COMPANY, CONTACT, CustomerKind
from crm.customers.models import Company, Contact, ContactPoint, Employment
from crm.customers.selectors import CustomerFilters, customer_queryset

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

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


@dataclass(frozen=True)
class CsvExport:
    """What one kind's CSV holds: its file name, order, related rows and columns."""

    kind: CustomerKind[Any]
    name: str  # the file name's stem and the audit log's "what": "contacts"
    order: tuple[str, ...]
    columns: tuple[tuple[StrOrPromise, Callable[[Any], object]], ...]
    prefetch: tuple[Any, ...] = ()


def _created(record: Contact | Company) -> str:
    return timezone.localtime(record.created_at).strftime("%Y-%m-%d %H:%M")


def _tags(record: Contact | Company) -> str:
    return ", ".join(tag.name for tag in record.tags.all())


CONTACT_EXPORT = CsvExport(
    kind=CONTACT,
    name="contacts",
    order=("last_name", "first_name", "id"),
    prefetch=(Prefetch("employments", queryset=Employment.objects.select_related("company")),),
    columns=(
        (_lazy("ID"), attrgetter("pk")),
        (_lazy("Last name"), attrgetter("last_name")),
        (_lazy("First name"), attrgetter("first_name")),
        (_lazy("Patronymic"), attrgetter("middle_name")),
        (_lazy("Client type"), methodcaller("get_client_type_display")),
        (_lazy("Phones"), lambda c: _points(c, ContactPointKind.PHONE)),
        (_lazy("E-mails"), lambda c: _points(c, ContactPointKind.EMAIL)),
        (
            _lazy("Companies"),
            lambda c: "; ".join(e.company.display_name for e in c.employments.all()),
        ),
        (_lazy("Tags"), _tags),
        (_lazy("Responsible"), lambda c: str(c.owner)),
        (_lazy("Source"), methodcaller("get_source_display")),
        (_lazy("Birthday"), lambda c: c.birthday or ""),
        (_lazy("Created"), _created),
    ),
)

COMPANY_EXPORT = CsvExport(
    kind=COMPANY,
    name="companies",
    order=("legal_name", "id"),
    columns=(
        (_lazy("ID"), attrgetter("pk")),
        (_lazy("Legal name"), attrgetter("legal_name")),
        (_lazy("Short name"), attrgetter("short_name")),
        (_lazy("Legal form"), attrgetter("legal_form")),
        (_lazy("Client type"), methodcaller("get_kind_display")),
        (_lazy("ИНН"), attrgetter("inn")),
        (_lazy("КПП"), attrgetter("kpp")),
        (_lazy("ОГРН"), attrgetter("ogrn")),
        (_lazy("Phones"), lambda c: _points(c, ContactPointKind.PHONE)),
        (_lazy("E-mails"), lambda c: _points(c, ContactPointKind.EMAIL)),
        (_lazy("Website"), attrgetter("website")),
        (_lazy("Industry"), attrgetter("industry")),
        (_lazy("Tags"), _tags),
        (_lazy("Responsible"), lambda c: str(c.owner)),
        (_lazy("Created"), _created),
    ),
)


@login_required
def customer_export(request: SignedInRequest, export: CsvExport) -> StreamingHttpResponse:
    """The records of one kind the user may see, under the list's filters, as CSV; the
    export is written to the audit log."""
    filters = CustomerFilters.from_params(request.GET)
    records = (
        customer_queryset(kind=export.kind, user=request.user, filters=filters)
        .select_related("owner")
        .prefetch_related(
            Prefetch("points", queryset=ContactPoint.objects.order_by("position", "id")),
            "tags",
            *export.prefetch,
        )
        .order_by(*export.order)
    )
    rows = (
        [value(record) for _header, value in export.columns]
        for record in records.iterator(chunk_size=CHUNK)
    )
    _audit(request, export.name, records.count(), filters)
    header = [str(header) for header, _value in export.columns]
    return _response(export.name, _stream(header, rows))
