"""The page helpers of ``crm.core.forms`` and ``crm.core.pages``: a form post's refusal
hook, a button's one service call, a dragged order's post."""

from __future__ import annotations

import pytest
from django import forms
from django.contrib.messages import get_messages
from django.contrib.messages.storage.fallback import FallbackStorage
from django.contrib.sessions.backends.signed_cookies import SessionStore
from django.http import HttpResponse
from django.test import RequestFactory

from crm.core.errors import Conflict, ValidationFailed
from crm.core.forms import form_post
from crm.core.pages import flash_post, order_post


class NameForm(forms.Form):
    name = forms.CharField()


def _request(data: dict | None = None, **headers: str):
    request = RequestFactory().post("/", data or {}, headers=headers)
    request.session = SessionStore()
    request._messages = FallbackStorage(request)
    return request


def _refuse(message: str = "", **field_errors: list[str]):
    def save():
        raise ValidationFailed(message, field_errors=field_errors)

    return save


def test_a_refusal_goes_to_refused_when_given_and_is_shown_on_the_form():
    form = NameForm({"name": "x"})
    seen: list[ValidationFailed] = []

    def refused(error: ValidationFailed) -> HttpResponse:
        seen.append(error)
        return HttpResponse(status=error.status_code)

    response = form_post(
        form,
        _refuse(name=["Taken."]),
        success=lambda _r: HttpResponse(status=302),
        failure=lambda: HttpResponse(status=499),
        refused=refused,
    )
    assert response.status_code == 422
    assert [error.field_errors for error in seen] == [{"name": ["Taken."]}]
    assert form.errors == {"name": ["Taken."]}


def test_invalid_input_goes_to_failure_even_with_refused():
    form = NameForm({})
    response = form_post(
        form,
        _refuse("never called"),
        success=lambda _r: HttpResponse(status=302),
        failure=lambda: HttpResponse(status=499),
        refused=lambda _error: HttpResponse(status=422),
    )
    assert response.status_code == 499


def test_flash_post_says_done_or_the_refusal_and_goes_back():
    request = _request()
    response = flash_post(request, lambda: None, done="Done.", to="/back/")
    assert (response.status_code, response.url) == (302, "/back/")
    assert [str(m) for m in get_messages(request)] == ["Done."]

    request = _request()
    flash_post(request, _refuse("Not now."), done="Done.", to="/back/")
    assert [str(m) for m in get_messages(request)] == ["Not now."]


def test_flash_post_lets_other_refusals_through():
    def conflict():
        raise Conflict("Busy.")

    with pytest.raises(Conflict):
        flash_post(_request(), conflict, done="Done.", to="/back/")


def test_order_post_answers_a_script_with_204_or_422_and_a_page_with_a_flash():
    saved_ids: list[list[int]] = []
    request = _request({"ids": ["3", "1"]}, HX_Request="true")
    assert (
        order_post(request, "ids", saved_ids.append, changed="Changed.", to="/x/").status_code
        == 204
    )
    assert saved_ids == [[3, 1]]

    request = _request({"ids": ["3", "one"]}, HX_Request="true")
    response = order_post(request, "ids", saved_ids.append, changed="Changed.", to="/x/")
    assert (response.status_code, response.content.decode()) == (422, "Changed.")

    request = _request({"ids": ["3"]})
    response = order_post(request, "ids", _refuse_ids, changed="Changed.", to="/x/")
    assert (response.status_code, response.url) == (302, "/x/")
    assert [str(m) for m in get_messages(request)] == ["Changed."]
    assert saved_ids == [[3, 1]]


def _refuse_ids(ids: list[int]) -> None:
    raise ValidationFailed("The list changed.")
