"""The forms of a stage's actions on entry: create a task, notify, change the responsible,
send a webhook; their errors appear on the fields the service names (``config.<field>``)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from conftest import client_for
from crm.planner.models import TaskType
from crm.sales.forms_settings import TaskActionForm
from crm.sales.models import StageAction
from crm.sales.services.automation import ASSIGNEES, DUE_UNITS
from crm.sales.tests.pipeline_fixtures import make_pipeline, stage


@pytest.fixture(autouse=True)
def _english(settings):
    settings.LANGUAGE_CODE = "en"


@pytest.fixture
def target(org):
    return stage(make_pipeline(), "Переговоры")


def _create(org, target, kind, data):
    return client_for(org.admin).post(
        reverse("sales:stage_action_create", args=[target.pk, kind]), data
    )


def _invalid(response, name: str) -> str:
    """The error shown under the input ``name`` (asserting the input is marked invalid)."""
    html = response.content.decode()
    start = html.index(f'name="{name}"')
    tag = html[html.rindex("<", 0, start) : html.index(">", start)]
    feedback = html.index("invalid-feedback", start)
    assert "is-invalid" in tag or name in ("assignee", "recipients"), tag
    return html[html.index(">", feedback) + 1 : html.index("</div>", feedback)]


def test_the_task_form_choices_match_the_service():
    assert {v for v, _ in TaskActionForm.DUE_UNIT_CHOICES} == set(DUE_UNITS)
    assert {v for v, _ in TaskActionForm.ASSIGNEE_CHOICES} == set(ASSIGNEES)


# --- create a task ------------------------------------------------------------------------------


def test_create_task_action(org, target):
    response = _create(
        org,
        target,
        "create_task",
        {
            "title": "Отправить КП",
            "type": "call",
            "due_in": "2",
            "due_unit": "work_days",
            "assignee": "head",
            "user_id": str(org.manager.pk),  # ignored: not "this user"
        },
    )

    assert response.status_code == 302
    assert response["Location"].endswith(f"#stage-{target.pk}")
    action = target.actions.get()
    assert action.kind == "create_task"
    assert action.config == {
        "title": "Отправить КП",
        "type": "call",
        "due_in": 2,
        "due_unit": "work_days",
        "assignee": "head",
    }


def test_create_task_for_a_fixed_user_and_edit_it(org, target):
    _create(
        org,
        target,
        "create_task",
        {
            "title": "Замер",
            "type": "todo",
            "due_in": "4",
            "due_unit": "work_hours",
            "assignee": "user",
            "user_id": str(org.colleague.pk),
        },
    )
    action = target.actions.get()
    assert action.config["user_id"] == org.colleague.pk
    client = client_for(org.admin)

    page = client.get(reverse("sales:stage_action_edit", args=[action.pk])).content.decode()
    assert 'value="Замер"' in page
    assert f'value="{org.colleague.pk}" selected' in page

    client.post(
        reverse("sales:stage_action_edit", args=[action.pk]),
        {
            "title": "Замер",
            "type": "todo",
            "due_in": "1",
            "due_unit": "days",
            "assignee": "responsible",
        },
    )
    action.refresh_from_db()
    assert action.config["due_unit"] == "days" and "user_id" not in action.config


def test_the_task_form_offers_live_task_types_and_writers(org, target):
    TaskType.objects.create(code="old", name="Старый тип", archived=True)
    TaskType.objects.create(code="visit", name="Выезд <на объект>")

    page = client_for(org.admin).get(
        reverse("sales:stage_action_create", args=[target.pk, "create_task"])
    )

    html = page.content.decode()
    assert "Выезд &lt;на объект&gt;" in html and "Старый тип" not in html
    assert str(org.manager) in html and str(org.viewer) not in html


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"due_in": "abc"}, "due_in"),
        ({"due_in": "5000"}, "due_in"),
        ({"title": ""}, "title"),
        ({"assignee": "user", "user_id": ""}, "user_id"),
        ({"type": "nonexistent"}, "type"),
    ],
)
def test_task_action_errors_show_on_their_fields(org, target, data, field):
    form = {
        "title": "Т",
        "type": "call",
        "due_in": "1",
        "due_unit": "hours",
        "assignee": "responsible",
    }
    form.update(data)

    response = _create(org, target, "create_task", form)

    assert response.status_code == 422
    assert _invalid(response, field)
    assert not target.actions.exists()


# --- notify -------------------------------------------------------------------------------------


def test_notify_action(org, target):
    response = _create(
        org,
        target,
        "notify",
        {
            "recipients": ["responsible", "head"],
            "users": [str(org.colleague.pk)],
            "message": "Проверьте <скидку>",
        },
    )

    assert response.status_code == 302
    action = target.actions.get()
    assert action.config == {
        "recipients": ["responsible", "head", org.colleague.pk],
        "message": "Проверьте <скидку>",
    }
    detail = client_for(org.admin).get(reverse("sales:pipeline_detail", args=[target.pipeline_id]))
    assert "Проверьте &lt;скидку&gt;" in detail.content.decode()
    edit = client_for(org.admin).get(reverse("sales:stage_action_edit", args=[action.pk]))
    assert f'value="{org.colleague.pk}" selected' in edit.content.decode()


def test_notify_with_no_recipients_is_refused(org, target):
    response = _create(org, target, "notify", {"message": "Кому-нибудь"})

    assert response.status_code == 422
    assert "Choose who is notified" in _invalid(response, "recipients")
    assert not target.actions.exists()


# --- change the responsible ---------------------------------------------------------------------


def test_set_owner_action(org, target):
    assert _create(org, target, "set_owner", {"user_id": str(org.head.pk)}).status_code == 302
    assert target.actions.get().config == {"user_id": org.head.pk}


def test_set_owner_needs_a_user(org, target):
    response = _create(org, target, "set_owner", {"user_id": ""})
    assert response.status_code == 422
    assert _invalid(response, "user_id")


def test_set_owner_does_not_offer_read_only_users(org, target):
    response = _create(org, target, "set_owner", {"user_id": str(org.viewer.pk)})
    assert response.status_code == 422
    assert not target.actions.exists()


# --- webhook ------------------------------------------------------------------------------------


def test_webhook_with_a_bad_address_is_refused(org, target):
    response = _create(org, target, "webhook", {"url": "ftp://x", "secret": ""})

    assert response.status_code == 422
    assert "http(s)" in _invalid(response, "url")
    assert not target.actions.exists()


def test_webhook_secret_is_never_shown_and_kept_unless_changed(org, target):
    _create(org, target, "webhook", {"url": "https://hooks.example.com/a", "secret": "s3cr3t"})
    action = target.actions.get()
    assert action.config == {"url": "https://hooks.example.com/a", "secret": "s3cr3t"}
    client = client_for(org.admin)
    url = reverse("sales:stage_action_edit", args=[action.pk])

    page = client.get(url).content.decode()
    assert "s3cr3t" not in page and 'name="clear_secret"' in page

    client.post(url, {"url": "https://hooks.example.com/b", "secret": ""})
    action.refresh_from_db()
    assert action.config == {"url": "https://hooks.example.com/b", "secret": "s3cr3t"}

    client.post(url, {"url": "https://hooks.example.com/b", "secret": "", "clear_secret": "on"})
    action.refresh_from_db()
    assert action.config["secret"] == ""


# --- delete and the way back --------------------------------------------------------------------


def test_delete_an_action(org, target):
    action = StageAction.objects.create(stage=target, kind="set_owner", config={"user_id": 1})

    response = client_for(org.admin).post(reverse("sales:stage_action_delete", args=[action.pk]))

    assert response.status_code == 302
    assert not StageAction.objects.filter(pk=action.pk).exists()


def test_action_forms_return_to_a_local_next_only(org, target):
    stage_url = reverse("sales:stage_edit", args=[target.pk])
    client = client_for(org.admin)
    url = reverse("sales:stage_action_create", args=[target.pk, "set_owner"])

    response = client.post(url, {"user_id": str(org.head.pk), "next": stage_url})
    assert response["Location"] == stage_url

    response = client.post(url, {"user_id": str(org.head.pk), "next": "https://evil.example.com/"})
    assert response["Location"].startswith(
        reverse("sales:pipeline_detail", args=[target.pipeline_id])
    )


def test_the_stage_page_lists_its_actions(org, target):
    StageAction.objects.create(
        stage=target, kind="webhook", config={"url": "https://hooks.example.com/<x>", "secret": ""}
    )

    html = client_for(org.admin).get(reverse("sales:stage_edit", args=[target.pk])).content.decode()

    assert "https://hooks.example.com/&lt;x&gt;" in html
    assert reverse("sales:stage_action_create", args=[target.pk, "notify"]) in html
