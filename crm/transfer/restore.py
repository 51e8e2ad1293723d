"""Restoring the full export of the base (``exports_full``: ``crm-export`` version 1) into
an empty installation: ``manage.py import_base PATH``.

Three steps, the first two before anything is written:

1. **Check the archive** (``restore_archive.Archive``): a ZIP with ``manifest.json`` and ``export.json``
   of this format and version; every entry listed in the manifest's checksums and every
   checksum's entry present, of the size the manifest says (read no further than it, so a
   zip bomb expands no more than declared), at most ``CRM_RESTORE_MAX_MB`` in all, no large
   entry packed more than ``MAX_PACKING_RATIO`` times, each one's SHA-256 as listed; the
   tables of ``export.json`` are the registry's ``BaseTable`` contributions (or their
   many-to-many fields) with known columns; the attached files' names hold no path
   traversal. A refusal names the file (``RestoreRefused``).
2. **Check the installation**: no row in a table of a record kind (contacts, companies,
   deals, leads, tasks): a base is restored only into an empty one, there is no ``--force``.
3. **Load, in one transaction** (``_Loader``), in the order of ``export.json``: each
   table's rows keep their ids (``INSERT … ON CONFLICT (id) DO UPDATE``: a row this
   installation started with, a default pipeline, takes the file's values; the rows of
   those tables the file does not hold are removed first, so the tables end as the file's);
   a content type is named ``app_label.model`` and mapped to this installation's id; a
   foreign key must name a row of the file (or, for a table the export leaves out, a row
   here, else it is left empty with a note); a nullable reference to the same or a later
   table is set in a second pass; then the many-to-many pairs, each table's ``rebuild`` of
   what the export leaves out (search texts, name words, blocking keys, the users'
   unusable passwords), PostgreSQL's sequences, and the attached files into the default
   storage. Any bad cell refuses the whole restore naming the table, row and column, and
   nothing stays: one transaction rather than resumable batches, because a half-restored
   base is neither the old nor the new one and could not be restored again (it is no
   longer empty); the files written are removed again when the transaction fails.

This module knows no domain model: the tables, their order and what each rebuilds come
from the registry and ``export.json``.
"""

from __future__ import annotations

import csv
import hashlib
import json
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import IO, Any

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.core.files.base import File
from django.core.files.storage import default_storage
from django.core.management.color import no_style
from django.db import DatabaseError, connection, models, transaction
from django.utils.translation import gettext as _

from crm.core.records import registry
from crm.transfer.exports_full import FILES
from crm.transfer.restore_archive import (
    MAX_CELL_CHARS,
    Archive,
    Column,
    RestoreRefused,
    Table,
    safe_file_name,
)

BATCH = 1000
_AS_IS = (str, int, bool)
"""Values both databases' drivers take as they are (text, numbers, yes/no, ids): the
field's ``get_db_prep_save`` is only asked about the others (moments, dates, decimals,
JSON)."""


@dataclass
class RestoreResult:
    """What a restore wrote: rows per table, files, and notes for the administrator."""

    counts: dict[str, int] = field(default_factory=dict)
    files: int = 0
    notes: list[str] = field(default_factory=list)


# --- 2. the installation --------------------------------------------------------------------


def _check_empty(tables: list[Table]) -> None:
    for table in tables:
        kind = registry.kind_for(table.model)
        if kind is not None and table.model._base_manager.exists():
            raise RestoreRefused(
                _(
                    "This installation already holds %(what)s: a base is restored only into an "
                    "empty installation."
                )
                % {"what": str(kind.plural_label).lower()}
            )


# --- 3. loading -----------------------------------------------------------------------------


def _quote(name: str | None) -> str:
    assert name is not None
    return str(connection.ops.quote_name(name))


def _refused(table: str, row: int, column: str, message: str) -> RestoreRefused:
    return RestoreRefused(
        _("Table %(table)s, row %(row)s, column %(column)s: %(message)s")
        % {"table": table, "row": row, "column": column, "message": message}
    )


class _Loader:
    def __init__(self, archive: Archive, progress: Callable[[int, int], None]) -> None:
        self.archive = archive
        self.progress = progress
        self.ids: dict[str, set[int]] = {}
        self.outside: dict[type[models.Model], set[int]] = {}
        self.content_types = {
            f"{app}.{model}": pk
            for pk, app, model in ContentType.objects.values_list("pk", "app_label", "model")
        }
        self.content_labels = {pk: label for label, pk in self.content_types.items()}
        self.later: list[tuple[Table, int, Column, int, int]] = []
        """Second pass: (table, row number, column, id, value) of references forward."""
        self.pending: list[tuple[str, int, str, str, int]] = []
        """Forward references to check at the end: (table, row, column, target, id)."""
        self.result = RestoreResult()
        self.done = 0
        counts = archive.manifest.get("counts") or {}
        self.total = sum(int(value) for value in counts.values() if isinstance(value, int))
        self.written: dict[str, int] = {}
        self.defaults: list[Any] = []
        self.emptied: dict[str, int] = {}
        """Per table and column, the references to a row here that is not: left empty."""

    def run(self) -> RestoreResult:
        loaded: list[str] = []
        self._clear()
        for table in self.archive.tables:
            self._load(table, set(loaded))
            if not table.pairs:
                loaded.append(table.name)
        self._second_pass()
        for table_name, row, column_name, target, value in self.pending:
            if value not in self.ids.get(target, set()):
                raise _refused(
                    table_name,
                    row,
                    column_name,
                    _("no row %(id)s in %(target)s.") % {"id": value, "target": target},
                )
        self._reset_sequences()
        for key, count in sorted(self.emptied.items()):
            self.result.notes.append(
                _(
                    "%(column)s: %(count)d rows named a row of a table the export leaves out that "
                    "this installation does not have; left empty."
                )
                % {"column": key, "count": count}
            )
        for base in registry.base_tables():
            if base.rebuild is not None and base.name in self.ids:
                self.result.notes.extend(base.rebuild())
        return self.result

    def _clear(self) -> None:
        """Remove the rows this installation holds in the file's tables that the file does
        not hold (default pipelines and stages it started with), the latest tables first;
        the pairs of the many-to-many tables go, the file's come in."""
        for table in reversed(self.archive.tables):
            manager = table.model._base_manager
            if table.pairs:
                manager.all().delete()
                continue
            if not manager.exists():
                continue
            keep = {int(row[0]) for row in self._ids_of(table)}
            here = list(manager.values_list("pk", flat=True))
            gone = [pk for pk in here if pk not in keep]
            if here:
                self.result.notes.append(
                    _(
                        "%(table)s: %(replaced)d rows this installation had were replaced by "
                        "the export's rows of the same id, %(removed)d removed."
                    )
                    % {
                        "table": table.name,
                        "replaced": len(here) - len(gone),
                        "removed": len(gone),
                    }
                )
            for start in range(0, len(gone), BATCH):
                try:
                    manager.filter(pk__in=gone[start : start + BATCH]).delete()
                except (models.ProtectedError, models.RestrictedError) as error:
                    raise RestoreRefused(
                        _(
                            "The rows of %(table)s this installation holds cannot be replaced: "
                            "%(error)s"
                        )
                        % {"table": table.name, "error": error.args[0]}
                    ) from None

    def _ids_of(self, table: Table) -> Iterator[list[str]]:
        position = [c.field.attname for c in table.columns].index(table.model._meta.pk.attname)
        for number, row in self.archive.rows(table):
            if len(row) != len(table.columns) or not row[position].isdigit():
                raise _refused(table.name, number, "id", _("not a row of the table."))
            yield [row[position]]

    def _load(self, table: Table, loaded: set[str]) -> None:
        ids = self.ids.setdefault(table.name, set()) if not table.pairs else set()
        statement = self._statement(table)
        batch: list[list[Any]] = []
        rows = 0
        for number, cells in self.archive.rows(table):
            if len(cells) != len(table.columns):
                raise RestoreRefused(
                    _(
                        "Table %(table)s, row %(row)s: %(count)s cells where the header has "
                        "%(columns)s."
                    )
                    % {
                        "table": table.name,
                        "row": number,
                        "count": len(cells),
                        "columns": len(table.columns),
                    }
                )
            values = self._row(table, number, cells, loaded, ids)
            batch.append(values)
            if len(batch) >= BATCH:
                self._write(table, statement, batch)
                rows += len(batch)
                batch = []
        if batch:
            self._write(table, statement, batch)
            rows += len(batch)
        self.result.counts[table.name] = rows

    def _row(
        self, table: Table, number: int, cells: list[str], loaded: set[str], ids: set[int]
    ) -> list[Any]:
        values: list[Any] = []
        python: list[Any] = []
        for column, text in zip(table.columns, cells, strict=True):
            value = self._value(table, number, column, text)
            python.append(value)
            if column.field.primary_key:
                if value in ids:
                    raise _refused(table.name, number, column.name, _("the id is there twice."))
                ids.add(value)
            values.append(value)
        for position, column in enumerate(table.columns):
            value = python[position]
            if value is None or column.target is None:
                continue
            if column.target in loaded:
                if value not in self.ids[column.target]:
                    raise _refused(
                        table.name,
                        number,
                        column.name,
                        _("no row %(id)s in %(target)s.") % {"id": value, "target": column.target},
                    )
            elif column.field.null and not table.pairs:
                self.later.append((table, number, column, python[self._pk(table)], value))
                values[position] = None
            else:
                self.pending.append((table.name, number, column.name, column.target, value))
        for position, column in enumerate(table.columns):
            if column.outside is not None and python[position] is not None:
                values[position] = self._outside(table, number, column, python[position])
        for type_index, id_index in table.generic:
            self._check_generic(table, number, python, type_index, id_index, loaded)
        return [
            self._prepared(column, value)
            for column, value in zip(table.columns, values, strict=True)
        ]

    def _outside(self, table: Table, number: int, column: Column, value: int) -> int | None:
        """A reference to a table the export leaves out (a web form): kept when this
        installation has that row, else left empty with a note, or refused when needed."""
        assert column.outside is not None
        present = self.outside.get(column.outside)
        if present is None:
            present = set(column.outside._base_manager.values_list("pk", flat=True))
            self.outside[column.outside] = present
        if value in present:
            return value
        if not column.field.null:
            raise _refused(
                table.name,
                number,
                column.name,
                _("no row %(id)s in %(target)s.")
                % {"id": value, "target": column.outside._meta.label_lower},
            )
        key = f"{table.name}.{column.name}"
        self.emptied[key] = self.emptied.get(key, 0) + 1
        return None

    @staticmethod
    def _pk(table: Table) -> int:
        return [column.field.primary_key for column in table.columns].index(True)

    def _check_generic(
        self,
        table: Table,
        number: int,
        python: list[Any],
        type_index: int,
        id_index: int,
        loaded: set[str],
    ) -> None:
        type_id, record_id = python[type_index], python[id_index]
        if type_id is None or record_id is None:
            return
        target = self.archive.record_tables.get(self.content_labels.get(type_id, ""))
        if target is None:
            return
        column = table.columns[id_index].name
        if target in loaded:
            if record_id not in self.ids[target]:
                raise _refused(
                    table.name,
                    number,
                    column,
                    _("no row %(id)s in %(target)s.") % {"id": record_id, "target": target},
                )
        else:
            self.pending.append((table.name, number, column, target, record_id))

    def _value(self, table: Table, number: int, column: Column, text: str) -> Any:
        """A cell as the value of its field, or a refusal naming it."""
        model_field = column.field
        if column.content_type:
            if text == "" and model_field.null:
                return None
            if text not in self.content_types:
                raise _refused(
                    table.name,
                    number,
                    column.name,
                    _("unknown kind of record %(label)s.") % {"label": text[:100]},
                )
            return self.content_types[text]
        if text == "":
            if model_field.null:
                return None
            if model_field.empty_strings_allowed and not model_field.is_relation:
                return ""
            raise _refused(table.name, number, column.name, _("a value is needed."))
        try:
            return self._parse(model_field, text)
        except (ValidationError, ValueError, TypeError, OverflowError) as error:
            message = "; ".join(error.messages) if isinstance(error, ValidationError) else ""
            raise _refused(
                table.name,
                number,
                column.name,
                _("%(value)s is not a valid value. %(message)s")
                % {"value": text[:100], "message": message},
            ) from None

    def _parse(self, model_field: models.Field[Any, Any], text: str) -> Any:
        internal = model_field.get_internal_type()
        if isinstance(model_field, models.BooleanField):
            if text not in ("true", "false"):
                raise ValueError(text)
            return text == "true"
        if isinstance(model_field, models.JSONField):
            return json.loads(text)
        if model_field.is_relation:
            return int(text)
        value = model_field.to_python(text)
        if internal in connection.ops.integer_field_ranges:
            low, high = connection.ops.integer_field_range(internal)
            if (low is not None and value < low) or (high is not None and value > high):
                raise ValueError(text)
        max_length = getattr(model_field, "max_length", None)
        if isinstance(value, str) and max_length and len(value) > max_length:
            raise ValidationError(_("longer than %(max)s characters.") % {"max": max_length})
        if isinstance(model_field, models.FileField) and not safe_file_name(value):
            raise ValidationError(_("a file name outside the files folder."))
        return value

    @staticmethod
    def _prepared(column: Column, value: Any) -> Any:
        if value is None or column.field.is_relation:
            return value
        if type(value) in _AS_IS and not isinstance(column.field, models.JSONField):
            return value
        return column.field.get_db_prep_save(value, connection)

    def _statement(self, table: Table) -> str:
        quote = _quote
        names = [quote(column.field.column) for column in table.columns]
        missing = [
            concrete
            for concrete in table.model._meta.concrete_fields
            if concrete.column not in {column.field.column for column in table.columns}
            and not (table.pairs and concrete.primary_key)
        ]
        self.defaults = [
            concrete.get_db_prep_save(concrete.get_default(), connection) for concrete in missing
        ]
        names += [quote(concrete.column) for concrete in missing]
        places = ", ".join(["%s"] * len(names))
        target = quote(table.model._meta.db_table)
        sql = f"INSERT INTO {target} ({', '.join(names)}) VALUES ({places})"  # noqa: S608
        if table.pairs:
            return sql + " ON CONFLICT DO NOTHING"
        pk = quote(table.model._meta.pk.column)
        updates = ", ".join(f"{name} = EXCLUDED.{name}" for name in names if name != pk)
        if not updates:
            return sql + f" ON CONFLICT ({pk}) DO NOTHING"
        return sql + f" ON CONFLICT ({pk}) DO UPDATE SET {updates}"

    def _write(self, table: Table, statement: str, batch: list[list[Any]]) -> None:
        defaults = self.defaults
        try:
            with connection.cursor() as cursor:
                cursor.executemany(statement, [row + defaults for row in batch])
        except DatabaseError as error:
            raise RestoreRefused(
                _(
                    "Table %(table)s: the database refused a row of the %(count)s after row "
                    "%(row)s: %(error)s"
                )
                % {
                    "table": table.name,
                    "count": len(batch),
                    "row": self.written.get(table.name, 0) + 1,
                    "error": str(error).strip()[:300],
                }
            ) from None
        self.written[table.name] = self.written.get(table.name, 0) + len(batch)
        self.done += len(batch)
        self.progress(self.done, self.total)

    def _second_pass(self) -> None:
        quote = _quote
        for table, number, column, pk, value in self.later:
            if column.target is None or value not in self.ids.get(column.target, set()):
                raise _refused(
                    table.name,
                    number,
                    column.name,
                    _("no row %(id)s in %(target)s.") % {"id": value, "target": column.target},
                )
            target, name = quote(table.model._meta.db_table), quote(column.field.column)
            pk_name = quote(table.model._meta.pk.column)
            sql = f"UPDATE {target} SET {name} = %s WHERE {pk_name} = %s"  # noqa: S608
            with connection.cursor() as cursor:
                cursor.execute(sql, [value, pk])

    def _reset_sequences(self) -> None:
        models_loaded = [table.model for table in self.archive.tables]
        statements = connection.ops.sequence_reset_sql(no_style(), models_loaded)
        if statements:
            with connection.cursor() as cursor:
                for sql in statements:
                    cursor.execute(sql)


def _write_files(archive: Archive, written: list[str]) -> None:
    """Copy the attached files into the default storage under their names, adding each
    name written to ``written`` (to remove again if the transaction fails). A file already
    there with the same content is kept; with another content the restore is refused."""
    for entry in archive.files:
        name = entry.removeprefix(FILES)
        if default_storage.exists(name):
            digest = hashlib.sha256()
            with default_storage.open(name, "rb") as present:
                for piece in present.chunks():
                    digest.update(piece)
            if digest.hexdigest() == archive.checksums[entry]["sha256"]:
                continue
            raise RestoreRefused(
                _("The storage already holds another file named %(name)s.") % {"name": name}
            )
        with archive.zip.open(entry) as source:
            saved = default_storage.save(name, File(source, name=name))
        written.append(saved)
        if saved != name:
            raise RestoreRefused(
                _("The storage cannot keep the name of the attached file %(name)s.")
                % {"name": name}
            )


def base_restore(
    source: str | IO[bytes], *, progress: Callable[[int, int], None] | None = None
) -> RestoreResult:
    """Restore the full export in ``source`` (a path or a binary file) into this empty
    installation; ``progress(rows_done, rows_total)`` is called after every batch.
    Raises ``RestoreRefused`` (nothing written) for an archive that is not a whole, intact
    export this installation reads, or an installation that is not empty. See the module's
    docstring for the steps; one transaction."""
    try:
        archive = zipfile.ZipFile(source)
    except (zipfile.BadZipFile, OSError, ValueError):
        raise RestoreRefused(_("This is not a ZIP file, or it is damaged.")) from None
    csv.field_size_limit(max(csv.field_size_limit(), MAX_CELL_CHARS))
    with archive:
        checked = Archive(archive)
        written: list[str] = []
        try:
            with transaction.atomic():
                _check_empty(checked.tables)
                result = _Loader(checked, progress or (lambda done, total: None)).run()
                _write_files(checked, written)
                result.files = len(checked.files)
        except BaseException:
            for name in written:
                default_storage.delete(name)
            raise
    return result
