"""The registry: the kinds of record the CRM knows, and what apps contribute to one another.

A *record kind* (``RecordKind``) answers the questions every capability asks of a record —
what it is (key, model, labels), who may see and change it (its model policy, see
``crm.core.policies``), how to link to it, whether it has a timeline and how to read and add
to it, whether it may be shared, what the task page shows of its history. Apps also
contribute to kinds and to one another:

* ``CardPanel`` — a panel on a kind's card (the deals of a contact);
* ``MergeMover`` — rows that follow a record when two records of a kind merge (deals follow
  their client);
* ``Sweep`` — work due at a time, run by ``manage.py scheduler``;
* ``DaySection`` — a section of the planner's "My day" (new leads waiting);
* ``CoverLookup`` — who covers an absent recipient of a notice;
* ``OwnerMover`` — how a kind's records pass from a leaving user to colleagues (the
  handover iterates these instead of knowing the kinds);
* ``Exporter`` — how a kind's list is written to a file: its columns, the list's rows a
  user may see under its filters, and how to read them in chunks (the export knows no
  domain model);
* ``BaseTable`` — a table of the full export of the base (contacts, deal lines, users …).
* ``Importer`` — how rows of a file become a kind's records (the import runs files,
  mappings, batches, the journal and undo over these instead of knowing the kinds).
* ``ThreadFinder`` — claims an incoming message of the sales mailbox before the leads
  channel reads it (a reply to, or a delivery report about, a message the CRM sent), so
  the leads app finds threads of a higher app without importing it.

A contribution by a HIGHER app to a LOWER app's kind (sales adding the deals panel to the
contact card) names the lower kind by its key, so the lower app never imports the higher.

Each app declares what it contributes in its own ``records.py`` as a module-level
``CONTRIBUTIONS`` sequence; its ``AppConfig.ready`` only calls ``register_app(self)``.
Registering is idempotent: a contribution replaces the one with the same identity (a kind's
key, a panel's or mover's kind and name, a sweep's or section's key, a lookup's name, an
owner mover's, exporter's or importer's kind, a base table's or thread finder's name), so
calling ``ready`` twice changes nothing. This module imports no app.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from importlib import import_module
from typing import TYPE_CHECKING, Any

from django.db import models
from django.urls import reverse

from crm.core.pagination import Page
from crm.core.permissions import ScopedUser
from crm.core.policies import VIEW, ModelPolicy

if TYPE_CHECKING:
    from django.apps import AppConfig
    from django_stubs_ext import StrOrPromise


@dataclass(frozen=True)
class Timeline:
    """How a kind's timeline is read and added to.

    ``read(record, user, *, cursor=None, limit=…, kinds=None)`` answers one page of entries
    as ``user`` sees them; ``add(*, actor, record, **fields)`` records a manual entry (a
    service: it checks, writes and raises domain errors). The timeline pages find the
    record through the kind's policy.
    """

    read: Callable[..., Page[Any]]
    add: Callable[..., Any]


@dataclass(frozen=True)
class Search:
    """How the search box finds a kind's records.

    ``find(user, q, limit)`` answers at most ``limit`` records ``user`` may see that match
    ``q`` (best first; empty for an empty query). The search page shows them with
    ``page_template`` and the typeahead with ``suggest_template``, each given ``records``,
    ``kind`` and ``limit``; ``section`` names them in the pages' ``results`` mapping.
    """

    section: str
    find: Callable[[Any, str, int], list[Any]]
    page_template: str
    suggest_template: str


@dataclass(frozen=True)
class RecordKind:
    """One kind of record: a contact, a company, a deal, a lead, a task.

    ``url`` is the URL name of the record's page (taking its pk) or a function of the
    record. ``rows`` gives the kind's live rows (contacts hide merged ones); by default the
    model's manager. ``shareable``: the model's ``shared_with`` many-to-many widens its
    policy, so the planner may let one more person see a record. ``has_tasks``: tasks may
    belong to its records.
    """

    key: str
    model: type[models.Model]
    policy: ModelPolicy
    label: StrOrPromise
    plural_label: StrOrPromise
    url: str | Callable[[Any], str]
    rows: Callable[[], models.QuerySet[Any]] | None = None
    timeline: Timeline | None = None
    shareable: bool = False
    has_tasks: bool = False
    search: Search | None = None

    @property
    def label_lower(self) -> str:
        """The model's ``app_label.model_name``, as content types and old links name it."""
        return self.model._meta.label_lower

    def visible_to(self, user: ScopedUser, action: str = VIEW) -> models.QuerySet[Any]:
        """The records of this kind ``user`` may see (``VIEW``) or change, by its policy."""
        rows = self.rows() if self.rows is not None else self.model._default_manager.all()
        return self.policy.restrict(rows, user, action)

    def visible_to_resolved(self, user: ScopedUser) -> models.QuerySet[Any]:
        """The records ``user`` may see, the policy's condition with its shared ids read
        first (``restrict_resolved``: for reports over large tables)."""
        rows = self.rows() if self.rows is not None else self.model._default_manager.all()
        return self.policy.restrict_resolved(rows, user)

    def visible_parts(self, user: ScopedUser) -> list[models.QuerySet[Any]]:
        """The records ``user`` may see as disjoint parts each read by an index on the owner
        (``restrict_resolved_parts``: for reports over large tables)."""
        rows = self.rows() if self.rows is not None else self.model._default_manager.all()
        return self.policy.restrict_resolved_parts(rows, user)

    def history(self, record: Any, user: ScopedUser, limit: int) -> list[Any]:
        """The newest ``limit`` timeline entries of ``record`` as ``user`` sees them (the task
        page shows them); empty for a kind without a timeline."""
        if self.timeline is None:
            return []
        return list(self.timeline.read(record, user, limit=limit).items)

    def url_of(self, record: Any) -> str:
        """The address of ``record``'s page."""
        if isinstance(self.url, str):
            return reverse(self.url, args=[record.pk])
        return self.url(record)


# Panels: given the request and the record, the template and its context, or None.
PanelBuilder = Callable[[Any, Any], "tuple[str, dict[str, Any]] | None"]


@dataclass(frozen=True)
class CardPanel:
    """A panel on the card of the records of kind ``kind`` (``build(request, record)``)."""

    kind: str
    name: str
    build: PanelBuilder


@dataclass(frozen=True)
class MergeMover:
    """Moves one app's rows from a merged record of ``kind`` to the survivor, and back.

    ``move(model, from_id, to_id)`` re-points the rows inside the merge transaction and
    answers their ids; ``move_back(model, ids, to_id)`` re-points exactly those on undo.
    """

    kind: str
    name: str
    move: Callable[[Any, int, int], list[int]]
    move_back: Callable[[Any, list[int], int], None]


@dataclass(frozen=True)
class Sweep:
    """Work due at a time, run by ``manage.py scheduler`` every ``every`` seconds.

    A sweep must be idempotent and safe in two schedulers at once (claim rows with
    conditional updates or ``select_for_update(skip_locked=True)``). What it answers, when
    not empty, is logged.
    """

    name: str
    every: float
    run: Callable[[], object]


@dataclass(frozen=True)
class DayItem:
    """One line of a "My day" section."""

    title: str
    url: str
    detail: str = ""
    is_urgent: bool = False


@dataclass(frozen=True)
class DaySection:
    """A section of the planner's "My day": ``items(user)`` shown under ``title``."""

    key: str
    title: StrOrPromise
    items: Callable[[Any], list[DayItem]]


@dataclass(frozen=True)
class CoverLookup:
    """Names, for recipients' ids, the substitute of each one who is away today."""

    name: str
    lookup: Callable[[Any], dict[int, Any]]


@dataclass(frozen=True)
class OwnerMover:
    """How the records of kind ``kind`` that a leaving user owns pass to a colleague.

    ``owned(user_id)`` answers the records a handover may move: what the user is
    responsible for and still works on (open tasks, leads not yet closed; deals open AND
    closed). ``closed`` is the condition of those that are only moved on request (closed
    deals); None when a kind has none. ``clients`` lists ``(group, field)`` pairs: when the
    work is spread over several receivers, records whose first non-empty ``field`` (a
    lookup path; across a to-many relation its smallest id) holds the same id of ``group``
    go to the same receiver (``("company", "company_id")`` first:
    a company's contacts and deals go with the company). ``move(ids, from_id, to_id)``
    sets the owner of exactly those records, still owned by ``from_id``, to ``to_id``
    with whatever must follow the owner (a deal's stage visits), and answers how many
    moved. ``order`` sorts the movers: clients before what hangs on them.
    """

    kind: str
    owned: Callable[[int], models.QuerySet[Any]]
    move: Callable[[list[int], int, int], int]
    closed: models.Q | None = None
    clients: tuple[tuple[str, str], ...] = ()
    order: int = 0


@dataclass(frozen=True)
class ExportColumn:
    """One column of an export: its heading and its value in a row (as the exporter's
    ``chunks`` give rows). A value is text, a number, a date or None."""

    label: StrOrPromise
    value: Callable[[Any], object]


@dataclass(frozen=True)
class Card:
    """A person as an address book holds them (written as a vCard): names, the company and
    position, ``phones``, ``emails`` and ``addresses`` as ``(type, value)`` pairs (the type in
    vCard's words: ``work``, ``home``, ``cell``; empty for none), birthday and a note."""

    family: str
    given: str
    additional: str = ""
    organization: str = ""
    title: str = ""
    phones: tuple[tuple[str, str], ...] = ()
    emails: tuple[tuple[str, str], ...] = ()
    addresses: tuple[tuple[str, str], ...] = ()
    birthday: dt.date | None = None
    note: str = ""


@dataclass(frozen=True)
class Exporter:
    """How the list of the records of kind ``kind`` is written to a file.

    ``select(user, params)`` answers the records the list shows ``user`` under the filters
    of the query ``params`` — the kind's scope (``visible_to``) and the list's own filter
    function, never a copy of it; a refused filter raises ``ValidationFailed``.
    ``columns()`` answers the columns, read at call time (custom fields are columns).
    ``chunks(rows, size)`` reads ``rows`` (what ``select`` answered) by ascending id, at most
    ``size`` at a time, each chunk with everything its columns read (related rows in one
    query per chunk, never per row). ``card(row)`` gives a row as an address book entry,
    for the kinds that export to vCard (contacts). ``name`` is the file name's stem and the
    audit log's "what" (``contacts``).

    ``copy_sql(rows)``, for the kinds that have it (contacts, companies), answers one
    PostgreSQL SELECT (and its parameters, ``%s`` placeholders) of the same records as
    ``chunks`` reads from ``rows``, by ascending id, whose columns are the text cells of the
    CSV file exactly as ``csv_text`` writes them from ``columns()`` (an empty cell as NULL):
    PostgreSQL then writes the CSV rows itself (``COPY … TO STDOUT``), several times faster.
    """

    kind: str
    name: str
    select: Callable[[Any, Mapping[str, str]], models.QuerySet[Any]]
    columns: Callable[[], Sequence[ExportColumn]]
    chunks: Callable[[models.QuerySet[Any], int], Iterator[Sequence[Any]]]
    card: Callable[[Any], Card] | None = None
    copy_sql: Callable[[models.QuerySet[Any]], tuple[str, Sequence[Any]]] | None = None


@dataclass(frozen=True)
class BaseTable:
    """A table of the full export of the base: every row of ``model`` (its concrete fields,
    foreign keys as ids, except ``exclude``: password hashes and secrets never leave), and
    its many-to-many fields ``many`` as tables of pairs. ``order`` sorts the tables so that
    a table comes after the tables it points to (users before contacts before deals), the
    order an import reads them back in.

    ``rebuild()``, for a table whose excluded columns (or tables the export leaves out, such
    as name blocking keys) are derived from what it keeps, writes them again for every row
    after a restore of the base (``crm.transfer.restore``), inside its transaction, and
    answers notes for the administrator (users restored without a usable password).
    """

    name: str
    model: type[models.Model]
    order: int
    exclude: tuple[str, ...] = ()
    many: tuple[str, ...] = ()
    rebuild: Callable[[], list[str]] | None = None


def keyset_chunks(
    rows: models.QuerySet[Any], fields: Sequence[str], size: int
) -> Iterator[list[dict[str, Any]]]:
    """``rows`` as dictionaries of ``fields`` (``id`` first), ``size`` at a time by
    ascending id: each chunk is one query that starts after the last id read, so the cost
    of a chunk does not grow with its position and no server-side cursor is held."""
    last = 0
    while True:
        chunk = list(rows.filter(pk__gt=last).order_by("pk").values("id", *fields)[:size])
        if not chunk:
            return
        yield chunk
        last = chunk[-1]["id"]


@dataclass(frozen=True)
class ImportField:
    """A field a column of an imported file may fill (``crm.transfer`` maps columns to
    these by ``key``; the keys are the contract with its header guessing). ``multiple``: several
    columns may fill it (phones); ``required``: a row without it fails."""

    key: str
    label: StrOrPromise
    required: bool = False
    multiple: bool = False
    help: StrOrPromise = ""


@dataclass(frozen=True)
class ImportRow:
    """One row of a file, mapped: ``values`` holds, per field key, the non-empty cells of the
    columns mapped to it (several for a ``multiple`` field), as text. ``owner_id`` is the
    responsible the import chose for it (the importing user, a chosen manager or the row's
    "owner" column, already resolved and checked against the importer's scope).
    ``record_id`` is the live record an earlier import stored under the row's external id
    (``Importer.external_ids``): the importer takes it as the row's match."""

    number: int
    values: dict[str, list[str]]
    owner_id: int
    record_id: int | None = None


@dataclass(frozen=True)
class ImportBatch:
    """Rows to write in one transaction. ``policy`` is what to do with a row that matches
    a record already there (``skip``, ``fill`` empty fields, ``overwrite``, ``create``
    anyway); ``note`` is the timeline title of the records written ("Imported from
    clients.csv, import #12", already in words)."""

    actor: Any
    rows: list[ImportRow]
    policy: str
    note: str
    options: Mapping[str, Any] = dataclass_field(default_factory=dict)
    """The job's options of the kind, checked: each ``ImportValueMap``'s answer under its
    name, each ``ImportFlag`` under its key (absent: off)."""


@dataclass(frozen=True)
class ImportOutcome:
    """What became of one row: ``action`` is ``created``, ``updated``, ``skipped`` or
    ``failed``; ``kind`` the kind of the record written (a contact's import may create its
    company: one more outcome of the same row with kind ``company``); ``previous`` the
    values an update replaced, in the form ``Importer.undo`` restores; ``reason`` why a row
    failed or was skipped, or a remark (a possible duplicate created)."""

    number: int
    action: str
    kind: str = ""
    record_id: int | None = None
    reason: str = ""
    previous: dict[str, Any] | None = None


@dataclass(frozen=True)
class ImportUndo:
    """One record an import wrote, to put back: created (``previous`` is None) → removed;
    updated → ``previous`` restored. ``since`` is when the import finished: a record changed
    after it is left alone."""

    record_id: int
    previous: dict[str, Any] | None
    since: Any


@dataclass(frozen=True)
class ImportValueMap:
    """A step of the import wizard of a kind: the distinct values the file's columns mapped
    to ``fields`` hold (a deal's pipeline and stage in another CRM's words), each mapped to
    one of ``choices()`` (``(value, label)`` pairs: this base's stages), guessed by
    ``guess(values)`` (a choice's value, or "" for none). The answer is a list of
    ``{<field>: <text>, …, "to": <choice>}`` stored in the job's options under ``name``
    (the API's form field of that name, as JSON), read by the importer's ``load`` from
    ``ImportBatch.options``; values left out are read by name as without the step."""

    name: str
    label: StrOrPromise
    fields: tuple[str, ...]
    choices: Callable[[], list[tuple[str, str]]]
    guess: Callable[[tuple[str, ...]], str]


@dataclass(frozen=True)
class ImportFlag:
    """A yes/no option of a kind's import (deals: create the clients the base lacks),
    stored in the job's options under ``key`` (the API's form field of that name)."""

    key: str
    label: StrOrPromise
    help: StrOrPromise = ""


@dataclass(frozen=True)
class Importer:
    """How rows of a file become records of kind ``kind``.

    ``fields()`` answers the kind's ``ImportField``s, custom fields included (read at call
    time). ``load(batch)`` writes one ``ImportBatch`` inside the caller's transaction and
    answers at least one ``ImportOutcome`` per row, in row order; a bad row is an outcome
    ``failed`` with its reason, never an exception (an exception rolls the batch back).
    ``undo(actor, entries)`` reverses what ``load`` wrote (``ImportUndo`` each) and answers
    the ids of the records it left because they changed since, with a reason each.
    ``order`` sorts the kinds in the import's choice (clients first); ``label`` names what
    a file of this kind holds, by default the record kind's plural label. ``value_maps``
    and ``flags`` are the kind's own steps and options of the wizard (``ImportValueMap``,
    ``ImportFlag``). ``external_ids``: the import offers the field ``external_id`` (the
    record's id in the other system), stores it for the records created and gives a later
    row with the same id its record (``ImportRow.record_id``). ``finished(options)`` is
    called once when an import of the kind that wrote records ends (done, cancelled or
    failed after some batches), after its last commit: clients queue the duplicate scan.
    """

    kind: str
    order: int
    fields: Callable[[], list[ImportField]]
    load: Callable[[ImportBatch], list[ImportOutcome]]
    undo: Callable[[Any, list[ImportUndo]], dict[int, str]]
    label: StrOrPromise = ""
    value_maps: tuple[ImportValueMap, ...] = ()
    flags: tuple[ImportFlag, ...] = ()
    external_ids: bool = False
    finished: Callable[[Mapping[str, Any]], None] | None = None


@dataclass(frozen=True)
class ThreadFinder:
    """Claims an incoming e-mail of the sales mailbox before the leads channel reads it.

    ``claim(raw, inbound_id)`` gets the message's bytes and the id of its stored arrival
    and answers what became of it (a small JSON-able mapping, kept as the arrival's
    outcome) when it took the message — a reply to a message the CRM sent put on that
    record's timeline, a delivery report marking an address — or None to leave it to the
    leads channel (a new lead, a known client's timeline). It runs inside the arrival's
    processing transaction, before any other rule (even the auto-reply filter: a bounce is
    an automatic message), must not raise for a message it does not understand, and is
    called once per arrival (the arrival's status makes processing idempotent).
    """

    name: str
    claim: Callable[[bytes, int], dict[str, Any] | None]


Contribution = (
    RecordKind
    | CardPanel
    | MergeMover
    | Sweep
    | DaySection
    | CoverLookup
    | OwnerMover
    | Exporter
    | BaseTable
    | Importer
    | ThreadFinder
)


class Registry:
    """The kinds of record and the contributions of every app (see the module's docstring).

    The sweeps, "My day" sections, cover lookups and thread finders are plain attributes
    (``sweeps``, ``day_sections``, ``cover_lookups``, ``thread_finders``), read by their one
    consumer each.
    """

    def __init__(self) -> None:
        self._kinds: dict[str, RecordKind] = {}
        self._panels: dict[str, list[CardPanel]] = {}
        self._movers: dict[str, list[MergeMover]] = {}
        self.sweeps: dict[str, Sweep] = {}
        self.day_sections: dict[str, DaySection] = {}
        self.cover_lookups: dict[str, CoverLookup] = {}
        self._owner_movers: dict[str, OwnerMover] = {}
        self._exporters: dict[str, Exporter] = {}
        self._base_tables: dict[str, BaseTable] = {}
        self._importers: dict[str, Importer] = {}
        self.thread_finders: dict[str, ThreadFinder] = {}

    # --- registering -----------------------------------------------------------------------

    def register_app(self, app: AppConfig) -> None:
        """Add the ``CONTRIBUTIONS`` of ``app``'s ``records`` module (called by its ``ready``)."""
        module = import_module(f"{app.name}.records")
        self.add(*module.CONTRIBUTIONS)

    def add(self, *contributions: Contribution) -> None:
        """Add contributions, each replacing the one with the same identity."""
        for item in contributions:
            if isinstance(item, RecordKind):
                self._kinds[item.key] = item
            elif isinstance(item, CardPanel):
                _replace(self._panels.setdefault(item.kind, []), item)
            elif isinstance(item, MergeMover):
                _replace(self._movers.setdefault(item.kind, []), item)
            elif isinstance(item, Sweep):
                self.sweeps[item.name] = item
            elif isinstance(item, DaySection):
                self.day_sections[item.key] = item
            elif isinstance(item, CoverLookup):
                self.cover_lookups[item.name] = item
            elif isinstance(item, OwnerMover):
                self._owner_movers[item.kind] = item
            elif isinstance(item, Exporter):
                self._exporters[item.kind] = item
            elif isinstance(item, BaseTable):
                self._base_tables[item.name] = item
            elif isinstance(item, Importer):
                self._importers[item.kind] = item
            elif isinstance(item, ThreadFinder):
                self.thread_finders[item.name] = item
            else:
                raise TypeError(f"Not a contribution: {item!r}")

    # --- reading ---------------------------------------------------------------------------

    def kinds(self) -> list[RecordKind]:
        """Every registered kind, in the order the apps registered them."""
        return list(self._kinds.values())

    def kind(self, key: str) -> RecordKind:
        """The kind ``key``; ``LookupError`` for an unknown one."""
        try:
            return self._kinds[key]
        except KeyError:
            raise LookupError(f"No record kind {key!r}") from None

    def find(self, name: str) -> RecordKind | None:
        """The kind named ``name`` by its key, ``app_label.model_name`` or model name."""
        if name in self._kinds:
            return self._kinds[name]
        return next(
            (
                kind
                for kind in self._kinds.values()
                if name in (kind.label_lower, kind.model._meta.model_name)
            ),
            None,
        )

    def kind_for(self, model: type[models.Model]) -> RecordKind | None:
        """The kind of ``model``'s records, or None for a model that is no record kind."""
        label = model._meta.label_lower
        return next((kind for kind in self._kinds.values() if kind.label_lower == label), None)

    def with_timeline(self) -> list[RecordKind]:
        """The kinds whose records have a timeline."""
        return [kind for kind in self._kinds.values() if kind.timeline is not None]

    def searchable(self) -> list[RecordKind]:
        """The kinds the search box finds, in registration order."""
        return [kind for kind in self._kinds.values() if kind.search is not None]

    def task_subjects(self) -> list[RecordKind]:
        """The kinds whose records tasks may belong to."""
        return [kind for kind in self._kinds.values() if kind.has_tasks]

    def panels(self, key: str) -> list[CardPanel]:
        """The panels other apps add to the card of kind ``key``, in registration order."""
        return list(self._panels.get(key, ()))

    def movers(self, key: str) -> list[MergeMover]:
        """What moves when two records of kind ``key`` merge, in registration order."""
        return list(self._movers.get(key, ()))

    def owner_movers(self) -> list[OwnerMover]:
        """How each kind's records pass from a leaving user, clients first (``order``)."""
        return sorted(self._owner_movers.values(), key=lambda mover: mover.order)

    def exporters(self) -> list[Exporter]:
        """How each kind's list is exported, in registration order."""
        return list(self._exporters.values())

    def exporter(self, kind: str) -> Exporter:
        """How the list of kind ``kind`` is exported; ``LookupError`` for a kind without."""
        try:
            return self._exporters[kind]
        except KeyError:
            raise LookupError(f"No export of {kind!r}") from None

    def base_tables(self) -> list[BaseTable]:
        """The tables of the full export, each after those it points to (``order``)."""
        return sorted(self._base_tables.values(), key=lambda table: (table.order, table.name))

    def importers(self) -> list[Importer]:
        """The kinds a file may be imported into, clients first (``order``)."""
        return sorted(self._importers.values(), key=lambda importer: importer.order)

    def importer(self, kind: str) -> Importer:
        """The importer of kind ``kind``; ``LookupError`` for a kind nothing imports."""
        try:
            return self._importers[kind]
        except KeyError:
            raise LookupError(f"No importer for {kind!r}") from None


def _replace(items: list[Any], item: CardPanel | MergeMover) -> None:
    for index, present in enumerate(items):
        if present.name == item.name:
            items[index] = item
            return
    items.append(item)


registry = Registry()
"""The one registry of the process."""

register_app = registry.register_app
