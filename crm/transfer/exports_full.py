"""The full export of the base: one ZIP with a CSV file per table, the attached files, a
description of the tables and their relations (``export.json``) and a manifest with counts
and checksums (``manifest.json``). The format is described in ``docs/architecture.md``
("Exporting"), for the import that reads it back into an empty installation.

The tables are the registry's ``BaseTable`` contributions, so this module knows no domain
model: each table's concrete fields are read from the model's metadata, its rows by
ascending id, a chunk at a time, as tuples (never model instances), and written straight
into the ZIP entry, so memory stays bounded whatever the size of the base.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import IO, Any

from django.contrib.contenttypes.models import ContentType
from django.core.files.storage import default_storage
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.core.records import BaseTable, registry

FORMAT = "crm-export"
VERSION = 1
CHUNK = 5000
FILES = "files/"


@dataclass(frozen=True)
class Column:
    """A column of a table file: its name, what it holds and where it points."""

    name: str
    attname: str
    type: str
    null: bool
    references: dict[str, Any] | None = None


@dataclass(frozen=True)
class TableFile:
    """One CSV file of the export: a table's rows or a many-to-many field's pairs."""

    name: str
    model: type[models.Model]
    columns: list[Column]
    rows: models.QuerySet[Any]
    description: dict[str, Any]


def _tables_by_model() -> dict[str, str]:
    return {table.model._meta.label_lower: table.name for table in registry.base_tables()}


def _column(field: models.Field[Any, Any], tables: dict[str, str]) -> Column:
    """How one concrete field is written: a foreign key as the id it holds (or, to a content
    type, as ``app_label.model``), anything else as its value."""
    kind = field.get_internal_type()
    if field.is_relation and field.related_model is not None:
        target = field.related_model._meta.label_lower
        if target == "contenttypes.contenttype":
            return Column(field.name, field.attname, "content_type", field.null)
        reference = {"table": tables.get(target), "model": target, "column": "id"}
        return Column(field.attname, field.attname, "id", field.null, reference)
    return Column(field.attname, field.attname, kind, field.null)


def _table_files(table: BaseTable, tables: dict[str, str]) -> Iterator[TableFile]:
    """The file of ``table`` and one per many-to-many field it names."""
    meta = table.model._meta
    fields = [field for field in meta.concrete_fields if field.name not in table.exclude]
    columns = [_column(field, tables) for field in fields]
    description: dict[str, Any] = {"model": meta.label_lower, "primary_key": "id"}
    generic = [column.name for column in columns if column.type == "content_type"]
    for name in generic:
        # A content type and the id beside it name a record of another table (a timeline
        # entry's or a task's subject): ``subject_type`` + ``subject_id``.
        description.setdefault("generic_relations", []).append(
            {"type_column": name, "id_column": name.removesuffix("_type") + "_id"}
        )
    files = [column.name for column in columns if column.type == "FileField"]
    if files:
        description["file_columns"] = files
    yield TableFile(table.name, table.model, columns, table.model._base_manager.all(), description)
    for name in table.many:
        relation = meta.get_field(name)
        assert isinstance(relation, models.ManyToManyField)
        through: type[models.Model] = relation.remote_field.through  # type: ignore[assignment]
        source, target = relation.m2m_field_name(), relation.m2m_reverse_field_name()
        pair = [through._meta.get_field(source), through._meta.get_field(target)]
        assert all(isinstance(field, models.ForeignKey) for field in pair)
        yield TableFile(
            f"{table.name}__{name}",
            through,
            [_column(field, tables) for field in pair],  # type: ignore[arg-type]
            through._base_manager.all(),
            {"many_to_many": {"table": table.name, "field": name}},
        )


def _text(value: object, column: Column, content_types: dict[int, str]) -> object:
    """A value as the file writes it (see the format's description)."""
    if value is None:
        return ""
    if column.type == "content_type":
        return content_types.get(value, "")  # type: ignore[call-overload]
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).isoformat()
    if isinstance(value, (dt.date, dt.time, Decimal)):
        return value.isoformat() if not isinstance(value, Decimal) else str(value)
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return value


class _Entry:
    """A ZIP entry being written, with its checksum and size."""

    def __init__(self, archive: zipfile.ZipFile, name: str) -> None:
        self.name = name
        self.handle = archive.open(name, "w", force_zip64=True)
        self.digest = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes) -> None:
        self.handle.write(data)
        self.digest.update(data)
        self.size += len(data)

    def close(self) -> dict[str, Any]:
        self.handle.close()
        return {"sha256": self.digest.hexdigest(), "bytes": self.size}


def _chunks(rows: models.QuerySet[Any], attnames: list[str]) -> Iterator[list[tuple[Any, ...]]]:
    last = None
    while True:
        page = rows.order_by("pk")
        if last is not None:
            page = page.filter(pk__gt=last)
        chunk = list(page.values_list("pk", *attnames)[:CHUNK])
        if not chunk:
            return
        yield chunk
        last = chunk[-1][0]


def _write_table(
    archive: zipfile.ZipFile,
    table: TableFile,
    content_types: dict[int, str],
    progress: Callable[[int], None],
    attachments: list[str],
) -> dict[str, Any]:
    entry = _Entry(archive, f"{table.name}.csv")
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([column.name for column in table.columns])
    attnames = [column.attname for column in table.columns]
    files = [index for index, column in enumerate(table.columns) if column.type == "FileField"]
    rows = 0
    for chunk in _chunks(table.rows, attnames):
        writer.writerows(
            [
                _text(value, column, content_types)
                for value, column in zip(row[1:], table.columns, strict=True)
            ]
            for row in chunk
        )
        for row in chunk:
            attachments.extend(row[1:][index] for index in files if row[1:][index])
        entry.write(buffer.getvalue().encode("utf-8"))
        buffer.seek(0)
        buffer.truncate()
        rows += len(chunk)
        progress(len(chunk))
    entry.write(buffer.getvalue().encode("utf-8"))
    return {"file": entry.name, "rows": rows, **entry.close()}


def _write_files(archive: zipfile.ZipFile, names: list[str]) -> tuple[dict[str, Any], list[str]]:
    """Copy the attached files under ``files/`` (their storage names kept), in pieces."""
    written: dict[str, Any] = {}
    missing = []
    for name in sorted(set(names)):
        try:
            source = default_storage.open(name, "rb")
        except (FileNotFoundError, OSError):
            missing.append(name)
            continue
        with source:
            entry = _Entry(archive, FILES + name)
            for piece in source.chunks():
                entry.write(piece)
            written[FILES + name] = entry.close()
    return written, missing


def base_total() -> int:
    """The number of rows the full export writes (its progress's total)."""
    tables = _tables_by_model()
    return sum(
        table.rows.count()
        for base in registry.base_tables()
        for table in _table_files(base, tables)
    )


def base_write(target: IO[bytes], *, progress: Callable[[int], None]) -> list[str]:
    """Write the full export to ``target`` (a seekable binary file); ``progress`` gets the
    number of rows written so far. Answers notes for the user (attached files missing from
    the storage, which the manifest lists too)."""
    tables = _tables_by_model()
    content_types = {
        pk: f"{app}.{model}"
        for pk, app, model in ContentType.objects.values_list("pk", "app_label", "model")
    }
    done = 0

    def advance(rows: int) -> None:
        nonlocal done
        done += rows
        progress(done)

    described: list[dict[str, Any]] = []
    checksums: dict[str, Any] = {}
    counts: dict[str, int] = {}
    attachments: list[str] = []
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED, allowZip64=True) as archive:
        for base in registry.base_tables():
            for table in _table_files(base, tables):
                written = _write_table(archive, table, content_types, advance, attachments)
                counts[table.name] = written["rows"]
                checksums[written["file"]] = {
                    "sha256": written["sha256"],
                    "bytes": written["bytes"],
                }
                described.append(
                    {
                        "name": table.name,
                        "file": written["file"],
                        **table.description,
                        "columns": [
                            {
                                "name": column.name,
                                "type": column.type,
                                "null": column.null,
                                **({"references": column.references} if column.references else {}),
                            }
                            for column in table.columns
                        ],
                    }
                )
        files, missing = _write_files(archive, attachments)
        checksums.update(files)
        schema = {
            "format": FORMAT,
            "version": VERSION,
            "tables": described,
            "record_tables": tables,
            "files_folder": FILES,
        }
        manifest = {
            "format": FORMAT,
            "version": VERSION,
            "created_at": timezone.now().astimezone(dt.UTC).isoformat(),
            "counts": counts,
            "files": len(files),
            "missing_files": missing,
            "checksums": checksums,
        }
        archive.writestr("export.json", json.dumps(schema, ensure_ascii=False, indent=2))
        archive.writestr("manifest.json", json.dumps(manifest, ensure_ascii=False, indent=2))
    return [
        _("An attached file is missing from the storage: %(name)s") % {"name": name}
        for name in missing
    ]
