"""Task pages: "My day", the list with filters, the card with its actions (complete,
reopen, cancel, reschedule, reassign) and the create/edit form.

Adapters only: each view parses, calls one selector or service and renders. A task the
user may not see answers 404; a refused change re-renders the form with 422.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import urlencode

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from crm.accounts.http import SignedInRequest
from crm.core import errors
from crm.core.forms import domain_errors, form_page, form_post, saved
from crm.core.pages import safe_next
from crm.core.pagination import Page
from crm.core.permissions import can_write, sees_everything
from crm.planner import selectors, services
from crm.planner.forms import CompleteForm, ReassignForm, RescheduleForm, TaskForm
from crm.planner.models import Task

T = TypeVar("T")


def wants_json(request: HttpRequest) -> bool:
    return "application/json" in request.headers.get("Accept", "")


@login_required
def my_day(request: SignedInRequest) -> HttpResponse:
    """Overdue, today's and tomorrow's open tasks of the user and those they cover."""
    day = selectors.my_day(user=request.user)
    sections = [
        ("overdue", _("Overdue"), day.overdue),
        ("today", _("Today"), day.today),
        ("tomorrow", _("Tomorrow"), day.tomorrow),
        ("undated", _("No due date"), day.undated),
    ]
    context = {"day": day, "sections": sections, "can_write": can_write(request.user)}
    return render(request, "planner/my_day.html", context)


@login_required
def task_list(request: SignedInRequest) -> HttpResponse:
    """Tasks under the filters of the query string, a keyset page at a time."""
    filters = selectors.TaskFilters.from_params(request.GET)
    status, error = 200, ""
    try:
        page = selectors.task_table(
            user=request.user, filters=filters, cursor=request.GET.get("cursor") or None
        )
    except errors.ValidationFailed as exc:
        page, status = Page([], None), 400
        error = "; ".join(m for ms in exc.field_errors.values() for m in ms) or exc.message
    kept = {key: value for key, value in request.GET.items() if key != "cursor" and value}
    teams = selectors.teams_led(request.user)
    context = {
        "page": page,
        "filters": filters,
        "types": selectors.task_types(),
        "teams": teams,
        "can_see_team": bool(teams) or request.user.role == "readonly",
        "owners": selectors.assignable_users(actor=request.user)
        if teams or sees_everything(request.user)
        else [],
        "now": timezone.now(),
        "today": timezone.localdate(),
        "error": error,
        "next_url": f"?{urlencode({**kept, 'cursor': page.next_cursor})}"
        if page.next_cursor
        else "",
        "first_url": f"?{urlencode(kept)}" if request.GET.get("cursor") else "",
        "can_write": can_write(request.user),
    }
    return render(request, "planner/task_list.html", context, status=status)


def _detail_context(request: SignedInRequest, task: Any, **forms: Any) -> dict[str, Any]:
    local_due = timezone.localtime(task.due_at) if task.due_at else None
    subject = task.subject_record
    visible = subject is not None and services.subject_visible_to(request.user, subject)
    return {
        "task": task,
        "subject_url": services.subject_url(subject) if visible else "",
        # The record's latest history beside the task: what was said before the call.
        "history": services.subject_history(subject, request.user) if visible else [],
        "can_change": services.task_can_change(request.user, task),
        "is_overdue": task.is_overdue(),
        "complete_form": forms.get("complete_form") or CompleteForm(),
        "reschedule_form": forms.get("reschedule_form")
        or RescheduleForm(
            initial={
                "due_date": local_due.date() if local_due else None,
                "due_time": local_due.time().replace(second=0, microsecond=0)
                if local_due and not task.all_day
                else None,
                "all_day": task.all_day,
            }
        ),
        "reassign_form": forms.get("reassign_form")
        or ReassignForm(
            initial={"owner_id": str(task.owner_id)},
            owners=selectors.assignable_users(actor=request.user),
        ),
        "open_panel": forms.get("open_panel", ""),
    }


@login_required
@domain_errors
def task_detail(request: SignedInRequest, pk: int) -> HttpResponse:
    task = selectors.task_detail(user=request.user, pk=pk)
    return render(request, "planner/task_detail.html", _detail_context(request, task))


TASK_FIELDS = (
    "title",
    "type_code",
    "due_at",
    "all_day",
    "duration_minutes",
    "description",
    "priority",
    "coworker_ids",
    "watcher_ids",
    "reminders",
)


def _task_fields(form: TaskForm) -> dict[str, Any]:
    """The fields that creating and changing a task both take, as the services name them."""
    return {name: form.cleaned_data[name] for name in TASK_FIELDS}


def _form(request: SignedInRequest, **kwargs: Any) -> TaskForm:
    return TaskForm(
        request.POST if request.method == "POST" else None,
        types=selectors.task_types(),
        owners=selectors.assignable_users(actor=request.user),
        people=selectors.people_choices(),
        **kwargs,
    )


def _subject_from(request: SignedInRequest, value: str) -> Any:
    kind, _sep, number = (value or "").partition(":")
    if not kind:
        return None
    return services.subject_find(actor=request.user, kind=kind, pk=number)


@login_required
@domain_errors
@require_http_methods(["GET", "POST"])
def task_create(request: SignedInRequest) -> HttpResponse:
    """A new task, for a record (``?subject=contact:12``) or a personal to-do."""
    if not can_write(request.user):
        raise PermissionDenied(_("Your role may not create tasks."))
    subject_value = request.POST.get("subject") or request.GET.get("subject") or ""
    subject = _subject_from(request, subject_value)
    initial = {
        "owner_id": str(request.user.pk),
        "subject": subject_value,
        "reminders": [15],
        "type_code": request.GET.get("type") or "call",
        "due_date": request.GET.get("due") or timezone.localdate(),
    }
    form = _form(request, initial=initial)

    def page(status: int) -> HttpResponse:
        context = {"form": form, "subject": subject, "task": None, "next": safe_next(request, "")}
        return render(request, "planner/task_form.html", context, status=status)

    return form_page(
        request,
        form,
        lambda: services.task_create(
            actor=request.user,
            owner=selectors.user_by_id(form.cleaned_data["owner_id"]),
            subject=subject,
            **_task_fields(form),
        ),
        success=lambda task: saved(
            request,
            _("Task created."),
            safe_next(request, reverse("planner:task_detail", args=[task.pk])),
        ),
        page=page,
    )


@login_required
@domain_errors
@require_http_methods(["GET", "POST"])
def task_edit(request: SignedInRequest, pk: int) -> HttpResponse:
    task = selectors.task_detail(user=request.user, pk=pk)
    if not services.task_can_change(request.user, task):
        raise PermissionDenied(_("You may not change this task."))
    local_due = timezone.localtime(task.due_at) if task.due_at else None
    initial = {
        "title": task.title,
        "type_code": task.type.code,
        "due_date": local_due.date() if local_due else None,
        "due_time": local_due.time().replace(second=0, microsecond=0)
        if local_due and not task.all_day
        else None,
        "all_day": task.all_day,
        "duration_minutes": task.duration_minutes,
        "owner_id": str(task.owner_id),
        "priority": task.priority,
        "description": task.description,
        "reminders": [reminder.minutes_before for reminder in task.reminders.all()],
        "coworker_ids": [str(user.pk) for user in task.coworkers.all()],
        "watcher_ids": [str(user.pk) for user in task.watchers.all()],
    }
    form = _form(request, initial=initial)
    form.fields["owner_id"].disabled = True
    form.fields["owner_id"].help_text = _("Use “Reassign” on the task to change it.")

    def page(status: int) -> HttpResponse:
        context = {"form": form, "subject": task.subject_record, "task": task, "next": ""}
        return render(request, "planner/task_form.html", context, status=status)

    return form_page(
        request,
        form,
        lambda: services.task_update(actor=request.user, pk=task.pk, **_task_fields(form)),
        success=lambda _task: saved(request, _("Saved."), "planner:task_detail", pk=task.pk),
        page=page,
    )


def _form_refusal(form: forms.Form) -> errors.ValidationFailed:
    """A form's own errors as the domain refusal (the 422 page and its JSON)."""
    return errors.ValidationFailed(
        _("Check the task."),
        field_errors={
            name: [str(message) for message in found] for name, found in form.errors.items()
        },
    )


def _refused(
    request: SignedInRequest, pk: int, exc: errors.ValidationFailed, **forms: Any
) -> HttpResponse:
    task = selectors.task_detail(user=request.user, pk=pk)
    context = _detail_context(request, task, **forms)
    context["error"] = exc.message
    return render(request, "planner/task_detail.html", context, status=422)


def _task_form_post(
    request: SignedInRequest,
    pk: int,
    form: forms.Form,
    save: Callable[[], T],
    *,
    panel: str,
    success: Callable[[T], HttpResponse],
    invalid: Callable[[forms.Form], errors.ValidationFailed] = _form_refusal,
    answers_json: bool = False,
) -> HttpResponse:
    """``form_post`` of one of the card's forms (``panel``): a refusal, of the input
    (``invalid``) or of the service, is the card at 422 with the panel open (JSON for a
    caller asking for it, when ``answers_json``)."""

    def refused(exc: errors.ValidationFailed) -> HttpResponse:
        if answers_json and wants_json(request):
            return JsonResponse(exc.as_dict(), status=422)
        return _refused(request, pk, exc, **{f"{panel}_form": form}, open_panel=panel)

    return form_post(
        form, save, success=success, failure=lambda: refused(invalid(form)), refused=refused
    )


def _back_to_task(request: SignedInRequest, pk: int, message: str) -> HttpResponse:
    messages.success(request, message)
    return redirect(safe_next(request, reverse("planner:task_detail", args=[pk])))


@login_required
@domain_errors
@require_POST
def task_complete(request: SignedInRequest, pk: int) -> HttpResponse:
    form = CompleteForm(request.POST)
    # A result too long or an unknown outcome is refused, never dropped silently.
    return _task_form_post(
        request,
        pk,
        form,
        lambda: services.task_complete(
            actor=request.user,
            pk=pk,
            result=form.cleaned_data.get("result", ""),
            outcome=form.cleaned_data.get("outcome", ""),
        ),
        panel="complete",
        success=lambda _task: _back_to_task(request, pk, _("Task done.")),
    )


def _one_click(
    request: SignedInRequest, pk: int, change: Callable[..., object], done: str
) -> HttpResponse:
    """A change of the task without a form (reopen, cancel): back where the user was."""
    try:
        change(actor=request.user, pk=pk)
    except errors.ValidationFailed as exc:
        return _refused(request, pk, exc)
    return _back_to_task(request, pk, done)


@login_required
@domain_errors
@require_POST
def task_reopen(request: SignedInRequest, pk: int) -> HttpResponse:
    return _one_click(request, pk, services.task_reopen, _("Task reopened."))


@login_required
@domain_errors
@require_POST
def task_cancel(request: SignedInRequest, pk: int) -> HttpResponse:
    return _one_click(request, pk, services.task_cancel, _("Task cancelled."))


@login_required
@domain_errors
@require_POST
def task_reschedule(request: SignedInRequest, pk: int) -> HttpResponse:
    """Move the task (the card's form, or a drop on the calendar asking for JSON)."""
    form = RescheduleForm(request.POST)

    def rescheduled(task: Task) -> HttpResponse:
        if wants_json(request):
            return JsonResponse(
                {"id": task.pk, "due_at": task.due_at.isoformat() if task.due_at else None}
            )
        return _back_to_task(request, pk, _("Task rescheduled."))

    return _task_form_post(
        request,
        pk,
        form,
        lambda: services.task_reschedule(
            actor=request.user,
            pk=pk,
            due_at=form.cleaned_data["due_at"],
            all_day=form.cleaned_data["all_day"],
        ),
        panel="reschedule",
        success=rescheduled,
        answers_json=True,
    )


@login_required
@domain_errors
@require_POST
def task_reassign(request: SignedInRequest, pk: int) -> HttpResponse:
    form = ReassignForm(request.POST, owners=selectors.assignable_users(actor=request.user))
    return _task_form_post(
        request,
        pk,
        form,
        lambda: services.task_reassign(
            actor=request.user, pk=pk, owner_id=form.cleaned_data["owner_id"]
        ),
        panel="reassign",
        success=lambda _task: _reassigned(request, pk),
        invalid=lambda _form: errors.ValidationFailed(
            _("Check the task."), field_errors={"owner_id": [_("Choose a user.")]}
        ),
    )


def _reassigned(request: SignedInRequest, pk: int) -> HttpResponse:
    messages.success(request, _("Task reassigned."))
    target = reverse("planner:task_detail", args=[pk])
    try:
        selectors.task_detail(user=request.user, pk=pk)
    except errors.NotFound:
        target = reverse("planner:my_day")  # given to someone outside the user's scope
    return HttpResponseRedirect(safe_next(request, target))
