"""What a stage does when a deal enters it (``StageAction``), and the stale-deal sweep.

Actions run inside the move's transaction: tasks and notifications are rows written with
the move (their e-mails and webhooks leave on commit), so a refused or failed move leaves
no trace and an accepted one never loses its follow-up work.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from crm.accounts.models import User
from crm.accounts.selectors import team_heads_of as team_heads
from crm.activities.choices import EntryKind
from crm.activities.services import timeline_record
from crm.core.permissions import can_write
from crm.customers.services.cleaning import Errors, clean_text
from crm.notifications.models import Notification
from crm.notifications.services import notify_many, webhook_enqueue, webhook_url_problem
from crm.planner.calendars import default_calendar
from crm.planner.models import TaskType
from crm.planner.services import subject_visible_to, task_create
from crm.sales.choices import ActionKind
from crm.sales.models import Deal, Stage, StageAction
from crm.sales.services.visits import visits_settle

DUE_UNITS = ("hours", "days", "work_hours", "work_days")
ASSIGNEES = ("responsible", "head", "user")


def _clean_user_id(errors: Errors, name: str, value: Any) -> int | None:
    try:
        user_id = int(value)
    except (TypeError, ValueError):
        errors.add(name, _("Choose a user."))
        return None
    if not get_user_model().objects.filter(pk=user_id, is_active=True).exists():
        errors.add(name, _("No such active user."))
        return None
    return user_id


def clean_action_config(errors: Errors, kind: str, config: dict[str, Any]) -> dict[str, Any]:
    """Validate one action's settings; field names are prefixed with ``config.``."""
    if kind == ActionKind.CREATE_TASK:
        title = clean_text(
            errors, "config.title", config.get("title"), max_length=300, required=True
        )
        type_code = str(config.get("type") or "todo")
        if not TaskType.objects.filter(code=type_code, archived=False).exists():
            errors.add("config.type", _("Unknown task type."))
        try:
            due_in = int(config.get("due_in") or 0)
        except (TypeError, ValueError):
            due_in = -1
        if not 0 <= due_in <= 1000:
            errors.add("config.due_in", _("From 0 to 1000."))
        unit = config.get("due_unit") or "work_hours"
        if unit not in DUE_UNITS:
            errors.add("config.due_unit", _("Choose hours or days."))
        assignee = config.get("assignee") or "responsible"
        if assignee not in ASSIGNEES:
            errors.add("config.assignee", _("Choose who gets the task."))
        clean: dict[str, Any] = {
            "title": title,
            "type": type_code,
            "due_in": due_in,
            "due_unit": unit,
            "assignee": assignee,
        }
        if assignee == "user":
            clean["user_id"] = _clean_user_id(errors, "config.user_id", config.get("user_id"))
        return clean
    if kind == ActionKind.NOTIFY:
        recipients = config.get("recipients") or []
        if not isinstance(recipients, list) or not recipients:
            errors.add("config.recipients", _("Choose who is notified."))
            recipients = []
        clean_recipients: list[Any] = []
        for value in recipients:
            if value in ("responsible", "head"):
                clean_recipients.append(value)
            else:
                user_id = _clean_user_id(errors, "config.recipients", value)
                if user_id:
                    clean_recipients.append(user_id)
        message = clean_text(errors, "config.message", config.get("message"), max_length=500)
        return {"recipients": list(dict.fromkeys(clean_recipients)), "message": message}
    if kind == ActionKind.SET_OWNER:
        return {"user_id": _clean_user_id(errors, "config.user_id", config.get("user_id"))}
    url = str(config.get("url") or "")
    if problem := webhook_url_problem(url):
        errors.add("config.url", problem)
    secret = clean_text(errors, "config.secret", config.get("secret"), max_length=200)
    return {"url": url, "secret": secret}


def deal_url(deal: Deal) -> str:
    return reverse("sales:deal_detail", args=[deal.pk])


def _due(config: dict[str, Any], now: dt.datetime) -> dt.datetime:
    amount, unit = int(config.get("due_in") or 0), config.get("due_unit") or "work_hours"
    calendar = default_calendar()
    if unit == "hours":
        return now + dt.timedelta(hours=amount)
    if unit == "days":
        return now + dt.timedelta(days=amount)
    if unit == "work_days":
        return calendar.add_days(now, amount)
    return calendar.add_hours(now, amount)


def _task_owner(deal: Deal, config: dict[str, Any]) -> Any:
    assignee = config.get("assignee")
    candidate = None
    if assignee == "head":
        heads = team_heads(deal.owner_id)
        candidate = heads[0] if heads else None
    elif assignee == "user" and (user_id := config.get("user_id")) is not None:
        candidate = get_user_model().objects.filter(pk=user_id, is_active=True).first()
    if candidate is not None and can_write(candidate) and subject_visible_to(candidate, deal):
        return candidate
    return deal.owner


def _run_create_task(
    deal: Deal, stage: Stage, config: dict[str, Any], actor: User, now: dt.datetime
) -> None:
    owner = _task_owner(deal, config)
    task_create(
        actor=actor,
        title=config["title"],
        owner=owner,
        type_code=config.get("type") or "todo",
        subject=deal,
        due_at=_due(config, now),
        origin=f"stage:{stage.pk}",
        check_actor=False,
    )


def _recipients(deal: Deal, values: list[Any]) -> list[Any]:
    users: dict[int, Any] = {}
    for value in values:
        if value == "responsible":
            users[deal.owner_id] = deal.owner
        elif value == "head":
            users.update({head.pk: head for head in team_heads(deal.owner_id)})
    ids = [value for value in values if isinstance(value, int)]
    if ids:
        users.update(
            {user.pk: user for user in get_user_model().objects.filter(pk__in=ids, is_active=True)}
        )
    return list(users.values())


def _run_notify(deal: Deal, stage: Stage, config: dict[str, Any], actor: User) -> None:
    recipients = [
        user
        for user in _recipients(deal, config.get("recipients") or [])
        if actor is None or user.pk != actor.pk
    ]
    notify_many(
        recipients=recipients,
        kind=Notification.Kind.STAGE,
        title=lambda _user: (
            _("Deal “%(deal)s” moved to “%(stage)s”") % {"deal": deal.title, "stage": stage.name}
        ),
        body=config.get("message") or "",
        url=deal_url(deal),
    )


def _run_set_owner(deal: Deal, config: dict[str, Any], actor: User) -> None:
    user_id = config.get("user_id")
    if user_id is None:
        return
    new_owner = get_user_model().objects.filter(pk=user_id, is_active=True).first()
    if new_owner is None or new_owner.pk == deal.owner_id or not can_write(new_owner):
        return
    old = deal.owner
    deal.owner = new_owner
    deal.save(update_fields=["owner", "updated_at"])
    visits_settle([deal.pk])
    timeline_record(
        subject=deal,
        kind=EntryKind.FIELD_CHANGE,
        author=actor,
        data={
            "changes": [
                {
                    "field": "owner",
                    "label": gettext_noop("responsible"),
                    "old": str(old),
                    "new": str(new_owner),
                }
            ]
        },
    )


def webhook_payload(deal: Deal, stage: Stage, actor: User) -> dict[str, Any]:
    return {
        "event": "deal.stage_entered",
        "deal": {
            "id": deal.pk,
            "title": deal.title,
            "pipeline_id": deal.pipeline_id,
            "stage_id": stage.pk,
            "stage": stage.name,
            "status": deal.status,
            "amount": str(deal.amount) if deal.amount is not None else None,
            "currency": deal.currency,
            "owner_id": deal.owner_id,
            "contact_id": deal.contact_id,
            "company_id": deal.company_id,
        },
        "actor_id": actor.pk if actor is not None else None,
        "occurred_at": timezone.now().isoformat(),
    }


def run_stage_actions(*, deal: Deal, stage: Stage, actor: User) -> int:
    """Run the actions of ``stage`` for ``deal``, which has just entered it."""
    actions = list(StageAction.objects.filter(stage=stage).order_by("position", "id"))
    now = timezone.now()
    for action in actions:
        config = action.config or {}
        if action.kind == ActionKind.CREATE_TASK:
            _run_create_task(deal, stage, config, actor, now)
        elif action.kind == ActionKind.NOTIFY:
            _run_notify(deal, stage, config, actor)
        elif action.kind == ActionKind.SET_OWNER:
            _run_set_owner(deal, config, actor)
        elif action.kind == ActionKind.WEBHOOK:
            webhook_enqueue(
                url=config["url"],
                event="deal.stage_entered",
                payload=webhook_payload(deal, stage, actor),
                secret=config.get("secret") or "",
            )
    return len(actions)


# --- stale deals --------------------------------------------------------------------------------


def _stale_title(deal: Deal, days: int) -> Callable[[Any], str]:
    def title(_user: User) -> str:
        return _("No activity on “%(deal)s” for %(days)d days") % {"deal": deal.title, "days": days}

    return title


def stale_deals_sweep(*, now: dt.datetime | None = None, batch: int = 500) -> dict[str, int]:
    """Notify the manager of a deal idle for its stage's limit; if it is still idle after
    as long again, notify the heads of the manager's teams. Each step happens once per idle
    period (any activity on the deal starts a new one). Safe in two schedulers at once:
    rows are claimed with ``SKIP LOCKED`` and the step is recorded in the same transaction.
    """
    now = now or timezone.now()
    counts = {"notified": 0, "escalated": 0}
    with transaction.atomic():
        deals = list(
            Deal.objects.filter(
                status="open", stale_due_at__lte=now, stale_escalated_at__isnull=True
            )
            .select_related("owner", "stage")
            .select_for_update(skip_locked=True, of=("self",))
            .order_by("stale_due_at", "id")[:batch]
        )
        for deal in deals:
            days = deal.stage.stale_after_days or 0
            escalate = deal.stale_notified_at is not None
            recipients = team_heads(deal.owner_id) if escalate else [deal.owner]
            notify_many(
                recipients=recipients,
                kind=Notification.Kind.STALE,
                title=_stale_title(deal, days * (2 if escalate else 1)),
                url=deal_url(deal),
                dedupe_key=f"stale:{deal.pk}:{'head' if escalate else 'owner'}:"
                f"{deal.last_activity_at.isoformat()}",
            )
            if escalate:
                deal.stale_escalated_at, deal.stale_due_at = now, None
                counts["escalated"] += 1
            else:
                deal.stale_notified_at = now
                deal.stale_due_at = now + dt.timedelta(days=days) if days else None
                counts["notified"] += 1
            timeline_record(
                subject=deal,
                kind=EntryKind.SYSTEM,
                title=gettext_noop("Escalated: no activity")
                if escalate
                else gettext_noop("Reminder: no activity"),
                data={"days": days},
            )
        Deal.objects.bulk_update(deals, ["stale_due_at", "stale_notified_at", "stale_escalated_at"])
    return counts
