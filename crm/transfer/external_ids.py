"""External ids: the id a record has in the system a file came from, stored by the import
that created the record, so that importing the same file again updates its records
instead of creating them twice (``Importer.external_ids``: contacts, companies, deals).

The field ``external_id`` is offered to the kinds that take it; ``external_rows`` gives a
batch's rows the live record their id names (``ImportRow.record_id``: one query for the
ids, one for the records), which the kind's importer takes as the row's match under the
job's duplicate policy; ``external_ids_store`` keeps the ids of the records created.
"""

from __future__ import annotations

from dataclasses import replace

from django.utils.translation import gettext_lazy

from crm.core.records import ImportField, ImportOutcome, ImportRow, registry
from crm.transfer.models import ExternalId, ImportJob

EXTERNAL_ID = "external_id"
MAX_LENGTH = 200


def external_id_field() -> ImportField:
    """The import field of the external id."""
    return ImportField(
        EXTERNAL_ID,
        gettext_lazy("External ID"),
        help=gettext_lazy(
            "The record's id in the system the file comes from: importing the same id again "
            "updates the record instead of creating another"
        ),
    )


def _value(row: ImportRow) -> str:
    cells = row.values.get(EXTERNAL_ID) or []
    return cells[0].strip()[:MAX_LENGTH] if cells else ""


def external_rows(kind: str, rows: list[ImportRow]) -> list[ImportRow]:
    """``rows`` with ``record_id`` set where an earlier import stored their external id
    for a record of ``kind`` that is still live."""
    values = {_value(row) for row in rows} - {""}
    if not values:
        return rows
    stored = dict(
        ExternalId.objects.filter(kind=kind, value__in=values).values_list("value", "record_id")
    )
    if not stored:
        return rows
    record_kind = registry.kind(kind)
    live_rows = (
        record_kind.rows() if record_kind.rows is not None else record_kind.model._default_manager
    )
    live = set(live_rows.filter(pk__in=stored.values()).values_list("pk", flat=True))
    return [
        replace(row, record_id=stored[value])
        if (value := _value(row)) in stored and stored[value] in live
        else row
        for row in rows
    ]


def external_ids_store(
    job: ImportJob, rows: list[ImportRow], outcomes: list[ImportOutcome]
) -> None:
    """Keep the external ids of the records of the job's kind that ``outcomes`` created
    (replacing a stored id whose record is gone)."""
    numbers = {row.number: _value(row) for row in rows if _value(row)}
    created = {
        numbers[outcome.number]: outcome.record_id
        for outcome in outcomes
        if outcome.action == "created"
        and outcome.record_id is not None
        and outcome.kind in ("", job.kind)
        and outcome.number in numbers
    }
    if not created:
        return
    ExternalId.objects.filter(kind=job.kind, value__in=created).delete()
    ExternalId.objects.bulk_create(
        ExternalId(kind=job.kind, value=value, record_id=record_id, job_id=job.pk)
        for value, record_id in created.items()
    )
