"""The administrator's sales settings: pipelines, their stages and the actions a stage runs
when a deal enters it, reasons for loss, and the seller's details printed on documents.

Only administrators get in (others 403, anonymous users go to the sign-in page). Every view
parses the form, calls one service and redirects, or renders the page again with the
service's refusal on the fields it names (422) or as a message (409).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import URLPattern, path, reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from crm.accounts.http import SignedInRequest
from crm.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from crm.core.forms import InlineList, form_page, form_post, saved
from crm.core.pages import edit_page, optional_static, order_post, posted, safe_next
from crm.customers.choices import ClientType
from crm.sales import selectors_settings as selectors
from crm.sales.choices import ActionKind
from crm.sales.forms_settings import (
    ACTION_FORMS,
    ActionForm,
    LostReasonForm,
    MoveDealsForm,
    NotifyActionForm,
    OwnerActionForm,
    PipelineForm,
    QuickStageForm,
    SellerDetailsForm,
    StageForm,
    TaskActionForm,
)
from crm.sales.models import Pipeline, Stage, StageAction
from crm.sales.permissions import SALES_SETTINGS
from crm.sales.services import pipelines as services
from crm.sales.services.seller import seller_details_get, seller_details_save


def admin_page(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Let only administrators in and turn the other refusals into 403 and 404 answers."""

    @wraps(view)
    def wrapper(request: SignedInRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            SALES_SETTINGS.check(request.user)
            return view(request, *args, **kwargs)
        except PermissionDenied as error:
            raise DjangoPermissionDenied(error.message) from error
        except NotFound as error:
            raise Http404(error.message) from error

    return login_required(wrapper)


def _detail_url(pipeline_id: int, stage_id: int | None = None) -> str:
    url = reverse("sales:pipeline_detail", args=[pipeline_id])
    return f"{url}#stage-{stage_id}" if stage_id else url


# --- pipelines ----------------------------------------------------------------------------------


def _pipeline_list_page(
    request: SignedInRequest, *, error: str = "", status: int = 200
) -> HttpResponse:
    return render(
        request,
        "sales/settings/pipeline_list.html",
        {
            "pipelines": selectors.pipeline_settings_list(actor=request.user),
            "client_types": dict(ClientType.choices),
            "error": error,
        },
        status=status,
    )


@admin_page
def pipeline_list(request: SignedInRequest) -> HttpResponse:
    """The pipelines with the client types they are the default of and their counts."""
    return _pipeline_list_page(request)


def _pipeline_form_page(request: SignedInRequest, pipeline: Pipeline | None) -> HttpResponse:
    initial = {"name": pipeline.name, "client_types": pipeline.client_types} if pipeline else None
    form = PipelineForm(posted(request), initial=initial)

    def success(stored: Pipeline) -> HttpResponse:
        if pipeline is None:
            return saved(
                request,
                _("Pipeline “%(name)s” created with three stages; add yours.")
                % {"name": stored.name},
                "sales:pipeline_detail",
                pk=stored.pk,
            )
        return saved(request, _("Changes saved."), "sales:pipeline_list")

    return edit_page(
        request,
        form,
        lambda: services.pipeline_save(
            actor=request.user,
            pipeline=pipeline,
            name=form.cleaned_data["name"],
            client_types=form.cleaned_data["client_types"],
        ),
        template="sales/settings/pipeline_form.html",
        context={"pipeline": pipeline},
        success=success,
    )


@admin_page
def pipeline_create(request: SignedInRequest) -> HttpResponse:
    return _pipeline_form_page(request, None)


@admin_page
def pipeline_edit(request: SignedInRequest, pk: int) -> HttpResponse:
    """Rename a pipeline and choose the client types it is the default of."""
    return _pipeline_form_page(request, selectors.pipeline_settings_get(actor=request.user, pk=pk))


@require_POST
@admin_page
def pipeline_archive(request: SignedInRequest, pk: int) -> HttpResponse:
    """Archive (``archived=1``) or bring back (``archived=0``) a pipeline; a pipeline with
    open deals stays, and the list says why (409)."""
    pipeline = selectors.pipeline_settings_get(actor=request.user, pk=pk)
    archived = request.POST.get("archived", "1") != "0"
    try:
        services.pipeline_archive(actor=request.user, pipeline=pipeline, archived=archived)
    except Conflict as error:
        return _pipeline_list_page(request, error=error.message, status=409)
    done = _("Pipeline “%(name)s” archived.") if archived else _("Pipeline “%(name)s” restored.")
    return saved(request, done % {"name": pipeline.name}, "sales:pipeline_list")


# --- stages -------------------------------------------------------------------------------------


def _pipeline_detail_page(
    request: SignedInRequest,
    pipeline: Pipeline,
    *,
    stage_form: QuickStageForm | None = None,
    error: str = "",
    status: int = 200,
) -> HttpResponse:
    return render(
        request,
        "sales/settings/pipeline_detail.html",
        {
            "pipeline": pipeline,
            "stages": selectors.pipeline_stage_editor(actor=request.user, pipeline=pipeline),
            "stage_form": stage_form or QuickStageForm(initial={"color": "#6c757d"}),
            "client_types": dict(ClientType.choices),
            "action_kinds": ActionKind.choices,
            "sortable_js": optional_static("vendor/Sortable.min.js"),
            "error": error,
        },
        status=status,
    )


@admin_page
def pipeline_detail(request: SignedInRequest, pk: int) -> HttpResponse:
    """The stage editor: the stages in order with their rules and actions."""
    pipeline = selectors.pipeline_settings_get(actor=request.user, pk=pk)
    return _pipeline_detail_page(request, pipeline)


@require_POST
@admin_page
def pipeline_reorder(request: SignedInRequest, pk: int) -> HttpResponse:
    """Save the order of the stages (``stage_ids``, each stage once), as dragged."""
    pipeline = selectors.pipeline_settings_get(actor=request.user, pk=pk)
    return order_post(
        request,
        "stage_ids",
        lambda stage_ids: services.stage_reorder(
            actor=request.user, pipeline=pipeline, stage_ids=stage_ids
        ),
        changed=_("The stages have changed meanwhile; the page now shows them as they are."),
        to=_detail_url(pipeline.pk),
    )


@require_POST
@admin_page
def stage_move(request: SignedInRequest, pk: int) -> HttpResponse:
    """Move a stage one place up or down (the buttons that work without JavaScript)."""
    stage = selectors.stage_settings_get(actor=request.user, pk=pk)
    order = list(stage.pipeline.stages.order_by("position", "id").values_list("id", flat=True))
    index = order.index(stage.pk)
    other = index - 1 if request.POST.get("direction") == "up" else index + 1
    if 0 <= other < len(order):
        order[index], order[other] = order[other], order[index]
        services.stage_reorder(actor=request.user, pipeline=stage.pipeline, stage_ids=order)
    return redirect(_detail_url(stage.pipeline_id, stage.pk))


@require_POST
@admin_page
def stage_create(request: SignedInRequest, pk: int) -> HttpResponse:
    """Add a stage (after the last open one) from the form under the list."""
    pipeline = selectors.pipeline_settings_get(actor=request.user, pk=pk)
    form = QuickStageForm(request.POST)
    return form_post(
        form,
        lambda: services.stage_save(actor=request.user, pipeline=pipeline, **form.cleaned_data),
        success=lambda stage: saved(
            request,
            _("Stage “%(name)s” added.") % {"name": stage.name},
            _detail_url(pipeline.pk, stage.pk),
        ),
        failure=lambda: _pipeline_detail_page(request, pipeline, stage_form=form, status=422),
    )


def _stage_page(
    request: SignedInRequest, stage: Stage, form: StageForm, *, error: str = "", status: int = 200
) -> HttpResponse:
    return render(
        request,
        "sales/settings/stage_form.html",
        {
            "stage": stage,
            "pipeline": stage.pipeline,
            "form": form,
            "actions": selectors.stage_actions(stage=stage),
            "action_kinds": ActionKind.choices,
            "error": error,
        },
        status=status,
    )


@admin_page
def stage_edit(request: SignedInRequest, pk: int) -> HttpResponse:
    """All of a stage's settings, and the actions it runs when a deal enters it."""
    stage = selectors.stage_settings_get(actor=request.user, pk=pk)
    choices = selectors.required_field_choices()
    if request.method != "POST":
        return _stage_page(request, stage, StageForm(required_choices=choices, instance=stage))
    form = StageForm(request.POST, required_choices=choices, instance=stage)
    tried = False

    def save() -> Stage:
        nonlocal tried
        tried = True
        return services.stage_save(
            actor=request.user, pipeline=stage.pipeline, stage=stage, **form.cleaned_data
        )

    def refused(error: str = "", status: int = 422) -> HttpResponse:
        # The refused save may have changed the instance; show the stage as it is stored.
        shown = selectors.stage_settings_get(actor=request.user, pk=pk) if tried else stage
        return _stage_page(request, shown, form, error=error, status=status)

    message = _("Stage “%(name)s” saved.")
    try:
        return form_post(
            form,
            save,
            success=lambda _stage: saved(
                request, message % {"name": stage.name}, _detail_url(stage.pipeline_id, stage.pk)
            ),
            failure=refused,
        )
    except Conflict as conflict:
        return refused(conflict.message, 409)


@require_POST
@admin_page
def stage_archive(request: SignedInRequest, pk: int) -> HttpResponse:
    """Archive (``archived=1``) or bring back (``archived=0``) a stage."""
    stage = selectors.stage_settings_get(actor=request.user, pk=pk)
    archived = request.POST.get("archived", "1") != "0"
    try:
        services.stage_archive(actor=request.user, stage=stage, archived=archived)
    except (Conflict, ValidationFailed) as error:
        status = 409 if isinstance(error, Conflict) else 422
        pipeline = selectors.pipeline_settings_get(actor=request.user, pk=stage.pipeline_id)
        return _pipeline_detail_page(request, pipeline, error=error.message, status=status)
    done = _("Stage “%(name)s” archived.") if archived else _("Stage “%(name)s” restored.")
    return saved(request, done % {"name": stage.name}, _detail_url(stage.pipeline_id, stage.pk))


@admin_page
def stage_delete(request: SignedInRequest, pk: int) -> HttpResponse:
    """Delete a stage. One with deals (or their history) asks where to move them (409)."""
    stage = selectors.stage_settings_get(actor=request.user, pk=pk)
    targets = selectors.stage_move_targets(stage=stage)
    form = MoveDealsForm(posted(request), targets=targets)
    move_to: Stage | None = None
    tried = False

    def page(status: int, conflict: str = "") -> HttpResponse:
        # A delete refused by the service ran and was rolled back: the instance lost its id.
        refused = tried and not conflict
        shown = selectors.stage_settings_get(actor=request.user, pk=pk) if refused else stage
        context = {
            "stage": shown,
            "pipeline": shown.pipeline,
            "form": form,
            "targets": targets,
            "conflict": conflict,
        }
        return render(request, "sales/settings/stage_delete.html", context, status=status)

    def delete() -> None:
        nonlocal move_to, tried
        tried = True
        move_to = next((t for t in targets if t.pk == form.cleaned_data["move_to"]), None)
        services.stage_delete(actor=request.user, stage=stage, move_to=move_to)

    def deleted(_none: None) -> HttpResponse:
        if move_to is not None and stage.deal_count:  # type: ignore[attr-defined]
            message = _("Stage “%(name)s” deleted; its deals are now in “%(target)s”.") % {
                "name": stage.name,
                "target": move_to.name,
            }
        else:
            message = _("Stage “%(name)s” deleted.") % {"name": stage.name}
        return saved(request, message, _detail_url(stage.pipeline_id))

    try:
        return form_page(request, form, delete, success=deleted, page=page)
    except Conflict as error:
        return page(409, error.message)


# --- stage actions ------------------------------------------------------------------------------


def _action_form(kind: str, data: Any = None, *, action: StageAction | None = None) -> ActionForm:
    form_class = ACTION_FORMS[kind]
    kwargs: dict[str, Any] = {"action": action}
    if form_class is TaskActionForm:
        kwargs["task_types"] = selectors.task_type_choices()
        kwargs["users"] = selectors.user_choices(writers_only=True)
    elif form_class is OwnerActionForm:
        kwargs["users"] = selectors.user_choices(writers_only=True)
    elif form_class is NotifyActionForm:
        kwargs["users"] = selectors.user_choices()
    return form_class(data, **kwargs)


def _action_page(
    request: SignedInRequest,
    stage: Stage,
    kind: str,
    action: StageAction | None,
) -> HttpResponse:
    form = _action_form(kind, posted(request), action=action)
    default = _detail_url(stage.pipeline_id, stage.pk)

    def page(status: int) -> HttpResponse:
        context = {
            "stage": stage,
            "pipeline": stage.pipeline,
            "form": form,
            "kind": kind,
            "kind_label": ActionKind(kind).label,
            "action": action,
            "next": safe_next(request, default),
        }
        return render(request, "sales/settings/action_form.html", context, status=status)

    def success(_action: StageAction) -> HttpResponse:
        message = _("Action “%(action)s” of the stage “%(stage)s” saved.") % {
            "action": ActionKind(kind).label,
            "stage": stage.name,
        }
        messages.success(request, message)
        return HttpResponseRedirect(safe_next(request, default))

    return form_page(
        request,
        form,
        lambda: services.stage_action_save(
            actor=request.user, stage=stage, kind=kind, config=form.config(), action=action
        ),
        success=success,
        page=page,
    )


@admin_page
def stage_action_create(request: SignedInRequest, pk: int, kind: str) -> HttpResponse:
    """Add an action of ``kind`` to a stage."""
    stage = selectors.stage_settings_get(actor=request.user, pk=pk)
    if kind not in ACTION_FORMS:
        raise Http404(_("Not found."))
    return _action_page(request, stage, kind, None)


@admin_page
def stage_action_edit(request: SignedInRequest, pk: int) -> HttpResponse:
    action = selectors.stage_action_settings_get(actor=request.user, pk=pk)
    if action.kind not in ACTION_FORMS:
        raise Http404(_("Not found."))
    return _action_page(request, action.stage, action.kind, action)


@require_POST
@admin_page
def stage_action_delete(request: SignedInRequest, pk: int) -> HttpResponse:
    action = selectors.stage_action_settings_get(actor=request.user, pk=pk)
    stage = action.stage
    services.stage_action_delete(actor=request.user, action=action)
    messages.success(
        request,
        _("Action “%(action)s” removed from the stage “%(stage)s”.")
        % {"action": action.get_kind_display(), "stage": stage.name},
    )
    return HttpResponseRedirect(safe_next(request, _detail_url(stage.pipeline_id, stage.pk)))


# --- reasons for loss ---------------------------------------------------------------------------


REASONS = InlineList(
    template="sales/settings/lost_reason_list.html",
    rows_name="reasons",
    form_class=LostReasonForm,
    row_prefix="reason",
    initial=lambda reason: {"name": reason.name},
)


def _reasons(request: SignedInRequest) -> Callable[[], list[Any]]:
    return lambda: selectors.lost_reason_settings_list(actor=request.user)


@admin_page
def lost_reason_list(request: SignedInRequest) -> HttpResponse:
    """The reasons a manager picks when a deal is lost; the form on top adds one."""
    return REASONS.list_view(
        request,
        _reasons(request),
        lambda form: services.lost_reason_save(actor=request.user, name=form.cleaned_data["name"]),
        added=lambda reason: _("Reason “%(name)s” added.") % {"name": reason.name},
        to="sales:lost_reason_list",
    )


@require_POST
@admin_page
def lost_reason_edit(request: SignedInRequest, pk: int) -> HttpResponse:
    reason = selectors.lost_reason_settings_get(actor=request.user, pk=pk)
    return REASONS.edit_view(
        request,
        reason,
        _reasons(request),
        lambda form: services.lost_reason_save(
            actor=request.user, reason=reason, name=form.cleaned_data["name"]
        ),
        to="sales:lost_reason_list",
    )


@require_POST
@admin_page
def lost_reason_archive(request: SignedInRequest, pk: int) -> HttpResponse:
    """Hide a reason from the choice (``archived=1``) or bring it back (``archived=0``);
    lost deals keep the reason they were given."""
    reason = selectors.lost_reason_settings_get(actor=request.user, pk=pk)
    archived = request.POST.get("archived", "1") != "0"
    services.lost_reason_archive(actor=request.user, reason=reason, archived=archived)
    done = _("Reason “%(name)s” archived.") if archived else _("Reason “%(name)s” restored.")
    return saved(request, done % {"name": reason.name}, "sales:lost_reason_list")


# --- the seller ---------------------------------------------------------------------------------


@admin_page
def seller_details(request: SignedInRequest) -> HttpResponse:
    """The company's own requisites, printed on invoices and contracts."""
    details = seller_details_get()
    form = SellerDetailsForm(posted(request), instance=details)
    return edit_page(
        request,
        form,
        lambda: seller_details_save(actor=request.user, **form.cleaned_data),
        template="sales/settings/seller_form.html",
        success=lambda _details: saved(
            request, _("The seller's details are saved."), "sales:seller_details"
        ),
    )


urlpatterns: list[URLPattern] = [
    path("settings/pipelines/", pipeline_list, name="pipeline_list"),
    path("settings/pipelines/new/", pipeline_create, name="pipeline_create"),
    path("settings/pipelines/<int:pk>/", pipeline_detail, name="pipeline_detail"),
    path("settings/pipelines/<int:pk>/edit/", pipeline_edit, name="pipeline_edit"),
    path("settings/pipelines/<int:pk>/archive/", pipeline_archive, name="pipeline_archive"),
    path("settings/pipelines/<int:pk>/reorder/", pipeline_reorder, name="pipeline_reorder"),
    path("settings/pipelines/<int:pk>/stages/new/", stage_create, name="stage_create"),
    path("settings/stages/<int:pk>/", stage_edit, name="stage_edit"),
    path("settings/stages/<int:pk>/move/", stage_move, name="stage_move"),
    path("settings/stages/<int:pk>/archive/", stage_archive, name="stage_archive"),
    path("settings/stages/<int:pk>/delete/", stage_delete, name="stage_delete"),
    path(
        "settings/stages/<int:pk>/actions/new/<slug:kind>/",
        stage_action_create,
        name="stage_action_create",
    ),
    path("settings/actions/<int:pk>/", stage_action_edit, name="stage_action_edit"),
    path("settings/actions/<int:pk>/delete/", stage_action_delete, name="stage_action_delete"),
    path("settings/lost-reasons/", lost_reason_list, name="lost_reason_list"),
    path("settings/lost-reasons/<int:pk>/", lost_reason_edit, name="lost_reason_edit"),
    path(
        "settings/lost-reasons/<int:pk>/archive/", lost_reason_archive, name="lost_reason_archive"
    ),
    path("settings/seller/", seller_details, name="seller_details"),
]
