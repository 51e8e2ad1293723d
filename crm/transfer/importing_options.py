"""The options of an import beyond its mapping: the kind's value maps (a deals file's
pipelines and stages in another CRM's words → this base's stages) and yes/no flags
(create the clients the base lacks), declared by the kind's ``Importer`` (``value_maps``,
``flags``) and stored in ``ImportJob.options``.

``options_check`` checks what a page or the API sent (``ValidationFailed`` naming the
option and the value); ``value_map_steps`` reads the file's distinct values for the
wizard, each with this base's choices and the guessed one.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext as _

from crm.core.errors import ValidationFailed
from crm.core.records import ImportFlag, ImportValueMap, registry
from crm.transfer.models import ImportJob
from crm.transfer.readers import read_table

MAX_VALUES = 200
"""Distinct values a map shows and takes at most (a file with more is not another CRM's
list of stages)."""
MAX_ROWS_READ = 100_000
TO = "to"


def _importer_options(kind: str) -> tuple[tuple[ImportValueMap, ...], set[str]]:
    try:
        importer = registry.importer(kind)
    except LookupError:
        return (), set()
    return importer.value_maps, {flag.key for flag in importer.flags}


def import_flags(kind: str) -> list[ImportFlag]:
    """The yes/no options of a kind's import (none for a kind nothing imports)."""
    try:
        return list(registry.importer(kind).flags)
    except LookupError:
        return []


def options_parse(kind: str, sent: Mapping[str, Any]) -> dict[str, Any]:
    """The options of a kind from form fields or API fields: each value map's JSON text
    (its name), each flag's yes/no (its key); then ``options_check``."""
    maps, flags = _importer_options(kind)
    options: dict[str, Any] = {}
    for value_map in maps:
        text = sent.get(value_map.name)
        if text in (None, ""):
            continue
        if isinstance(text, str):
            try:
                options[value_map.name] = json.loads(text)
            except ValueError:
                raise ValidationFailed(
                    field_errors={value_map.name: [_("Not valid JSON.")]}
                ) from None
        else:
            options[value_map.name] = text
    for key in flags:
        value = sent.get(key)
        if value not in (None, ""):
            options[key] = value in (True, "true", "on", "1", "yes", 1)
    return options_check(kind, options)


def options_check(kind: str, options: Mapping[str, Any]) -> dict[str, Any]:
    """``options`` checked against the kind's value maps and flags: a map is a list of at
    most ``MAX_VALUES`` objects with a text for each of its fields and a ``to`` among its
    choices (or empty: not mapped); raises ``ValidationFailed`` naming the option and the
    value. Answers the options to store."""
    maps, flags = _importer_options(kind)
    by_name = {value_map.name: value_map for value_map in maps}
    checked: dict[str, Any] = {}
    for name, value in options.items():
        if name in flags:
            if not isinstance(value, bool):
                raise ValidationFailed(field_errors={name: [_("Yes or no.")]})
            checked[name] = value
        elif name in by_name:
            checked[name] = _check_map(by_name[name], value)
        else:
            raise ValidationFailed(field_errors={name: [_("Unknown option.")]})
    return checked


def _check_map(value_map: ImportValueMap, answer: Any) -> list[dict[str, str]]:
    name = value_map.name
    shape = _("A JSON list of objects with %(fields)s and “to”.") % {
        "fields": ", ".join(f"“{field}”" for field in value_map.fields)
    }
    if not isinstance(answer, list) or len(answer) > MAX_VALUES:
        raise ValidationFailed(field_errors={name: [shape]})
    choices = {value for value, _label in value_map.choices()}
    rows: list[dict[str, str]] = []
    for item in answer:
        if not isinstance(item, dict) or set(item) - {*value_map.fields, TO}:
            raise ValidationFailed(field_errors={name: [shape]})
        texts = [item.get(field, "") for field in value_map.fields]
        target = item.get(TO)
        target = "" if target is None else str(target)
        if not all(isinstance(text, str) and len(text) <= 300 for text in texts):
            raise ValidationFailed(field_errors={name: [shape]})
        if target and target not in choices:
            shown = " / ".join(text for text in texts if text)
            raise ValidationFailed(
                field_errors={
                    name: [
                        _("“%(value)s”: no such choice here (%(target)s).")
                        % {"value": shown[:100], "target": target[:40]}
                    ]
                }
            )
        rows.append({**dict(zip(value_map.fields, texts, strict=True)), TO: target})
    return rows


@dataclass
class ValueMapStep:
    """A value map of the wizard: the file's distinct values, each with its choice (the
    one stored, else the guessed one) among ``choices``."""

    map: ImportValueMap
    rows: list[tuple[tuple[str, ...], str]]
    choices: list[tuple[str, str]]
    more: bool
    """The file holds more distinct values than shown."""


def value_map_steps(job: ImportJob, mapping: Sequence[str]) -> list[ValueMapStep]:
    """The value maps of the job's kind whose fields a column is mapped to, with the
    distinct values of the file (in the order met, at most ``MAX_VALUES``)."""
    maps, _flags = _importer_options(job.kind)
    steps: list[ValueMapStep] = []
    for value_map in maps:
        columns = [
            [index for index, key in enumerate(mapping) if key == field]
            for field in value_map.fields
        ]
        if not any(columns):
            continue
        values = _distinct(job, columns)
        stored = {
            tuple(row.get(field, "") for field in value_map.fields): row.get(TO, "")
            for row in (job.options or {}).get(value_map.name, [])
        }
        rows = [
            (value, stored[value] if value in stored else value_map.guess(value))
            for value in values[:MAX_VALUES]
        ]
        steps.append(ValueMapStep(value_map, rows, value_map.choices(), len(values) > MAX_VALUES))
    return steps


def _distinct(job: ImportJob, columns: list[list[int]]) -> list[tuple[str, ...]]:
    seen: dict[tuple[str, ...], None] = {}
    with job.file.open("rb") as stored:
        table = read_table(stored, job.original_name)  # type: ignore[arg-type]
        for count, row in enumerate(table.rows):
            if count >= MAX_ROWS_READ or len(seen) > MAX_VALUES:
                break
            value = tuple(
                next((row.cells[i].strip() for i in indexes if i < len(row.cells)), "")
                for indexes in columns
            )
            if any(value):
                seen.setdefault(value, None)
    return list(seen)
