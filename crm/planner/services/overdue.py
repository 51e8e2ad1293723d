"""Overdue tasks: the daily digest to each user and to the heads of their team, and the
escalation of a task overdue for too long.

Both run from the scheduler and are safe in two processes at once. A digest run is claimed
by inserting ``DigestRun(key, day)`` in the transaction that writes the digests, so only one
process sends a team's digest on a day (the other's INSERT waits on the unique index and
fails once the first commits). An escalation is claimed per task by one conditional UPDATE of
``escalated_at``, in the transaction that writes its notifications.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict
from collections.abc import Callable, Iterable
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.db.models import Count, Q
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from crm.accounts.models import Team, TeamMembership, User
from crm.accounts.selectors import team_heads_of
from crm.core.errors import PermissionDenied, ValidationFailed
from crm.core.permissions import Role
from crm.notifications.models import Notification
from crm.notifications.services import notify, notify_many
from crm.planner.choices import TaskStatus
from crm.planner.models import DigestRun, EscalationShare, Task
from crm.planner.selectors import attach_subjects, overdue_filter
from crm.planner.services.absences import substitutes_on
from crm.planner.services.subjects import subject_share, subject_url, subject_visible_to

logger = logging.getLogger("crm.planner")

DIGEST_LINES = 10
ESCALATION_BATCH = 100
UNTEAMED_KEY = "users"


def team_zone(team: Team | None) -> ZoneInfo:
    """The team's time zone (the site's when unset or unknown)."""
    name = (team.time_zone if team is not None else "") or settings.TIME_ZONE
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        logger.warning("unknown time zone %r of team %s", name, getattr(team, "pk", None))
        return ZoneInfo(settings.TIME_ZONE)


def team_digest_set(*, actor: User, team: Team, digest_time: dt.time, time_zone: str) -> Team:
    """Set when the team's overdue digest goes out: a time of day in a time zone ("" for the
    site's). An administrator, or a head of the team. Refuses an unknown zone
    (``time_zone``)."""
    if not (
        actor.is_active and (actor.role == Role.ADMIN or team.heads.filter(pk=actor.pk).exists())
    ):
        raise PermissionDenied(_("Only an administrator or the team's head may change this."))
    time_zone = (time_zone or "").strip()
    errors: dict[str, list[str]] = {}
    if time_zone:
        try:
            ZoneInfo(time_zone)
        except (ZoneInfoNotFoundError, ValueError):
            errors["time_zone"] = [_("Unknown time zone, e.g. Europe/Moscow.")]
    if not isinstance(digest_time, dt.time):
        errors["digest_time"] = [_("Enter a valid time.")]
    if errors:
        raise ValidationFailed(_("Check the settings."), field_errors=errors)
    team.digest_time = digest_time.replace(second=0, microsecond=0)
    team.time_zone = time_zone
    team.save(update_fields=["digest_time", "time_zone", "updated_at"])
    return team


def _default_digest_time() -> dt.time:
    return dt.time.fromisoformat(settings.CRM_TASK_DIGEST_TIME)


def _claim_run(key: str, day: dt.date) -> bool:
    try:
        with transaction.atomic():
            DigestRun.objects.create(key=key, day=day)
    except IntegrityError:
        return False
    return True


def _line(task: Task, zone: ZoneInfo) -> str:
    """A task of the digest, its due time told in the team's time zone (an all-day task's
    day in the site's, where it was set)."""
    due = task.due_at
    assert due is not None  # an overdue task has a due time
    if task.all_day:
        when = formats.date_format(timezone.localtime(due), "DATE_FORMAT")
    else:
        when = formats.date_format(due.astimezone(zone), "SHORT_DATETIME_FORMAT")
    subject = getattr(task, "subject_record", None)
    return f"• {task.title} — {when}" + (f" ({subject})" if subject is not None else "")


def _lines(tasks: list[Task], zone: ZoneInfo) -> str:
    shown = [_line(task, zone) for task in tasks[:DIGEST_LINES]]
    if len(tasks) > DIGEST_LINES:
        shown.append(_("… and %(n)d more") % {"n": len(tasks) - DIGEST_LINES})
    return "\n".join(shown)


def _list_url(**params: Any) -> str:
    return f"{reverse('planner:task_list')}?{urlencode(params)}"


def _own_title(count: int) -> Callable[[Any], str]:
    def title(user: User) -> str:
        return ngettext("You have %(n)d overdue task", "You have %(n)d overdue tasks", count) % {
            "n": count
        }

    return title


def _cover_title(count: int, owner: User) -> Callable[[User], str]:
    def title(user: User) -> str:
        return ngettext(
            "%(user)s, whom you cover, has %(n)d overdue task",
            "%(user)s, whom you cover, has %(n)d overdue tasks",
            count,
        ) % {"n": count, "user": owner}

    return title


def _lines_of(tasks: list[Task], zone: ZoneInfo) -> Callable[[Any], str]:
    return lambda user: _lines(tasks, zone)


def _send_digests(
    *, key: str, members: list[Any], heads: list[Any], team: Team | None, day: dt.date, now: Any
) -> dict[str, int]:
    """The digests of one team's run: each member's own, cover ones, the heads' summary."""
    counts = {"users": 0, "heads": 0}
    zone = team_zone(team)
    member_ids = {member.pk for member in members}
    tasks = list(
        Task.objects.filter(overdue_filter(now), owner_id__in=member_ids)
        .select_related("owner", "type")
        .order_by("due_at", "id")
    )
    attach_subjects(tasks)
    by_owner: dict[int, list[Task]] = defaultdict(list)
    for task in tasks:
        by_owner[task.owner_id].append(task)
    people = {member.pk: member for member in members}
    for owner_id, owned in by_owner.items():
        rows = notify_many(
            recipients=[people[owner_id]],
            kind=Notification.Kind.TASK,
            title=_own_title(len(owned)),
            body=_lines_of(owned, zone),
            url=_list_url(view="overdue"),
            dedupe_key=f"overdue-digest:{day}",
        )
        counts["users"] += len(rows)
    cover = substitutes_on(day=day, user_ids=by_owner)
    for owner_id, substitute in cover.items():
        owned = by_owner[owner_id]
        rows = notify_many(
            recipients=[substitute],
            kind=Notification.Kind.TASK,
            title=_cover_title(len(owned), people[owner_id]),
            body=_lines_of(owned, zone),
            url=_list_url(view="overdue", owner=owner_id),
            dedupe_key=f"overdue-digest:{day}:cover:{owner_id}",
        )
        counts["users"] += len(rows)
    if team is not None and tasks and heads:

        def head_body(user: User) -> str:
            lines = [f"{people[owner_id]}: {len(owned)}" for owner_id, owned in by_owner.items()]
            return "\n".join(sorted(lines))

        rows = notify_many(
            recipients=heads,
            kind=Notification.Kind.TASK,
            title=lambda user: (
                ngettext(
                    "%(team)s: %(n)d overdue task", "%(team)s: %(n)d overdue tasks", len(tasks)
                )
                % {"team": team.name, "n": len(tasks)}
            ),
            body=head_body,
            url=_list_url(view="overdue", scope="team", team=team.pk),
            dedupe_key=f"team-digest:{team.pk}:{day}",
        )
        counts["heads"] += len(rows)
    logger.info("overdue_digest key=%s day=%s %s", key, day, counts)
    return counts


def digests_send(*, now: dt.datetime | None = None) -> dict[str, int]:
    """Send today's overdue digests of every team whose digest time has come.

    Each team goes at its ``digest_time`` in its ``time_zone``; users in no team at
    ``CRM_TASK_DIGEST_TIME`` in the site's zone. A run missed while the scheduler was down
    goes out when it is back, the same day. Returns how many notifications were written.
    """
    now = now or timezone.now()
    total = {"runs": 0, "users": 0, "heads": 0}
    users = get_user_model().objects.filter(is_active=True)
    for team in Team.objects.order_by("pk"):
        local = now.astimezone(team_zone(team))
        if local.time() < team.digest_time:
            continue
        key = f"team:{team.pk}"
        with transaction.atomic():
            if not _claim_run(key, local.date()):
                continue
            counts = _send_digests(
                key=key,
                members=list(users.filter(teams=team)),
                heads=list(users.filter(led_teams=team)),
                team=team,
                day=local.date(),
                now=now,
            )
        total["runs"] += 1
        for name in ("users", "heads"):
            total[name] += counts[name]
    local = now.astimezone(team_zone(None))
    if local.time() >= _default_digest_time():
        with transaction.atomic():
            if _claim_run(UNTEAMED_KEY, local.date()):
                lonely = users.exclude(pk__in=TeamMembership.objects.values("user_id")).exclude(
                    role=Role.READONLY
                )
                counts = _send_digests(
                    key=UNTEAMED_KEY,
                    members=list(lonely),
                    heads=[],
                    team=None,
                    day=local.date(),
                    now=now,
                )
                total["runs"] += 1
                total["users"] += counts["users"]
    return total


# --- escalation ----------------------------------------------------------------------------


def _colleague(task: Task, exclude: set[int], away: Iterable[int]) -> Any:
    """Who else should look: a co-worker of the task, else the team-mate with the fewest
    open tasks who is not away (neither a head nor the responsible)."""
    skip = exclude | set(away)
    coworker = task.coworkers.filter(is_active=True).exclude(pk__in=skip).first()
    if coworker is not None:
        return coworker
    teams = TeamMembership.objects.filter(user_id=task.owner_id).values("team_id")
    return (
        get_user_model()
        .objects.filter(is_active=True, teams__in=teams)
        .exclude(pk__in=skip)
        .exclude(role__in=[Role.READONLY, Role.HEAD])
        .annotate(open_tasks=Count("tasks", filter=Q(tasks__status=TaskStatus.OPEN)))
        .order_by("open_tasks", "pk")
        .first()
    )


def _escalate(task: Task, *, now: dt.datetime, hours: float) -> int:
    """Tell the substitute of an absent responsible, or the heads and a colleague."""
    from crm.planner.services.absences import users_away

    day = timezone.localdate(now)
    owner = task.owner
    subject = getattr(task, "subject_record", None)
    task_link = reverse("planner:task_detail", args=[task.pk])
    shared_with: set[int] = set()

    def link(user: User) -> str:
        if subject is not None and subject_visible_to(user, subject):
            return subject_url(subject)
        return task_link

    def body(user: User) -> str:
        lines = [
            _("Responsible: %(user)s") % {"user": owner},
            _("Due: %(when)s")
            % {
                "when": formats.date_format(
                    timezone.localtime(task.due_at), "SHORT_DATETIME_FORMAT"
                )
            },
        ]
        if subject is not None:
            lines.append(_("Client: %(name)s") % {"name": subject})
        if user.pk in shared_with:
            lines.append(
                _(
                    "The record is shared with you until the task is closed, so you can see "
                    "its history."
                )
            )
        return "\n".join(lines)

    substitute = substitutes_on(day=day, user_ids=[owner.pk]).get(owner.pk)
    written = 0
    if substitute is not None:
        row = _notify_escalation(
            substitute,
            task,
            title=lambda user: (
                _("Overdue task of %(user)s, whom you cover: %(title)s")
                % {"user": owner, "title": task.title}
            ),
            body=body,
            url=link(substitute),
        )
        return int(row)
    heads = team_heads_of(owner.pk)
    people = list(heads)
    colleague = _colleague(task, {owner.pk, *(head.pk for head in heads)}, users_away(day))
    if colleague is not None:
        people.append(colleague)
        task.watchers.add(colleague)
        # The client's history one click away: a manager does not see a team-mate's
        # clients, so the record is shared with them (on its timeline, revocable).
        if subject is not None and subject_share(subject, colleague):
            shared_with.add(colleague.pk)
            EscalationShare.objects.get_or_create(task=task, user=colleague)
    for person in people:
        written += _notify_escalation(
            person,
            task,
            title=lambda user: (
                _("Overdue for more than %(hours)s h: %(title)s (%(user)s)")
                % {"hours": formats.number_format(hours), "title": task.title, "user": owner}
            ),
            body=body,
            url=link(person),
        )
    return written


def _notify_escalation(person: Any, task: Task, *, title: Any, body: Any, url: str) -> bool:
    return (
        notify(
            recipient=person,
            kind=Notification.Kind.TASK,
            title=title,
            body=body,
            url=url,
            dedupe_key=f"escalation:{task.pk}",
        )
        is not None
    )


def escalations_run(*, now: dt.datetime | None = None) -> dict[str, int]:
    """Escalate the open tasks overdue by more than ``CRM_TASK_ESCALATE_AFTER_HOURS``, once
    each (0 turns it off). An all-day task counts from the end of its day."""
    hours = float(settings.CRM_TASK_ESCALATE_AFTER_HOURS)
    total = {"escalated": 0, "notifications": 0}
    if hours <= 0:
        return total
    now = now or timezone.now()
    cutoff = now - dt.timedelta(hours=hours)
    due = Task.objects.filter(
        Q(all_day=False, due_at__lt=cutoff)
        | Q(all_day=True, due_at__lt=cutoff - dt.timedelta(days=1)),
        status=TaskStatus.OPEN,
        escalated_at__isnull=True,
    )
    while True:
        candidates = list(
            due.select_related("owner", "type").order_by("due_at", "id")[:ESCALATION_BATCH]
        )
        if not candidates:
            break
        attach_subjects(candidates)
        for task in candidates:
            with transaction.atomic():
                claimed = Task.objects.filter(pk=task.pk, escalated_at__isnull=True).update(
                    escalated_at=now
                )
                if not claimed:
                    continue
                total["escalated"] += 1
                total["notifications"] += _escalate(task, now=now, hours=hours)
        if len(candidates) < ESCALATION_BATCH:
            break
    if total["escalated"]:
        logger.info("escalations %s", total)
    return total
