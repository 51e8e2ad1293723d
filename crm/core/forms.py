"""Form helpers shared by the apps' pages."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import (
    TYPE_CHECKING,
    Any,
    Generic,
    ParamSpec,
    Protocol,
    TypeVar,
    cast,
    runtime_checkable,
)

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.http.response import HttpResponseBase
from django.shortcuts import render, resolve_url
from django.utils.translation import gettext as _

from crm.core.errors import DomainError, NotFound, PermissionDenied, ValidationFailed

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

P = ParamSpec("P")
R = TypeVar("R", bound=HttpResponseBase)
T = TypeVar("T")


@runtime_checkable
class ShowsDomainErrors(Protocol):
    """A form that places a service's refusal on its own fields (it may rename them)."""

    def apply_domain_errors(self, error: DomainError) -> None: ...


def apply_domain_errors(form: forms.Form, error: DomainError) -> None:
    """Show a service's refusal on the form: field messages on fields, the rest on top.

    A form with its own ``apply_domain_errors`` (one that maps service field names onto
    its inputs) decides itself.
    """
    if isinstance(form, ShowsDomainErrors):
        form.apply_domain_errors(error)
        return
    for name, messages_ in error.field_errors.items():
        target = name if name in form.fields else None
        for message in messages_:
            form.add_error(target, message)
    if not error.field_errors:
        form.add_error(None, error.message or str(error))


def form_post(
    form: forms.Form,
    save: Callable[[], T],
    *,
    success: Callable[[T], R],
    failure: Callable[[], R],
    refused: Callable[[ValidationFailed], R] | None = None,
) -> R:
    """The bound form's post: valid input goes to ``save`` (a service call) and its result
    to ``success``; invalid input, or the service's ``ValidationFailed`` shown on the form,
    to ``failure`` (the page again, as a rule with 422). With ``refused``, the service's
    refusal (shown on the form too) goes there instead, for a page whose status or message
    depends on it.

    Other domain errors pass through (``domain_errors`` turns them into 403 and 404).
    """
    if form.is_valid():
        try:
            result = save()
        except ValidationFailed as error:
            apply_domain_errors(form, error)
            if refused is not None:
                return refused(error)
        else:
            return success(result)
    return failure()


def form_page(
    request: HttpRequest,
    form: forms.Form,
    save: Callable[[], T],
    *,
    success: Callable[[T], R],
    page: Callable[[int], R],
) -> R:
    """A page of one form: GET shows it (``page(200)``), POST is ``form_post`` with the page
    again at 422 when the input or the service refuses."""
    if request.method != "POST":
        return page(200)
    return form_post(form, save, success=success, failure=lambda: page(422))


def saved(
    request: HttpRequest, message: StrOrPromise, to: str, *args: Any, **kwargs: Any
) -> HttpResponseRedirect:
    """The usual success of a page's form: a flash ``message`` and a redirect to ``to``
    (a URL name with its arguments, or a path)."""
    messages.success(request, message)
    return HttpResponseRedirect(resolve_url(to, *args, **kwargs))


class ColorInput(forms.TextInput):
    """``<input type="color">``: a colour as ``#rrggbb``."""

    input_type = "color"


class BootstrapForm(forms.Form):
    """A form whose widgets carry Bootstrap classes and whose fields show service errors."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            widget = field.widget
            if isinstance(widget, forms.CheckboxSelectMultiple | forms.RadioSelect):
                continue
            if isinstance(widget, forms.CheckboxInput):
                css = "form-check-input"
            elif isinstance(widget, forms.Select | forms.SelectMultiple):
                css = "form-select"
            elif isinstance(widget, ColorInput):
                css = "form-control form-control-color"
            else:
                css = "form-control"
            widget.attrs["class"] = css

    def add_error(self, field: str | None, error: Any) -> None:
        super().add_error(field, error)
        names = [field] if field else []
        if isinstance(error, forms.ValidationError) and hasattr(error, "error_dict"):
            names = list(error.error_dict)
        for name in names:
            if name in self.fields:
                widget = self.fields[name].widget
                if "is-invalid" not in widget.attrs.get("class", ""):
                    widget.attrs["class"] = f"{widget.attrs.get('class', '')} is-invalid".strip()

    def choice_field(self, name: str) -> forms.ChoiceField:
        """The declared choice field ``name``, to set its choices when they are known."""
        return cast(forms.ChoiceField, self.fields[name])

    def field_for(self, name: str) -> str | None:
        """The form field that shows a service error keyed ``name`` (``None``: on top)."""
        return name if name in self.fields else None

    def apply_domain_errors(self, error: DomainError) -> None:
        """Show a service's refusal: field messages on their fields, the rest on top."""
        for name, field_messages in error.field_errors.items():
            for message in field_messages:
                self.add_error(self.field_for(name), message)
        if not error.field_errors:
            self.add_error(None, error.message or str(error))


def domain_errors(view: Callable[P, R]) -> Callable[P, R]:
    """Turn refusals that are not about form input into Django's 403 and 404 answers."""

    @wraps(view)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return view(*args, **kwargs)
        except PermissionDenied as error:
            raise DjangoPermissionDenied(error.message) from error
        except NotFound as error:
            raise Http404(error.message) from error

    return wrapper


F = TypeVar("F", bound=forms.Form)


@dataclass(frozen=True)
class InlineList(Generic[F]):
    """A settings page that lists records, each with its own edit form in its row, under a
    form that adds one (partner codes, reasons for loss).

    The template gets the records as ``rows_name``, each with its form as ``.form``, and the
    add form as ``add_form``. Each row's inputs have ids of their own
    (``id_<row_prefix>_<pk>_<field>``; the add form's ``id_new_<field>``).
    """

    template: str
    rows_name: str
    form_class: type[F]
    row_prefix: str
    initial: Callable[[Any], dict[str, Any]]

    def add_form(self, data: Any = None) -> F:
        """The form on top, bound to ``data`` when it was sent."""
        return self.form_class(data, auto_id="id_new_%s")

    def row_form(self, row: Any, data: Any = None) -> F:
        """The form of ``row``: bound to ``data`` when it was sent, else showing the row."""
        auto_id = f"id_{self.row_prefix}_{row.pk}_%s"
        if data is None:
            return self.form_class(initial=self.initial(row), auto_id=auto_id)
        return self.form_class(data, auto_id=auto_id)

    def page(
        self,
        request: HttpRequest,
        rows: list[Any],
        *,
        add_form: F | None = None,
        edit_form: F | None = None,
        editing: Any = None,
        status: int = 200,
    ) -> HttpResponse:
        """The list; ``edit_form`` (a refused change of ``editing``) stays in its row."""
        for row in rows:
            row.form = (
                edit_form if editing is not None and row.pk == editing.pk else self.row_form(row)
            )
        context = {self.rows_name: rows, "add_form": add_form or self.add_form()}
        return render(request, self.template, context, status=status)

    def list_view(
        self,
        request: HttpRequest,
        rows: Callable[[], list[Any]],
        save: Callable[[F], T],
        *,
        added: Callable[[T], StrOrPromise],
        to: str,
    ) -> HttpResponse:
        """The list page: GET shows it; POST adds a row through ``save`` (the add form's
        service call) and goes back to ``to`` with the flash ``added(row)``; a refusal shows
        the list again at 422 with the add form."""
        if request.method != "POST":
            return self.page(request, rows())
        form = self.add_form(request.POST)
        return form_post(
            form,
            lambda: save(form),
            success=lambda row: saved(request, added(row), to),
            failure=lambda: self.page(request, rows(), add_form=form, status=422),
        )

    def edit_view(
        self,
        request: HttpRequest,
        row: Any,
        rows: Callable[[], list[Any]],
        save: Callable[[F], object],
        *,
        to: str,
    ) -> HttpResponse:
        """POST: change ``row`` through ``save`` (its form's service call) and go back to
        ``to`` with "Changes saved."; a refusal shows the list at 422 with the row's form
        in its row."""
        form = self.row_form(row, request.POST)
        return form_post(
            form,
            lambda: save(form),
            success=lambda _row: saved(request, _("Changes saved."), to),
            failure=lambda: self.page(request, rows(), edit_form=form, editing=row, status=422),
        )
