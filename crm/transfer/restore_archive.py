"""Reading and checking the ZIP of a full export of the base before a restore
(``crm.transfer.restore``): format and version, every checksum of the manifest, sizes and
packing (no zip bomb), the tables of ``export.json`` against the registry's ``BaseTable``
contributions and their columns against the models, the attached files' names (no path
traversal). A refusal (``RestoreRefused``) names the file; nothing is written here.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import posixpath
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import models
from django.utils.translation import gettext as _

from crm.core.records import BaseTable, registry
from crm.transfer.exports_full import FILES, FORMAT, VERSION

MANIFEST = "manifest.json"
SCHEMA = "export.json"
MAX_DESCRIPTION_BYTES = 64 * 1024 * 1024
MAX_PACKING_RATIO = 500
_RATIO_CHECKED_FROM = 1024 * 1024
MAX_CELL_CHARS = 16 * 1024 * 1024
_READ = 1024 * 1024


class RestoreRefused(Exception):
    """The archive or this installation cannot take the restore; ``message`` says why,
    naming the file, table, row and column. Nothing was written."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass
class Column:
    name: str
    field: models.Field[Any, Any]
    content_type: bool = False
    target: str | None = None
    """The table of the file a foreign key points to."""
    outside: type[models.Model] | None = None
    """The model a foreign key points to when the export leaves its table out."""


@dataclass
class Table:
    name: str
    file: str
    model: type[models.Model]
    columns: list[Column]
    base: BaseTable
    pairs: bool = False
    generic: list[tuple[int, int]] = field(default_factory=list)
    """(type column, id column) indexes of the generic relations."""


def _limit_bytes() -> int:
    return int(settings.CRM_RESTORE_MAX_MB) * 1024 * 1024


def safe_file_name(name: str) -> bool:
    """Whether ``name`` is a relative storage name that stays inside the storage: no
    absolute path, drive, backslash, empty, ``.`` or ``..`` part, or control character."""
    if not name or name.startswith("/") or "\\" in name or ":" in name.split("/", 1)[0]:
        return False
    if any(ord(char) < 32 for char in name):
        return False
    parts = name.split("/")
    return all(part not in ("", ".", "..") for part in parts) and posixpath.normpath(name) == name


class Archive:
    """A checked archive: its manifest, its tables as this installation's models."""

    def __init__(self, archive: zipfile.ZipFile) -> None:
        self.zip = archive
        self.entries = {info.filename: info for info in archive.infolist()}
        self.manifest = self._description(MANIFEST)
        self._check_format(self.manifest, MANIFEST)
        self.schema = self._description(SCHEMA)
        self._check_format(self.schema, SCHEMA)
        self.checksums: dict[str, dict[str, Any]] = self._checksums()
        self.tables = self._tables()
        self.record_tables: dict[str, str] = self._record_tables()
        self.files = sorted(name for name in self.checksums if name.startswith(FILES))
        self._check_file_names()

    def _description(self, name: str) -> dict[str, Any]:
        info = self.entries.get(name)
        if info is None:
            raise RestoreRefused(
                _("%(name)s is missing: this is not a full export of the base.") % {"name": name}
            )
        if info.file_size > MAX_DESCRIPTION_BYTES:
            raise RestoreRefused(_("%(name)s is too large.") % {"name": name})
        try:
            data = json.loads(self.zip.read(name).decode("utf-8"))
        except (ValueError, zipfile.BadZipFile, OSError):
            raise RestoreRefused(_("%(name)s cannot be read.") % {"name": name}) from None
        if not isinstance(data, dict):
            raise RestoreRefused(_("%(name)s cannot be read.") % {"name": name})
        return data

    @staticmethod
    def _check_format(data: dict[str, Any], name: str) -> None:
        if data.get("format") != FORMAT:
            raise RestoreRefused(
                _("%(name)s is not of a full export of the base (format %(format)s).")
                % {"name": name, "format": FORMAT}
            )
        if data.get("version") != VERSION:
            raise RestoreRefused(
                _("%(name)s is of version %(version)s; this installation reads version %(ours)s.")
                % {"name": name, "version": data.get("version"), "ours": VERSION}
            )

    def _checksums(self) -> dict[str, dict[str, Any]]:
        checksums = self.manifest.get("checksums")
        if not isinstance(checksums, dict) or not all(
            isinstance(value, dict)
            and isinstance(value.get("bytes"), int)
            and isinstance(value.get("sha256"), str)
            for value in checksums.values()
        ):
            raise RestoreRefused(_("manifest.json lists no checksums."))
        for name in self.entries:
            if name not in checksums and name not in (MANIFEST, SCHEMA):
                raise RestoreRefused(
                    _("%(name)s is in the archive but not in its manifest.") % {"name": name}
                )
        total = 0
        for name, expected in checksums.items():
            info = self.entries.get(name)
            if info is None:
                raise RestoreRefused(
                    _("%(name)s is missing from the archive (is it cut short?).") % {"name": name}
                )
            if info.file_size != expected["bytes"]:
                raise RestoreRefused(
                    _("%(name)s is not of the size the manifest gives.") % {"name": name}
                )
            total += info.file_size
            if total > _limit_bytes():
                raise RestoreRefused(
                    _("The archive unpacks to more than %(mb)s MB (CRM_RESTORE_MAX_MB).")
                    % {"mb": _limit_bytes() // (1024 * 1024)}
                )
            if info.file_size > _RATIO_CHECKED_FROM and info.file_size > MAX_PACKING_RATIO * max(
                info.compress_size, 1
            ):
                raise RestoreRefused(
                    _("%(name)s is packed too tightly to be a real file (a zip bomb?).")
                    % {"name": name}
                )
        for name, expected in checksums.items():
            if self._sha256(name) != expected["sha256"]:
                raise RestoreRefused(
                    _(
                        "The checksum of %(name)s does not match the manifest: the file was "
                        "changed or damaged."
                    )
                    % {"name": name}
                )
        return checksums

    def _sha256(self, name: str) -> str:
        digest = hashlib.sha256()
        left = self.entries[name].file_size
        try:
            with self.zip.open(name) as handle:
                while piece := handle.read(min(_READ, left + 1)):
                    left -= len(piece)
                    if left < 0:
                        break
                    digest.update(piece)
        except (zipfile.BadZipFile, OSError, EOFError, ValueError):
            raise RestoreRefused(_("%(name)s is damaged.") % {"name": name}) from None
        return digest.hexdigest()

    def _tables(self) -> list[Table]:
        described = self.schema.get("tables")
        if not isinstance(described, list):
            raise RestoreRefused(_("export.json describes no tables."))
        bases = {base.name: base for base in registry.base_tables()}
        tables: list[Table] = []
        for item in described:
            tables.append(self._table(item, bases))
        return tables

    def _table(self, item: Any, bases: dict[str, BaseTable]) -> Table:
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            raise RestoreRefused(_("export.json describes a table without a name."))
        name = item["name"]
        owner, _sep, many = name.partition("__")
        base = bases.get(owner)
        if base is None or (many and many not in base.many):
            raise RestoreRefused(
                _("The table %(table)s is unknown to this installation.") % {"table": name}
            )
        file = item.get("file")
        if file != f"{name}.csv" or file not in self.checksums:
            raise RestoreRefused(_("The file of the table %(table)s is missing.") % {"table": name})
        model: type[models.Model] = base.model
        if many:
            relation = model._meta.get_field(many)
            model = relation.remote_field.through  # type: ignore[union-attr]
        elif item.get("model") != model._meta.label_lower:
            raise RestoreRefused(
                _("The table %(table)s holds %(model)s, not %(ours)s.")
                % {"table": name, "model": item.get("model"), "ours": model._meta.label_lower}
            )
        columns = self._columns(name, item.get("columns"), model, base, pairs=bool(many))
        table = Table(name, file, model, columns, base, pairs=bool(many))
        index = {column.name: position for position, column in enumerate(columns)}
        for relation in item.get("generic_relations") or []:
            type_column, id_column = relation.get("type_column"), relation.get("id_column")
            if type_column in index and id_column in index:
                table.generic.append((index[type_column], index[id_column]))
        return table

    def _columns(
        self, table: str, described: Any, model: type[models.Model], base: BaseTable, pairs: bool
    ) -> list[Column]:
        if not isinstance(described, list) or not described:
            raise RestoreRefused(_("The table %(table)s has no columns.") % {"table": table})
        fields: dict[str, models.Field[Any, Any]] = {}
        for concrete in model._meta.concrete_fields:
            if pairs or concrete.name not in base.exclude:
                fields[concrete.attname] = concrete
                fields.setdefault(concrete.name, concrete)
        # A key to a table this file does not hold (an older export's) is checked against
        # the rows here, like a key to a table no export holds.
        in_file = {item.get("name") for item in self.schema["tables"] if isinstance(item, dict)}
        tables = {
            base.model._meta.label_lower: base.name
            for base in registry.base_tables()
            if base.name in in_file
        }
        columns = []
        for item in described:
            name = item.get("name") if isinstance(item, dict) else None
            found = fields.get(name) if isinstance(name, str) else None
            if found is None:
                raise RestoreRefused(
                    _(
                        "The table %(table)s has a column this installation does not know: "
                        "%(column)s."
                    )
                    % {"table": table, "column": name}
                )
            column = Column(str(name), found)
            if found.is_relation and found.related_model is not None:
                target = found.related_model._meta.label_lower
                if target == "contenttypes.contenttype":
                    column.content_type = True
                elif target in tables:
                    column.target = tables[target]
                else:
                    column.outside = found.related_model
            columns.append(column)
        if not pairs and model._meta.pk.attname not in [c.field.attname for c in columns]:
            raise RestoreRefused(_("The table %(table)s has no id column.") % {"table": table})
        return columns

    def _record_tables(self) -> dict[str, str]:
        described = self.schema.get("record_tables") or {}
        return {str(key): str(value) for key, value in described.items()}

    def _check_file_names(self) -> None:
        for name in self.files:
            if not safe_file_name(name.removeprefix(FILES)):
                raise RestoreRefused(
                    _("The attached file %(name)s has a name outside the files folder.")
                    % {"name": name}
                )

    def rows(self, table: Table) -> Iterator[tuple[int, list[str]]]:
        """The rows of ``table``'s file with their numbers (the header is row 1)."""
        with self.zip.open(table.file) as raw:
            text = io.TextIOWrapper(raw, encoding="utf-8", newline="")
            reader = csv.reader(text, strict=True)
            number = 1
            try:
                header = next(reader, None)
                if header != [column.name for column in table.columns]:
                    raise RestoreRefused(
                        _("The header of %(file)s does not match export.json.")
                        % {"file": table.file}
                    )
                number = 1
                for row in reader:
                    number += 1
                    yield number, row
            except (csv.Error, UnicodeDecodeError) as error:
                raise RestoreRefused(
                    _("%(file)s cannot be read at row %(row)s: %(error)s")
                    % {"file": table.file, "row": number + 1, "error": error}
                ) from None
