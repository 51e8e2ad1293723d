"""The administrator's pipeline and stage pages: who gets in, each form's success and its
refusals, reordering, deleting a stage with deals, and the query count of the lists."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from conftest import client_for
from crm.customers.models import CustomField
from crm.sales.models import Pipeline, Stage, StageAction, StageVisit
from crm.sales.services.pipelines import pipeline_for_client_type
from crm.sales.tests.pipeline_fixtures import make_deal, make_pipeline, order, stage

ROLES = ["anonymous", "viewer", "manager", "head", "admin"]


@pytest.fixture(autouse=True)
def _english(settings):
    settings.LANGUAGE_CODE = "en"


ADMIN_ONLY = {"anonymous": 302, "viewer": 403, "manager": 403, "head": 403, "admin": 200}


def _client(org, role):
    return client_for(None if role == "anonymous" else getattr(org, role))


def _stage_data(**overrides):
    data = {
        "name": "Счёт",
        "kind": "open",
        "probability": "60",
        "color": "#112233",
        "stale_after_days": "",
    }
    data.update(overrides)
    return data


def _field_error(response, name: str) -> bool:
    """Whether the page marks the input ``name`` invalid and shows a message under it."""
    html = response.content.decode()
    return f'name="{name}"' in html and "is-invalid" in html and "invalid-feedback" in html


# --- permission matrix --------------------------------------------------------------------------


@pytest.fixture
def setup(org):
    pipeline = make_pipeline()
    target = stage(pipeline, "Переговоры")
    action = StageAction.objects.create(
        stage=target, kind="webhook", config={"url": "https://hooks.example.com/", "secret": ""}
    )
    return pipeline, target, action


@pytest.mark.parametrize("role", ROLES)
def test_settings_pages_permission_matrix(org, setup, role):
    pipeline, target, action = setup
    client = _client(org, role)
    urls = [
        reverse("sales:pipeline_list"),
        reverse("sales:pipeline_create"),
        reverse("sales:pipeline_detail", args=[pipeline.pk]),
        reverse("sales:pipeline_edit", args=[pipeline.pk]),
        reverse("sales:stage_edit", args=[target.pk]),
        reverse("sales:stage_delete", args=[target.pk]),
        reverse("sales:stage_action_create", args=[target.pk, "create_task"]),
        reverse("sales:stage_action_create", args=[target.pk, "notify"]),
        reverse("sales:stage_action_create", args=[target.pk, "set_owner"]),
        reverse("sales:stage_action_create", args=[target.pk, "webhook"]),
        reverse("sales:stage_action_edit", args=[action.pk]),
        reverse("sales:lost_reason_list"),
        reverse("sales:seller_details"),
    ]
    for url in urls:
        response = client.get(url)
        assert response.status_code == ADMIN_ONLY[role], url
        if role == "anonymous":
            assert response["Location"].startswith(reverse("accounts:login")), url


@pytest.mark.parametrize("role", ["anonymous", "viewer", "manager", "head"])
def test_settings_writes_are_refused_to_everyone_but_admins(org, setup, role):
    pipeline, target, action = setup
    client = _client(org, role)
    posts = [
        (reverse("sales:pipeline_create"), {"name": "Чужая"}),
        (reverse("sales:pipeline_edit", args=[pipeline.pk]), {"name": "Чужая"}),
        (reverse("sales:pipeline_archive", args=[pipeline.pk]), {"archived": "1"}),
        (reverse("sales:stage_create", args=[pipeline.pk]), _stage_data(name="Чужая")),
        (reverse("sales:stage_edit", args=[target.pk]), _stage_data(name="Чужая")),
        (reverse("sales:stage_move", args=[target.pk]), {"direction": "up"}),
        (reverse("sales:stage_archive", args=[target.pk]), {"archived": "1"}),
        (reverse("sales:stage_delete", args=[target.pk]), {}),
        (
            reverse("sales:pipeline_reorder", args=[pipeline.pk]),
            {"stage_ids": list(reversed(pipeline.stages.values_list("id", flat=True)))},
        ),
        (
            reverse("sales:stage_action_create", args=[target.pk, "webhook"]),
            {"url": "https://evil.example.com/"},
        ),
        (
            reverse("sales:stage_action_edit", args=[action.pk]),
            {"url": "https://evil.example.com/"},
        ),
        (reverse("sales:stage_action_delete", args=[action.pk]), {}),
    ]
    for url, data in posts:
        response = client.post(url, data)
        assert response.status_code == (302 if role == "anonymous" else 403), url
    pipeline.refresh_from_db()
    action.refresh_from_db()
    assert pipeline.name == "Проекты" and not pipeline.archived
    assert order(pipeline) == ["Новая", "Переговоры", "Успех", "Отказ"]
    assert not Pipeline.objects.filter(name="Чужая").exists()
    assert action.config["url"] == "https://hooks.example.com/"


def test_unknown_records_answer_404(org):
    client = client_for(org.admin)
    assert client.get(reverse("sales:pipeline_detail", args=[999999])).status_code == 404
    assert client.get(reverse("sales:stage_edit", args=[999999])).status_code == 404
    assert client.get(reverse("sales:stage_action_edit", args=[999999])).status_code == 404
    target = Stage.objects.first()
    url = reverse("sales:stage_action_create", args=[target.pk, "explode"])
    assert client.get(url).status_code == 404


def test_the_navbar_offers_the_settings_to_admins_only(org):
    url = reverse("sales:pipeline_list")
    assert url in client_for(org.admin).get(reverse("accounts:team_list")).content.decode()
    page = client_for(org.head).get(reverse("customers:reassign")).content.decode()
    assert url not in page


# --- pipelines ----------------------------------------------------------------------------------


def test_pipeline_list_shows_defaults_and_counts(org):
    pipeline = make_pipeline("Проекты <b>VIP</b>")
    make_deal(stage(pipeline, "Новая"), org.manager)
    make_deal(stage(pipeline, "Успех"), org.manager)

    response = client_for(org.admin).get(reverse("sales:pipeline_list"))

    html = response.content.decode()
    assert "Проекты &lt;b&gt;VIP&lt;/b&gt;" in html and "<b>VIP</b>" not in html
    assert "Розница" in html and "Private client" in html
    row = html[html.index("Проекты &lt;b&gt;") :]
    row = row[: row.index("</tr>")]
    assert "Stages: </span>4</td>" in row
    assert "Deals: </span>2 <span" in row and "(1 open)" in row


def test_pipeline_create_then_goes_to_its_stages(org):
    response = client_for(org.admin).post(
        reverse("sales:pipeline_create"), {"name": "Тендеры", "client_types": []}
    )

    pipeline = Pipeline.objects.get(name="Тендеры")
    assert response.status_code == 302
    assert response["Location"] == reverse("sales:pipeline_detail", args=[pipeline.pk])
    assert pipeline.stages.count() == 3


def test_pipeline_create_refuses_an_empty_name(org):
    count = Pipeline.objects.count()

    response = client_for(org.admin).post(reverse("sales:pipeline_create"), {"name": "  "})

    assert response.status_code == 422
    assert _field_error(response, "name")
    assert Pipeline.objects.count() == count


def test_pipeline_default_per_client_type_rule(org):
    retail = pipeline_for_client_type("private")
    client = client_for(org.admin)

    response = client.post(
        reverse("sales:pipeline_create"), {"name": "Вторая", "client_types": ["private"]}
    )

    assert response.status_code == 422
    assert retail.name in response.content.decode()
    assert not Pipeline.objects.filter(name="Вторая").exists()

    client.post(
        reverse("sales:pipeline_edit", args=[retail.pk]),
        {"name": "Розница", "client_types": []},
    )
    response = client.post(
        reverse("sales:pipeline_create"), {"name": "Вторая", "client_types": ["private"]}
    )
    assert response.status_code == 302
    assert pipeline_for_client_type("private").name == "Вторая"


def test_pipeline_edit_renames_and_sets_client_types(org):
    pipeline = make_pipeline()

    response = client_for(org.admin).post(
        reverse("sales:pipeline_edit", args=[pipeline.pk]),
        {"name": "Проекты 2026", "client_types": []},
    )

    assert response.status_code == 302
    pipeline.refresh_from_db()
    assert pipeline.name == "Проекты 2026"
    page = client_for(org.admin).get(reverse("sales:pipeline_edit", args=[pipeline.pk]))
    assert 'value="Проекты 2026"' in page.content.decode()


def test_pipeline_archive_is_refused_with_open_deals(org):
    pipeline = make_pipeline()
    make_deal(stage(pipeline, "Новая"), org.manager)

    response = client_for(org.admin).post(
        reverse("sales:pipeline_archive", args=[pipeline.pk]), {"archived": "1"}
    )

    assert response.status_code == 409
    assert "Close or move the open deals" in response.content.decode()
    pipeline.refresh_from_db()
    assert not pipeline.archived


def test_pipeline_archive_and_restore(org):
    pipeline = make_pipeline()
    client = client_for(org.admin)

    assert (
        client.post(
            reverse("sales:pipeline_archive", args=[pipeline.pk]), {"archived": "1"}
        ).status_code
        == 302
    )
    pipeline.refresh_from_db()
    assert pipeline.archived
    assert "archived" in client.get(reverse("sales:pipeline_list")).content.decode()

    client.post(reverse("sales:pipeline_archive", args=[pipeline.pk]), {"archived": "0"})
    pipeline.refresh_from_db()
    assert not pipeline.archived


def test_archive_needs_a_post(org):
    pipeline = make_pipeline()
    url = reverse("sales:pipeline_archive", args=[pipeline.pk])
    assert client_for(org.admin).get(url).status_code == 405


# --- the stage editor ---------------------------------------------------------------------------


def test_stage_editor_shows_stages_in_order_with_rules_and_actions(org):
    CustomField.objects.create(entity="deal", key="budget", label="Бюджет", field_type="number")
    pipeline = make_pipeline()
    target = stage(pipeline, "Переговоры")
    Stage.objects.filter(pk=target.pk).update(
        required_fields=["amount", "custom.budget"], stale_after_days=5, color="#abcdef"
    )
    StageAction.objects.create(
        stage=target,
        kind="create_task",
        config={
            "title": "Позвонить <клиенту>",
            "type": "call",
            "due_in": 2,
            "due_unit": "work_days",
            "assignee": "user",
            "user_id": org.manager.pk,
        },
    )
    StageAction.objects.create(
        stage=target,
        kind="notify",
        config={"recipients": ["head", org.colleague.pk], "message": ""},
    )
    make_deal(target, org.manager)

    response = client_for(org.admin).get(reverse("sales:pipeline_detail", args=[pipeline.pk]))

    html = response.content.decode()
    assert response.status_code == 200
    positions = [html.index(f"{name}</a>") for name in ("Новая", "Переговоры", "Успех", "Отказ")]
    assert positions == sorted(positions)
    assert "Бюджет" in html and "Amount" in html
    assert 'data-stage-color="#abcdef"' in html  # crm.js applies it (no inline style: CSP)
    assert "Позвонить &lt;клиенту&gt;" in html and "<клиенту>" not in html
    assert "working days" in html and str(org.manager) in html
    assert str(org.colleague) in html and "the head of their team" in html
    assert 'type="color"' in html
    assert f'name="stage_ids" value="{target.pk}"' in html
    assert reverse("sales:stage_move", args=[target.pk]) in html


def test_stage_editor_query_count_does_not_grow_with_stages(org):
    client = client_for(org.admin)
    small = make_pipeline("Маленькая", stages=(("Одна", "open"),))
    StageAction.objects.create(
        stage=stage(small, "Одна"), kind="set_owner", config={"user_id": org.manager.pk}
    )
    big = make_pipeline("Большая")
    for target in big.stages.all():
        StageAction.objects.create(stage=target, kind="set_owner", config={"user_id": org.head.pk})
        StageAction.objects.create(
            stage=target, kind="create_task", config={"title": "Т", "type": "call"}
        )
        make_deal(target, org.manager)

    def count(pipeline):
        with CaptureQueriesContext(connection) as queries:
            assert (
                client.get(reverse("sales:pipeline_detail", args=[pipeline.pk])).status_code == 200
            )
        return len(queries)

    count(small)  # warm caches (session, content types)
    assert count(small) == count(big)


def test_pipeline_list_query_count_does_not_grow_with_pipelines(org):
    client = client_for(org.admin)
    url = reverse("sales:pipeline_list")
    client.get(url)
    with CaptureQueriesContext(connection) as before:
        client.get(url)
    for index in range(3):
        pipeline = make_pipeline(f"Ещё {index}")
        make_deal(stage(pipeline, "Новая"), org.manager)
    with CaptureQueriesContext(connection) as after:
        client.get(url)
    assert len(before) == len(after)


def test_stage_create_adds_a_stage(org):
    pipeline = make_pipeline()

    response = client_for(org.admin).post(
        reverse("sales:stage_create", args=[pipeline.pk]), _stage_data()
    )

    new = stage(pipeline, "Счёт")
    assert response.status_code == 302
    assert response["Location"].endswith(f"#stage-{new.pk}")
    assert (new.probability, new.color) == (60, "#112233")
    assert order(pipeline) == ["Новая", "Переговоры", "Счёт", "Успех", "Отказ"]


@pytest.mark.parametrize(
    ("field", "value"),
    [("name", ""), ("color", "red"), ("probability", "150"), ("probability", "abc")],
)
def test_stage_create_shows_the_error_on_the_field(org, field, value):
    pipeline = make_pipeline()

    response = client_for(org.admin).post(
        reverse("sales:stage_create", args=[pipeline.pk]), _stage_data(**{field: value})
    )

    assert response.status_code == 422
    assert _field_error(response, field)
    assert pipeline.stages.count() == 4
    assert 'value="Новая"' not in response.content.decode()  # the page itself, not a form echo
    assert "Переговоры" in response.content.decode()


def test_stage_edit_saves_every_setting(org):
    CustomField.objects.create(entity="deal", key="budget", label="Бюджет", field_type="number")
    pipeline = make_pipeline()
    target = stage(pipeline, "Переговоры")

    response = client_for(org.admin).post(
        reverse("sales:stage_edit", args=[target.pk]),
        _stage_data(
            name="Переговоры и КП",
            probability="35",
            color="#FF0000",
            required_fields=["amount", "custom.budget"],
            stale_after_days="7",
        ),
    )

    assert response.status_code == 302
    target.refresh_from_db()
    assert (target.name, target.probability, target.color, target.stale_after_days) == (
        "Переговоры и КП",
        35,
        "#ff0000",
        7,
    )
    assert target.required_fields == ["amount", "custom.budget"]
    page = client_for(org.admin).get(reverse("sales:stage_edit", args=[target.pk]))
    html = page.content.decode()
    assert 'value="custom.budget"' in html and "Бюджет" in html
    assert 'value="#ff0000"' in html


def test_stage_edit_offers_only_active_deal_custom_fields(org):
    CustomField.objects.create(entity="deal", key="budget", label="Бюджет", field_type="number")
    CustomField.objects.create(entity="contact", key="hobby", label="Хобби", field_type="text")
    CustomField.objects.create(
        entity="deal", key="gone", label="Ушедшее", field_type="text", is_active=False
    )
    target = stage(make_pipeline(), "Переговоры")

    html = client_for(org.admin).get(reverse("sales:stage_edit", args=[target.pk])).content.decode()

    assert "custom.budget" in html
    assert "custom.hobby" not in html and "custom.gone" not in html


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("required_fields", ["nonexistent"]),
        ("required_fields", ["custom.nonexistent"]),
        ("stale_after_days", "0"),
        ("color", "red"),
        ("probability", "150"),
        ("name", ""),
    ],
)
def test_stage_edit_shows_the_error_on_the_field(org, field, value):
    pipeline = make_pipeline()
    target = stage(pipeline, "Переговоры")

    response = client_for(org.admin).post(
        reverse("sales:stage_edit", args=[target.pk]), _stage_data(**{field: value})
    )

    assert response.status_code == 422
    assert _field_error(response, field)
    target.refresh_from_db()
    assert target.name == "Переговоры" and target.probability == 10


def test_stage_kind_with_deals_cannot_change(org):
    pipeline = make_pipeline()
    target = stage(pipeline, "Переговоры")
    make_deal(target, org.manager)

    response = client_for(org.admin).post(
        reverse("sales:stage_edit", args=[target.pk]), _stage_data(name="Переговоры", kind="won")
    )

    assert response.status_code == 409
    assert "cannot change" in response.content.decode()
    target.refresh_from_db()
    assert target.kind == "open"


def test_the_last_open_stage_keeps_its_kind(org):
    pipeline = make_pipeline(stages=(("Одна", "open"), ("Успех", "won")))
    only = stage(pipeline, "Одна")

    response = client_for(org.admin).post(
        reverse("sales:stage_edit", args=[only.pk]), _stage_data(name="Теперь успех", kind="won")
    )

    assert response.status_code == 422
    html = response.content.decode()
    assert "at least one open stage" in html
    assert '<h1 class="h4 text-break">Одна' in html  # the stored name, not the refused one
    only.refresh_from_db()
    assert (only.name, only.kind) == ("Одна", "open")


# --- order --------------------------------------------------------------------------------------


def test_reorder_saves_the_dragged_order(org):
    pipeline = make_pipeline()
    ids = list(pipeline.stages.order_by("position").values_list("id", flat=True))
    url = reverse("sales:pipeline_reorder", args=[pipeline.pk])

    response = client_for(org.admin).post(
        url, {"stage_ids": [ids[1], ids[0], ids[2], ids[3]]}, HTTP_X_REQUESTED_WITH="XMLHttpRequest"
    )

    assert response.status_code == 204
    assert order(pipeline) == ["Переговоры", "Новая", "Успех", "Отказ"]


def test_reorder_without_script_redirects_back(org):
    pipeline = make_pipeline()
    ids = list(pipeline.stages.order_by("position").values_list("id", flat=True))

    response = client_for(org.admin).post(
        reverse("sales:pipeline_reorder", args=[pipeline.pk]), {"stage_ids": ids[::-1]}
    )

    assert response.status_code == 302
    assert order(pipeline) == ["Отказ", "Успех", "Переговоры", "Новая"]


@pytest.mark.parametrize("stage_ids", [["1", "x"], []])
def test_reorder_refuses_a_stale_or_broken_list(org, stage_ids):
    pipeline = make_pipeline()
    url = reverse("sales:pipeline_reorder", args=[pipeline.pk])
    client = client_for(org.admin)

    assert (
        client.post(
            url, {"stage_ids": stage_ids}, HTTP_X_REQUESTED_WITH="XMLHttpRequest"
        ).status_code
        == 422
    )
    response = client.post(url, {"stage_ids": stage_ids}, follow=True)
    assert "The stages have changed meanwhile" in response.content.decode()
    assert order(pipeline) == ["Новая", "Переговоры", "Успех", "Отказ"]


def test_up_and_down_buttons_move_a_stage(org):
    pipeline = make_pipeline()
    client = client_for(org.admin)
    target = stage(pipeline, "Успех")

    response = client.post(reverse("sales:stage_move", args=[target.pk]), {"direction": "up"})

    assert response.status_code == 302 and response["Location"].endswith(f"#stage-{target.pk}")
    assert order(pipeline) == ["Новая", "Успех", "Переговоры", "Отказ"]
    client.post(reverse("sales:stage_move", args=[target.pk]), {"direction": "down"})
    client.post(reverse("sales:stage_move", args=[target.pk]), {"direction": "down"})
    client.post(reverse("sales:stage_move", args=[target.pk]), {"direction": "down"})  # the end
    assert order(pipeline) == ["Новая", "Переговоры", "Отказ", "Успех"]


# --- archive and delete -------------------------------------------------------------------------


def test_stage_archive_with_open_deals_shows_why(org):
    pipeline = make_pipeline()
    target = stage(pipeline, "Переговоры")
    make_deal(target, org.manager)

    response = client_for(org.admin).post(
        reverse("sales:stage_archive", args=[target.pk]), {"archived": "1"}
    )

    assert response.status_code == 409
    assert "Move the open deals of this stage first" in response.content.decode()
    target.refresh_from_db()
    assert not target.archived


def test_stage_archive_and_restore(org):
    pipeline = make_pipeline()
    target = stage(pipeline, "Переговоры")
    client = client_for(org.admin)

    client.post(reverse("sales:stage_archive", args=[target.pk]), {"archived": "1"})
    target.refresh_from_db()
    assert target.archived
    client.post(reverse("sales:stage_archive", args=[target.pk]), {"archived": "0"})
    target.refresh_from_db()
    assert not target.archived


def test_delete_a_stage_without_deals(org):
    pipeline = make_pipeline()
    target = stage(pipeline, "Переговоры")

    response = client_for(org.admin).post(reverse("sales:stage_delete", args=[target.pk]))

    assert response.status_code == 302
    assert not Stage.objects.filter(pk=target.pk).exists()


def test_delete_a_stage_with_deals_without_a_target_asks_where_to(org):
    pipeline = make_pipeline()
    Stage.objects.create(pipeline=pipeline, name="Спящая", kind="open", archived=True, position=8)
    target = stage(pipeline, "Переговоры")
    make_deal(target, org.manager)

    response = client_for(org.admin).post(reverse("sales:stage_delete", args=[target.pk]))

    assert response.status_code == 409
    html = response.content.decode()
    assert "choose where to move them" in html
    assert 'name="move_to"' in html
    select = html[html.index('name="move_to"') : html.index("</select>")]
    assert "Новая" in select
    assert "Успех" not in select and "Спящая" not in select and "Переговоры" not in select
    assert Stage.objects.filter(pk=target.pk).exists()


def test_delete_a_stage_with_deals_moves_them_and_their_visits(org):
    pipeline = make_pipeline()
    target, move_to = stage(pipeline, "Переговоры"), stage(pipeline, "Новая")
    deal = make_deal(target, org.manager)

    response = client_for(org.admin).post(
        reverse("sales:stage_delete", args=[target.pk]), {"move_to": move_to.pk}
    )

    assert response.status_code == 302
    assert not Stage.objects.filter(pk=target.pk).exists()
    deal.refresh_from_db()
    assert deal.stage == move_to
    assert set(StageVisit.objects.filter(deal=deal).values_list("stage_id", flat=True)) == {
        move_to.pk
    }


def test_delete_refuses_a_target_of_another_kind(org):
    pipeline = make_pipeline()
    target = stage(pipeline, "Переговоры")
    deal = make_deal(target, org.manager)

    response = client_for(org.admin).post(
        reverse("sales:stage_delete", args=[target.pk]),
        {"move_to": stage(pipeline, "Успех").pk},
    )

    assert response.status_code == 422
    assert _field_error(response, "move_to")
    deal.refresh_from_db()
    assert deal.stage == target


def test_delete_without_a_stage_of_the_same_kind_offers_to_archive(org):
    pipeline = make_pipeline()
    lost = stage(pipeline, "Отказ")
    make_deal(lost, org.manager)

    response = client_for(org.admin).get(reverse("sales:stage_delete", args=[lost.pk]))

    html = response.content.decode()
    assert "no other stage of the kind" in html
    assert reverse("sales:stage_archive", args=[lost.pk]) in html


def test_deleting_the_last_open_stage_is_refused_on_the_page(org):
    pipeline = make_pipeline(stages=(("Одна", "open"), ("Успех", "won")))
    only = stage(pipeline, "Одна")

    response = client_for(org.admin).post(reverse("sales:stage_delete", args=[only.pk]))

    assert response.status_code == 422
    assert "at least one open stage" in response.content.decode()
    assert Stage.objects.filter(pk=only.pk).exists()
