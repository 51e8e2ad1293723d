"""Bulk reassignment: moving a user's contacts and companies to a colleague, or handing
ALL of a leaving user's work over to one or more colleagues.

``reassignment_start`` (a filtered list of contacts and companies to one colleague) and
``handover_start`` (every kind with an owner mover — contacts, companies, deals, leads, open
tasks — spread over the receivers, shares removed, optionally the user deactivated) check
and queue the request; the job calls ``reassignment_execute``, which moves every selected
record in ONE transaction (all or nothing), writes a field-change entry per record that has
a timeline, and reports progress through the "progress" cache so the page can show it while
the transaction is still open. The ``BulkReassignment`` row is the log of who moved what; a
handover's row has ``filters["handover"]`` and the counts moved per kind in ``counts``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any

from django.core.cache import InvalidCacheBackendError, caches
from django.core.cache.backends.base import BaseCache
from django.db import transaction
from django.db.models import QuerySet
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.accounts.models import SecurityEvent, Team, User
from crm.accounts.services import security_event_record, user_deactivate
from crm.activities.choices import EntryKind
from crm.activities.services import timeline_bulk_record, timeline_entry_build
from crm.core.errors import NotFound, PermissionDenied, ValidationFailed
from crm.core.permissions import Role
from crm.core.records import registry
from crm.customers.choices import ClientType, Entity, Source
from crm.customers.models import BulkReassignment, Company, Contact
from crm.customers.permissions import CUSTOMER
from crm.customers.selectors import CustomerFilters, company_queryset, contact_queryset
from crm.customers.services.handover import (
    Batch,
    batches_for,
    handover_counts,
    handover_kinds,
    handover_plan,
    shares_remove,
)
from crm.notifications.models import Notification
from crm.notifications.services import in_language, notify

audit_log = logging.getLogger("crm.audit")

CHUNK_SIZE = 1000
PROGRESS_TIMEOUT = 24 * 3600
# A running move reports after every chunk; silence this long means its worker died (the
# open transaction was rolled back with it, so nothing moved).
STALLED_AFTER_SECONDS = 15 * 60
STALLED = "stalled"
ENTITIES = (Entity.CONTACT, Entity.COMPANY)
SHARES = "shares"
FILTER_FIELDS = ("q", "client_type", "tag", "source")


@dataclass
class Progress:
    """How far a reassignment has got: ``done`` of ``total`` records."""

    status: str
    done: int
    total: int

    @property
    def percent(self) -> int:
        if self.status == BulkReassignment.Status.DONE:
            return 100
        return round(100 * self.done / self.total) if self.total else 0

    @property
    def is_finished(self) -> bool:
        return self.status in (
            BulkReassignment.Status.DONE,
            BulkReassignment.Status.FAILED,
            STALLED,
        )


# --- permission -----------------------------------------------------------------------------


def reassignment_check_allowed(*, actor: User) -> None:
    """Administrators reassign anyone's records, heads of sales their teams'; nobody else."""
    if not (actor.is_active and actor.role in (Role.ADMIN, Role.HEAD)):
        raise PermissionDenied(_("Only an administrator or a head of sales may reassign records."))


def _in_scope(actor: User, user: User) -> bool:
    return actor.role == Role.ADMIN or user.pk in CUSTOMER.owner_ids(actor)


def reassignment_users(*, actor: User) -> QuerySet[User]:
    """Users whose records ``actor`` may move, and to whom (inactive ones only as a source)."""
    reassignment_check_allowed(actor=actor)
    users = User.objects.order_by("-is_active", "last_name", "first_name", "username")
    if actor.role != Role.ADMIN:
        users = users.filter(pk__in=sorted(CUSTOMER.owner_ids(actor)))
    return users


# --- validation and selection ----------------------------------------------------------------


def _clean_filters(filters: CustomerFilters | dict[str, Any] | None) -> dict[str, str]:
    raw = asdict(filters) if isinstance(filters, CustomerFilters) else dict(filters or {})
    cleaned = {name: str(raw.get(name) or "").strip() for name in FILTER_FIELDS}
    errors: dict[str, list[str]] = {}
    if cleaned["client_type"] and cleaned["client_type"] not in ClientType.values:
        errors["client_type"] = [_("Unknown client type.")]
    if cleaned["source"] and cleaned["source"] not in Source.values:
        errors["source"] = [_("Unknown source.")]
    if len(cleaned["tag"]) > 50:
        errors["tag"] = [_("At most %(n)d characters.") % {"n": 50}]
    if len(cleaned["q"]) > 100:
        errors["q"] = [_("At most %(n)d characters.") % {"n": 100}]
    if errors:
        raise ValidationFailed(_("Check the filters."), field_errors=errors)
    return {name: value for name, value in cleaned.items() if value}


def _clean_entities(entities: Iterable[str]) -> list[str]:
    chosen: list[str] = [entity for entity in ENTITIES if entity in set(entities or ())]
    if not chosen or set(entities) - set(ENTITIES):
        raise ValidationFailed(
            field_errors={"entities": [_("Choose contacts, companies or both.")]}
        )
    return chosen


# A model and the queryset of its records to move.
Selected = tuple[type[Contact], QuerySet[Contact]] | tuple[type[Company], QuerySet[Company]]


def _selection(
    *, actor: User, from_user_id: int, entities: list[str], filters: dict[str, str]
) -> list[Selected]:
    """The querysets of the records to move: the actor's scope, the filters, the owner."""
    customer_filters = CustomerFilters(
        q=filters.get("q", ""),
        client_type=filters.get("client_type", ""),
        tag=filters.get("tag", ""),
        source=filters.get("source", ""),
        owner_id=from_user_id,
    )
    selection: list[Selected] = []
    if Entity.CONTACT in entities:
        selection.append((Contact, contact_queryset(user=actor, filters=customer_filters)))
    if Entity.COMPANY in entities:
        selection.append((Company, company_queryset(user=actor, filters=customer_filters)))
    return selection


def reassignment_preview(
    *,
    actor: User,
    from_user: User,
    entities: Iterable[str],
    filters: CustomerFilters | dict[str, Any] | None = None,
) -> dict[str, int]:
    """How many contacts and companies a reassignment with these settings would move."""
    reassignment_check_allowed(actor=actor)
    if not _in_scope(actor, from_user):
        raise ValidationFailed(field_errors={"from_user": [_("This user is not in your teams.")]})
    counts: dict[str, int] = {entity: 0 for entity in ENTITIES}
    selection = _selection(
        actor=actor,
        from_user_id=from_user.pk,
        entities=_clean_entities(entities),
        filters=_clean_filters(filters),
    )
    for model, queryset in selection:
        key = Entity.CONTACT if model is Contact else Entity.COMPANY
        counts[key] = queryset.values("pk").distinct().count()
    return counts


@transaction.atomic
def reassignment_start(
    *,
    actor: User,
    from_user: User,
    to_user: User,
    entities: Iterable[str],
    filters: CustomerFilters | dict[str, Any] | None = None,
    ip_address: str | None = None,
) -> BulkReassignment:
    """Queue moving ``from_user``'s records (narrowed by ``filters``) to ``to_user``.

    The request goes to the audit log with the actor's address (``ip_address``, passed by
    the view); the job adds a second event with the number of records moved.

    Administrators may move anyone's records; a head of sales only between users of the teams
    they lead (``actor.scope_owner_ids``). The receiver must be active; the giver may be a
    deactivated user. The job is enqueued once the row is committed.
    """
    reassignment_check_allowed(actor=actor)
    errors: dict[str, list[str]] = {}
    if not _in_scope(actor, from_user):
        errors["from_user"] = [_("This user is not in your teams.")]
    if not _in_scope(actor, to_user):
        errors["to_user"] = [_("This user is not in your teams.")]
    elif not to_user.is_active:
        errors["to_user"] = [_("Records can go only to an active user.")]
    if from_user.pk == to_user.pk:
        errors["to_user"] = [_("Choose another user than the current responsible.")]
    try:
        chosen = _clean_entities(entities)
    except ValidationFailed as error:
        errors.update(error.field_errors)
        chosen = []
    try:
        cleaned_filters = _clean_filters(filters)
    except ValidationFailed as error:
        errors.update(error.field_errors)
        cleaned_filters = {}
    if errors:
        raise ValidationFailed(_("Check the reassignment."), field_errors=errors)
    reassignment = BulkReassignment.objects.create(
        actor=actor,
        from_user=from_user,
        to_user=to_user,
        filters={"entities": chosen, **cleaned_filters},
    )
    audit_log.info(
        "reassignment_queued id=%s actor=%s from=%s to=%s filters=%s",
        reassignment.pk,
        actor.username,
        from_user.username,
        to_user.username,
        reassignment.filters,
    )
    security_event_record(
        kind=SecurityEvent.Kind.REASSIGN,
        actor=actor,
        user=from_user,
        ip_address=ip_address,
        data={
            "reassignment_id": reassignment.pk,
            "status": "queued",
            "from": from_user.username,
            "to": to_user.username,
            "filters": reassignment.filters,
        },
    )
    transaction.on_commit(lambda: _enqueue(reassignment.pk))
    return reassignment


# --- a leaving user's handover ------------------------------------------------------------


@dataclass(frozen=True)
class HandoverRequest:
    """What a handover is asked to do: whose work, to one receiver (``to_user``) or spread
    over a team's members who may own records (``team``), closed deals too or not, and
    whether the leaving user is deactivated in the same step."""

    from_user: User
    to_user: User | None = None
    team: Team | None = None
    include_closed: bool = False
    deactivate: bool = False


def handover_teams(*, actor: User) -> QuerySet[Team]:
    """The teams ``actor`` may spread a handover over: any for an administrator, the ones
    they lead for a head of sales."""
    reassignment_check_allowed(actor=actor)
    teams = Team.objects.order_by("name")
    return teams if actor.role == Role.ADMIN else teams.filter(heads=actor)


def handover_request_of(
    *,
    actor: User,
    from_user_id: int,
    to_user_id: int | None = None,
    team_id: int | None = None,
    include_closed: bool = False,
    deactivate: bool = False,
) -> HandoverRequest:
    """A handover request from ids (the API): users the actor may reassign from or to and
    teams they may spread over; ``ValidationFailed`` naming ``from_user``, ``to_user`` or
    ``team`` for an id that is none of those."""
    users = reassignment_users(actor=actor)
    found = users.in_bulk([pk for pk in (from_user_id, to_user_id) if pk is not None])
    team = handover_teams(actor=actor).filter(pk=team_id).first() if team_id else None
    errors: dict[str, list[str]] = {}
    for field, pk in (("from_user", from_user_id), ("to_user", to_user_id)):
        if pk is not None and pk not in found:
            errors[field] = [_("No such user in your teams.")]
    if team_id and team is None:
        errors["team"] = [_("No such team of yours.")]
    if errors:
        raise ValidationFailed(_("Check the handover."), field_errors=errors)
    return HandoverRequest(
        from_user=found[from_user_id],
        to_user=found.get(to_user_id) if to_user_id is not None else None,
        team=team,
        include_closed=include_closed,
        deactivate=deactivate,
    )


def handover_preview(*, actor: User, from_user: User) -> dict[str, int]:
    """What a handover of ``from_user``'s work would move, per kind (``handover_counts``);
    ``ValidationFailed`` naming ``from_user`` for a user outside the actor's teams."""
    reassignment_check_allowed(actor=actor)
    if not _in_scope(actor, from_user):
        raise ValidationFailed(field_errors={"from_user": [_("This user is not in your teams.")]})
    return handover_counts(from_user.pk)


def _team_receivers(actor: User, team: Team, from_user: User) -> list[User]:
    """The active members of ``team`` who may own records (not read-only), but the leaving
    user, by name; a head may spread only over a team whose members are all in scope."""
    members = list(
        team.members.filter(is_active=True)
        .exclude(role=Role.READONLY)
        .exclude(pk=from_user.pk)
        .order_by("last_name", "first_name", "username", "pk")
    )
    scope = None if actor.role == Role.ADMIN else CUSTOMER.owner_ids(actor)  # read once
    if scope is not None and not all(member.pk in scope for member in members):
        raise ValidationFailed(field_errors={"team": [_("This team is not one of yours.")]})
    if not members:
        raise ValidationFailed(field_errors={"team": [_("This team has nobody to receive.")]})
    return members


def _handover_receivers(actor: User, request: HandoverRequest) -> list[User]:
    """The receivers of a handover, or ``ValidationFailed`` naming the field at fault."""
    if (request.to_user is None) == (request.team is None):
        raise ValidationFailed(
            field_errors={"to_user": [_("Choose one receiver or a team to spread over.")]}
        )
    if request.team is not None:
        return _team_receivers(actor, request.team, request.from_user)
    to_user = request.to_user
    assert to_user is not None
    if not _in_scope(actor, to_user):
        problem = _("This user is not in your teams.")
    elif not to_user.is_active:
        problem = _("Records can go only to an active user.")
    elif to_user.pk == request.from_user.pk:
        problem = _("Choose another user than the current responsible.")
    else:
        return [to_user]
    raise ValidationFailed(field_errors={"to_user": [problem]})


def _check_deactivate(actor: User, request: HandoverRequest) -> None:
    if not request.deactivate:
        return
    if actor.role != Role.ADMIN:
        problem = _("Only an administrator may deactivate users.")
    elif request.from_user.pk == actor.pk:
        problem = _("You cannot deactivate yourself.")
    else:
        return
    raise ValidationFailed(field_errors={"deactivate": [problem]})


@transaction.atomic
def handover_start(
    *, actor: User, request: HandoverRequest, ip_address: str | None = None
) -> BulkReassignment:
    """Queue handing ALL of ``request.from_user``'s work over (see the module's docstring).

    Administrators hand over anyone's work, heads of sales that of their teams' members to
    their teams' members. Receivers are active; deactivating the leaving user in the same
    step is for administrators (as deactivation is). The request goes to the audit log;
    the job adds the counts moved.
    """
    reassignment_check_allowed(actor=actor)
    if not _in_scope(actor, request.from_user):
        raise ValidationFailed(field_errors={"from_user": [_("This user is not in your teams.")]})
    receivers = _handover_receivers(actor, request)
    _check_deactivate(actor, request)
    options = {
        "handover": True,
        "entities": handover_kinds(),
        "receivers": [user.pk for user in receivers],
        "team": request.team.pk if request.team is not None else None,
        "include_closed": request.include_closed,
        "deactivate": request.deactivate,
    }
    reassignment = BulkReassignment.objects.create(
        actor=actor, from_user=request.from_user, to_user=receivers[0], filters=options
    )
    audit_log.info(
        "handover_queued id=%s actor=%s from=%s options=%s",
        reassignment.pk,
        actor.username,
        request.from_user.username,
        options,
    )
    security_event_record(
        kind=SecurityEvent.Kind.REASSIGN,
        actor=actor,
        user=request.from_user,
        ip_address=ip_address,
        data={"reassignment_id": reassignment.pk, "status": "queued", **options},
    )
    transaction.on_commit(lambda: _enqueue(reassignment.pk))
    return reassignment


def _enqueue(reassignment_id: int) -> None:
    from crm.customers.jobs_reassign import reassignment_run  # the job imports this module

    reassignment_run.enqueue(reassignment_id)


# --- progress ---------------------------------------------------------------------------------


def _progress_cache() -> BaseCache:
    """The cache other processes read progress from (``CACHES["progress"]``).

    It must not be the database the move writes in: a row written inside the open
    transaction would be invisible to the page until the end.
    """
    try:
        return caches["progress"]
    except InvalidCacheBackendError:
        return caches["default"]


def _progress_key(reassignment_id: int) -> str:
    return f"reassignment-progress:{reassignment_id}"


def _progress_report(reassignment_id: int, done: int, total: int) -> None:
    _progress_cache().set(
        _progress_key(reassignment_id),
        {"done": done, "total": total, "at": time.time()},
        PROGRESS_TIMEOUT,
    )


def reassignment_progress(*, reassignment: BulkReassignment) -> Progress:
    """The progress to show: the live counter while running, the stored result after.

    A running move whose worker has not reported for ``STALLED_AFTER_SECONDS`` is shown as
    stalled: its worker died, the transaction rolled back, and the user may start again.
    """
    if reassignment.status == BulkReassignment.Status.RUNNING:
        live = _progress_cache().get(_progress_key(reassignment.pk)) or {}
        if time.time() - float(live.get("at", 0)) > STALLED_AFTER_SECONDS:
            return Progress(STALLED, 0, int(live.get("total", 0)))
        return Progress(reassignment.status, int(live.get("done", 0)), int(live.get("total", 0)))
    return Progress(reassignment.status, reassignment.done, reassignment.total)


# --- the move ---------------------------------------------------------------------------------


def _claim(reassignment_id: int) -> bool:
    """Mark a queued reassignment running (committed at once); False if another run has it."""
    claimed = BulkReassignment.objects.filter(
        pk=reassignment_id, status=BulkReassignment.Status.QUEUED
    ).update(status=BulkReassignment.Status.RUNNING)
    return claimed == 1


def _plain_batches(reassignment: BulkReassignment) -> list[Batch]:
    """The filtered contacts and companies of a plain reassignment, to its one receiver."""
    filters = {k: v for k, v in reassignment.filters.items() if k in FILTER_FIELDS}
    selection = _selection(
        actor=reassignment.actor,
        from_user_id=reassignment.from_user_id,
        entities=list(reassignment.filters.get("entities") or ENTITIES),
        filters=filters,
    )
    return batches_for(
        [
            (model._meta.model_name or "", sorted(set(queryset.values_list("pk", flat=True))))
            for model, queryset in selection
        ],
        reassignment.to_user_id,
    )


def _batches(reassignment: BulkReassignment) -> list[Batch]:
    options = reassignment.filters
    if not options.get("handover"):
        return _plain_batches(reassignment)
    return handover_plan(
        user_id=reassignment.from_user_id,
        receiver_ids=options["receivers"],
        include_closed=bool(options.get("include_closed")),
    )


def _move_batch(reassignment: BulkReassignment, batch: Batch, receiver: User, on_chunk: Any) -> int:
    """Move one batch in chunks, with a field-change entry per record of a kind that has a
    timeline; ``on_chunk(n)`` after each chunk. Answers how many moved."""
    kind, from_user = batch.kind, reassignment.from_user
    change = {
        "field": "owner_id",
        "label": str(_("Responsible")),
        "old": str(from_user),
        "new": str(receiver),
    }
    moved = 0
    for start in range(0, len(batch.ids), CHUNK_SIZE):
        chunk = batch.ids[start : start + CHUNK_SIZE]
        moved += batch.mover.move(chunk, from_user.pk, receiver.pk)
        if kind.timeline is not None:
            timeline_bulk_record(
                entries=[
                    timeline_entry_build(
                        subject_model=kind.model,
                        subject_id=pk,
                        kind=EntryKind.FIELD_CHANGE,
                        author=reassignment.actor,
                        data={"changes": [change], "reassignment_id": reassignment.pk},
                    )
                    for pk in chunk
                ]
            )
        on_chunk(len(chunk))
    return moved


def _move(reassignment: BulkReassignment) -> dict[str, int]:
    """Move the selected records in chunks; answers how many moved per kind (and, for a
    handover, the shares removed). Runs inside one atomic."""
    batches = _batches(reassignment)
    receivers = User.objects.in_bulk({batch.to_user_id for batch in batches})
    total = sum(len(batch.ids) for batch in batches)
    done = 0
    _progress_report(reassignment.pk, 0, total)

    def on_chunk(size: int) -> None:
        nonlocal done
        done += size
        _progress_report(reassignment.pk, done, total)

    moved: dict[str, int] = {}
    per_receiver: dict[int, dict[str, int]] = {}
    for batch in batches:
        count = _move_batch(reassignment, batch, receivers[batch.to_user_id], on_chunk)
        moved[batch.mover.kind] = moved.get(batch.mover.kind, 0) + count
        mine = per_receiver.setdefault(batch.to_user_id, {})
        mine[batch.mover.kind] = mine.get(batch.mover.kind, 0) + count
    if reassignment.filters.get("handover"):
        moved[SHARES] = shares_remove(reassignment.from_user_id)
        _notify_receivers(reassignment, receivers, per_receiver)
        if reassignment.filters.get("deactivate"):
            user_deactivate(actor=reassignment.actor, user=reassignment.from_user)
    return moved


def _summary(counts: dict[str, int]) -> str:
    """ "Contacts: 3, Deals: 2" in the active language, kinds in the handover's order."""
    return ", ".join(
        f"{registry.kind(key).plural_label}: {counts[key]}"
        for key in handover_kinds()
        if counts.get(key)
    )


def _notify_receivers(
    reassignment: BulkReassignment,
    receivers: dict[int, User],
    per_receiver: dict[int, dict[str, int]],
) -> None:
    """One notice per receiver, with what they received per kind (not one per record)."""
    names = {"actor": str(reassignment.actor), "user": str(reassignment.from_user)}
    for user_id, counts in per_receiver.items():
        if not any(counts.values()):
            continue
        with in_language(receivers[user_id]):
            notify(
                recipient=receivers[user_id],
                kind=Notification.Kind.ASSIGNED,
                title=_("%(actor)s handed %(user)s's work over to you") % names,
                body=_summary(counts),
                url=f"{reverse('customers:contact_list')}?owner={user_id}",
                dedupe_key=f"handover:{reassignment.pk}",
            )


def reassignment_execute(*, reassignment_id: int) -> BulkReassignment | None:
    """Run a queued reassignment: all records move in one transaction, or none do.

    Precondition: called outside a transaction (the job), so that the "running" mark is
    committed before the move starts and other processes see it. A reassignment that is not
    queued (finished, failed or taken by another worker) is left alone, so a retried job
    changes nothing. On failure the move rolls back and the row records the error.
    """
    if not _claim(reassignment_id):
        return None
    reassignment = BulkReassignment.objects.select_related("actor", "from_user", "to_user").get(
        pk=reassignment_id
    )
    audit_log.info("reassignment_started id=%s", reassignment.pk)
    _progress_report(reassignment.pk, 0, 0)  # the first heartbeat, before the selection
    try:
        with transaction.atomic():
            counts = _move(reassignment)
            moved = sum(count for key, count in counts.items() if key != SHARES)
            reassignment.status = BulkReassignment.Status.DONE
            reassignment.total = reassignment.done = moved
            reassignment.counts = counts
            reassignment.finished_at = timezone.now()
            reassignment.save(update_fields=["status", "total", "done", "counts", "finished_at"])
    except Exception as error:  # any failure is recorded; the rollback left nothing half-moved
        audit_log.exception("reassignment_failed id=%s", reassignment.pk)
        reassignment.status = BulkReassignment.Status.FAILED
        reassignment.error = f"{type(error).__name__}: {error}"[:2000]
        reassignment.total = reassignment.done = 0
        reassignment.finished_at = timezone.now()
        reassignment.save(update_fields=["status", "error", "total", "done", "finished_at"])
    else:
        security_event_record(
            kind=SecurityEvent.Kind.REASSIGN,
            actor=reassignment.actor,
            user=reassignment.from_user,
            data={
                "reassignment_id": reassignment.pk,
                "status": "done",
                "from": reassignment.from_user.username,
                "to": reassignment.to_user.username,
                "moved": moved,
                "counts": counts,
            },
        )
        audit_log.info(
            "reassignment_done id=%s actor=%s from=%s to=%s moved=%s",
            reassignment.pk,
            reassignment.actor.username,
            reassignment.from_user.username,
            reassignment.to_user.username,
            moved,
        )
    _progress_cache().delete(_progress_key(reassignment.pk))
    return reassignment


# --- reads for the pages ----------------------------------------------------------------------


def reassignment_get(*, actor: User, pk: int) -> BulkReassignment:
    """A reassignment the actor may look at: any for an administrator, else one they started
    or one between users of their teams; ``NotFound`` otherwise."""
    reassignment_check_allowed(actor=actor)
    row = (
        BulkReassignment.objects.select_related("actor", "from_user", "to_user")
        .filter(pk=pk)
        .first()
    )
    if row is None or not (
        actor.role == Role.ADMIN
        or row.actor_id == actor.pk
        or {row.from_user_id, row.to_user_id} <= CUSTOMER.owner_ids(actor)
    ):
        raise NotFound(_("Reassignment not found."))
    return row


def reassignment_recent(*, actor: User, limit: int = 10) -> list[BulkReassignment]:
    """The latest reassignments the actor may look at, newest first."""
    reassignment_check_allowed(actor=actor)
    rows = BulkReassignment.objects.select_related("actor", "from_user", "to_user")
    if actor.role != Role.ADMIN:
        rows = rows.filter(actor=actor)
    return list(rows.order_by("-created_at", "-id")[:limit])


def handover_receivers_of(reassignment: BulkReassignment) -> list[User]:
    """The receivers of a handover, in the order the work was spread over them."""
    ids = list(reassignment.filters.get("receivers") or [reassignment.to_user_id])
    found = User.objects.in_bulk(ids)
    return [found[pk] for pk in ids if pk in found]


def reassignment_status(*, actor: User, pk: int) -> tuple[BulkReassignment, Progress]:
    """A visible reassignment and its current progress (for the polling status page)."""
    reassignment = reassignment_get(actor=actor, pk=pk)
    return reassignment, reassignment_progress(reassignment=reassignment)
