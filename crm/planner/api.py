"""REST API of the planner: tasks (with completing, reopening, rescheduling, reassigning),
their reminders, and absences with cover.

Endpoints are adapters over the same selectors and services as the pages, so the rules are
the UI's: a task the caller may not see answers 404, a change their role may not make 403,
bad input 422 naming the field (``due_at`` in an impossible format, ``reminders[0]`` after
the due time, ``owner_id`` without access to the record, ``substitute_id`` away too).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema, Status
from pydantic import StringConstraints, model_validator

from crm.accounts.models import User
from crm.core.api import (
    READ_ERRORS,
    WRITE_ERRORS,
    DatabaseId,
    InputSchema,
    IsoDate,
    IsoDateTime,
    Storable,
    UserRefOut,
    request_user,
)
from crm.core.errors import NotFound, ValidationFailed
from crm.core.pagination import MAX_LIMIT
from crm.planner import selectors, services
from crm.planner.models import Task, TaskReminder

router = Router()
tasks_router = Router(tags=["Tasks"])
absences_router = Router(tags=["Absences"])

Short = Annotated[str, StringConstraints(max_length=100), Storable]
Title = Annotated[str, StringConstraints(max_length=1000), Storable]
Long = Annotated[str, StringConstraints(max_length=50000), Storable]
Cursor = Annotated[str, StringConstraints(max_length=1000), Storable]
PEOPLE_CAP = 100
REMINDERS_CAP = 20


# --- schemas -------------------------------------------------------------------------------


class SubjectIn(InputSchema):
    type: Short = Field(description="contact, company, deal (or lead)")
    id: DatabaseId


class ReminderIn(InputSchema):
    """Either ``minutes_before`` the due time (0: at it) or ``at``, a moment not after it."""

    minutes_before: int | None = Field(None, ge=-(10**9), le=10**9)
    at: IsoDateTime | None = None

    @model_validator(mode="after")
    def one_of(self) -> ReminderIn:
        if (self.minutes_before is None) == (self.at is None):
            raise ValueError(_("Give either minutes_before or at."))
        return self

    def spec(self) -> int | dt.datetime:
        return self.at if self.at is not None else int(self.minutes_before or 0)


class TaskIn(InputSchema):
    title: Title
    type: Short = Field("todo", description="call, meeting, email, todo or an added type's code")
    subject: SubjectIn | None = Field(None, description="The record; none for a personal to-do")
    due_at: IsoDateTime | None = Field(None, description="ISO 8601 with the offset")
    all_day: bool = False
    duration_minutes: int | None = Field(None, ge=-(10**9), le=10**9)
    description: Long = ""
    priority: int = Field(2, description="1 low, 2 normal, 3 high", ge=-(10**9), le=10**9)
    owner_id: DatabaseId | None = Field(None, description="The responsible; the caller if none")
    coworker_ids: Annotated[list[DatabaseId], Field(max_length=PEOPLE_CAP)] = []
    watcher_ids: Annotated[list[DatabaseId], Field(max_length=PEOPLE_CAP)] = []
    reminders: Annotated[list[ReminderIn], Field(max_length=REMINDERS_CAP)] | None = Field(
        None, description="None: one at the due time; [] for none"
    )


class TaskPatch(InputSchema):
    """The fields to change; the ones left out stay."""

    title: Title | None = None
    type: Short | None = None
    due_at: IsoDateTime | None = None
    all_day: bool | None = None
    duration_minutes: int | None = Field(None, ge=-(10**9), le=10**9)
    description: Long | None = None
    priority: int | None = Field(None, ge=-(10**9), le=10**9)
    coworker_ids: Annotated[list[DatabaseId], Field(max_length=PEOPLE_CAP)] | None = None
    watcher_ids: Annotated[list[DatabaseId], Field(max_length=PEOPLE_CAP)] | None = None
    reminders: Annotated[list[ReminderIn], Field(max_length=REMINDERS_CAP)] | None = None


class CompleteIn(InputSchema):
    result: Long = ""
    outcome: Short = Field(
        "", description="For calls: reached, no_answer, busy, call_back, wrong_number"
    )


class RescheduleIn(InputSchema):
    due_at: IsoDateTime | None
    all_day: bool = False


class ReassignIn(InputSchema):
    owner_id: DatabaseId


class ReminderOut(Schema):
    id: int
    minutes_before: int
    fire_at: dt.datetime
    sent_at: dt.datetime | None


class SubjectOut(Schema):
    type: str
    id: int
    name: str


class TaskOut(Schema):
    id: int
    title: str
    type: str
    status: str = Field(description="open, done or cancelled")
    subject: SubjectOut | None
    due_at: dt.datetime | None
    all_day: bool
    duration_minutes: int | None
    priority: int
    is_overdue: bool
    owner: UserRefOut
    coworker_ids: list[int]
    watcher_ids: list[int]
    reminders: list[ReminderOut]
    description: str
    result: str
    outcome: str
    completed_at: dt.datetime | None
    origin: str
    created_at: dt.datetime
    updated_at: dt.datetime

    @staticmethod
    def resolve_type(obj: Task) -> str:
        return obj.type.code

    @staticmethod
    def resolve_subject(obj: Task) -> dict[str, Any] | None:
        record = getattr(obj, "subject_record", None)
        if record is None:
            return None
        return {"type": record._meta.model_name, "id": record.pk, "name": str(record)}

    @staticmethod
    def resolve_is_overdue(obj: Task) -> bool:
        return obj.is_overdue()

    @staticmethod
    def resolve_coworker_ids(obj: Task) -> list[int]:
        return [user.pk for user in obj.coworkers.all()]

    @staticmethod
    def resolve_watcher_ids(obj: Task) -> list[int]:
        return [user.pk for user in obj.watchers.all()]

    @staticmethod
    def resolve_reminders(obj: Task) -> list[TaskReminder]:
        return list(obj.reminders.all())


class TaskPageOut(Schema):
    items: list[TaskOut]
    next_cursor: str | None


class TaskListParams(Schema):
    scope: str = Field("mine", description="mine, team, covered or all")
    view: str = Field("open", description="open, overdue, today, week, done or all")
    type: Short = ""
    owner: DatabaseId | None = None
    team: DatabaseId | None = None
    subject: Short = Field("", description="contact:12, company:3, deal:7")
    q: Short = ""
    cursor: Cursor | None = None
    limit: int = Field(50, ge=1, le=MAX_LIMIT)


class AbsenceIn(InputSchema):
    user_id: DatabaseId | None = Field(None, description="Who is away; the caller if none")
    kind: Short = Field(description="vacation, sick or trip")
    starts_on: IsoDate
    ends_on: IsoDate = Field(description="The last day away (included)")
    substitute_id: DatabaseId | None = None
    note: Title = ""


class AbsenceOut(Schema):
    id: int
    user: UserRefOut
    kind: str
    starts_on: dt.date
    ends_on: dt.date
    substitute: UserRefOut | None
    note: str
    created_at: dt.datetime
    cancelled_at: dt.datetime | None


class AbsenceListParams(Schema):
    starts_on: IsoDate | None = Field(None, description="From (today if none)")
    ends_on: IsoDate | None = Field(None, description="Until (60 days on if none)")
    user_id: DatabaseId | None = None


class AwayOut(Schema):
    on: dt.date
    user_ids: list[int]


# --- tasks ---------------------------------------------------------------------------------


def _task_out(actor: User, pk: int) -> Task:
    """The task as the API shows it, read back through the caller's scope."""
    return selectors.task_detail(user=actor, pk=pk)


def _user(pk: int | None, actor: User | None, field: str) -> Any:
    if pk is None:
        return actor
    user = selectors.user_by_id(pk)
    if user is None:
        raise ValidationFailed(field_errors={field: [_("No such active user.")]})
    return user


@tasks_router.get("", response={200: TaskPageOut, **READ_ERRORS}, summary="Tasks")
def task_list(request: HttpRequest, params: Query[TaskListParams]) -> Any:
    """Tasks the caller sees under the filters, soonest due first, one page after ``cursor``."""
    filters = selectors.TaskFilters.from_params(params.dict())
    page = selectors.task_table(
        user=request_user(request), filters=filters, cursor=params.cursor, limit=params.limit
    )
    selectors.task_prefetch_api(page.items)
    return {"items": page.items, "next_cursor": page.next_cursor}


@tasks_router.post("", response={201: TaskOut, **WRITE_ERRORS}, summary="Create a task")
def task_create(request: HttpRequest, payload: TaskIn) -> Any:
    actor = request_user(request)
    subject = (
        services.subject_find(actor=actor, kind=payload.subject.type, pk=payload.subject.id)
        if payload.subject
        else None
    )
    task = services.task_create(
        actor=actor,
        title=payload.title,
        owner=_user(payload.owner_id, actor, "owner_id"),
        type_code=payload.type,
        subject=subject,
        due_at=payload.due_at,
        all_day=payload.all_day,
        duration_minutes=payload.duration_minutes,
        description=payload.description,
        priority=payload.priority,
        coworker_ids=payload.coworker_ids,
        watcher_ids=payload.watcher_ids,
        reminders=None
        if payload.reminders is None
        else [reminder.spec() for reminder in payload.reminders],
    )
    return Status(201, _task_out(actor, task.pk))


@tasks_router.get("/{task_id}", response={200: TaskOut, **READ_ERRORS}, summary="A task")
def task_get(request: HttpRequest, task_id: DatabaseId) -> Any:
    return _task_out(request_user(request), task_id)


@tasks_router.patch("/{task_id}", response={200: TaskOut, **WRITE_ERRORS}, summary="Change a task")
def task_update(request: HttpRequest, task_id: DatabaseId, payload: TaskPatch) -> Any:
    """Change the fields present in the body. A new ``due_at`` moves the reminders;
    ``reminders`` replaces them. The responsible changes with ``/reassign``."""
    actor = request_user(request)
    given = payload.model_fields_set
    changes: dict[str, Any] = {}
    for name in ("title", "description", "priority", "duration_minutes", "due_at"):
        if name in given:
            changes[name] = getattr(payload, name)
    if "type" in given and payload.type is not None:
        changes["type_code"] = payload.type
    if "all_day" in given and payload.all_day is not None:
        changes["all_day"] = payload.all_day
    for name in ("coworker_ids", "watcher_ids"):
        if name in given:
            changes[name] = getattr(payload, name) or []
    if "reminders" in given:
        changes["reminders"] = [reminder.spec() for reminder in payload.reminders or []]
    for required in ("title", "priority"):
        if required in changes and changes[required] is None:
            raise ValidationFailed(field_errors={required: [_("This field is required.")]})
    services.task_update(actor=actor, pk=task_id, **changes)
    return _task_out(actor, task_id)


@tasks_router.delete("/{task_id}", response={204: None, **WRITE_ERRORS}, summary="Cancel a task")
def task_cancel(request: HttpRequest, task_id: DatabaseId) -> Any:
    """The task is cancelled, not erased: it stays in the history of its record."""
    services.task_cancel(actor=request_user(request), pk=task_id)
    return Status(204, None)


@tasks_router.post(
    "/{task_id}/complete", response={200: TaskOut, **WRITE_ERRORS}, summary="Complete a task"
)
def task_complete(request: HttpRequest, task_id: DatabaseId, payload: CompleteIn) -> Any:
    """Close the task with its result (a call needs its ``outcome``); it goes on the
    record's timeline."""
    actor = request_user(request)
    services.task_complete(actor=actor, pk=task_id, result=payload.result, outcome=payload.outcome)
    return _task_out(actor, task_id)


@tasks_router.post(
    "/{task_id}/reopen", response={200: TaskOut, **WRITE_ERRORS}, summary="Reopen a task"
)
def task_reopen(request: HttpRequest, task_id: DatabaseId) -> Any:
    actor = request_user(request)
    services.task_reopen(actor=actor, pk=task_id)
    return _task_out(actor, task_id)


@tasks_router.post(
    "/{task_id}/reschedule", response={200: TaskOut, **WRITE_ERRORS}, summary="Reschedule"
)
def task_reschedule(request: HttpRequest, task_id: DatabaseId, payload: RescheduleIn) -> Any:
    actor = request_user(request)
    services.task_reschedule(
        actor=actor, pk=task_id, due_at=payload.due_at, all_day=payload.all_day
    )
    return _task_out(actor, task_id)


@tasks_router.post(
    "/{task_id}/reassign", response={200: TaskOut, **WRITE_ERRORS}, summary="Reassign"
)
def task_reassign(request: HttpRequest, task_id: DatabaseId, payload: ReassignIn) -> Any:
    """Give the task to another user; they must see its record (else 422 ``owner_id``). If
    the caller no longer sees the task afterwards, the answer is the task as it was given."""
    actor = request_user(request)
    task = services.task_reassign(actor=actor, pk=task_id, owner_id=payload.owner_id)
    try:
        return _task_out(actor, task_id)
    except NotFound:  # the new responsible is outside the caller's scope
        selectors.attach_subjects([task])
        selectors.task_prefetch_api([task])
        return task


@tasks_router.get(
    "/{task_id}/reminders",
    response={200: list[ReminderOut], **READ_ERRORS},
    summary="Reminders of a task",
)
def reminder_list(request: HttpRequest, task_id: DatabaseId) -> Any:
    return list(_task_out(request_user(request), task_id).reminders.all())


@tasks_router.post(
    "/{task_id}/reminders",
    response={201: ReminderOut, **WRITE_ERRORS},
    summary="Add a reminder",
)
def reminder_add(request: HttpRequest, task_id: DatabaseId, payload: ReminderIn) -> Any:
    """A reminder ``minutes_before`` the due time or ``at`` a moment; one after the due
    time answers 422 naming the field."""
    reminder = services.reminder_add(
        actor=request_user(request), task_pk=task_id, spec=payload.spec()
    )
    return Status(201, reminder)


@tasks_router.delete(
    "/{task_id}/reminders/{reminder_id}",
    response={204: None, **WRITE_ERRORS},
    summary="Remove a reminder",
)
def reminder_delete(request: HttpRequest, task_id: DatabaseId, reminder_id: DatabaseId) -> Any:
    services.reminder_delete(actor=request_user(request), task_pk=task_id, pk=reminder_id)
    return Status(204, None)


# --- absences ------------------------------------------------------------------------------


@absences_router.get("", response={200: list[AbsenceOut], **READ_ERRORS}, summary="Absences")
def absence_list(request: HttpRequest, params: Query[AbsenceListParams]) -> Any:
    """Absences the caller sees (their teams', their own, the ones they cover) that overlap
    the period, cancelled ones included."""
    start = params.starts_on or timezone.localdate()
    end = params.ends_on or start + dt.timedelta(days=60)
    if end < start:
        raise ValidationFailed(field_errors={"ends_on": [_("Must not be before the start.")]})
    if (end - start).days > 400:
        raise ValidationFailed(field_errors={"ends_on": [_("At most 400 days at once.")]})
    rows = (
        selectors.absences_visible_to(request_user(request))
        .with_people()
        .filter(starts_on__lte=end, ends_on__gte=start)
    )
    if params.user_id:
        rows = rows.filter(user_id=params.user_id)
    return list(rows.order_by("starts_on", "id")[:500])


@absences_router.post("", response={201: AbsenceOut, **WRITE_ERRORS}, summary="Record an absence")
def absence_create(request: HttpRequest, payload: AbsenceIn) -> Any:
    """Refused with 422 naming the field: dates out of order, an overlap, a substitute who
    is away in the period too (``substitute_id``); 403 for someone else's absence unless the
    caller is their head or an administrator."""
    actor = request_user(request)
    absence = services.absence_create(
        actor=actor,
        user=_user(payload.user_id, actor, "user_id"),
        kind=payload.kind,
        starts_on=payload.starts_on,
        ends_on=payload.ends_on,
        substitute=_user(payload.substitute_id, None, "substitute_id")
        if payload.substitute_id
        else None,
        note=payload.note,
    )
    return Status(201, services.absence_get(actor=actor, pk=absence.pk))


@absences_router.get("/away", response={200: AwayOut, **READ_ERRORS}, summary="Who is away")
def away(request: HttpRequest, on: dt.date | None = None) -> Any:
    """Ids of the users away on ``on`` (today if none), by absence or profile dates, among
    those whose absences the caller sees (their teams', their own, the ones they cover)."""
    day = on or timezone.localdate()
    return {
        "on": day,
        "user_ids": sorted(selectors.away_user_ids(user=request_user(request), on=day)),
    }


@absences_router.get(
    "/{absence_id}", response={200: AbsenceOut, **READ_ERRORS}, summary="An absence"
)
def absence_get(request: HttpRequest, absence_id: DatabaseId) -> Any:
    return services.absence_get(actor=request_user(request), pk=absence_id)


@absences_router.delete(
    "/{absence_id}", response={204: None, **WRITE_ERRORS}, summary="Cancel an absence"
)
def absence_cancel(request: HttpRequest, absence_id: DatabaseId) -> Any:
    """The absence is kept as cancelled (the record of the access it gave), which ends now."""
    services.absence_cancel(actor=request_user(request), pk=absence_id)
    return Status(204, None)


router.add_router("/tasks", tasks_router)
router.add_router("/absences", absences_router)
