"""Services of the pipeline settings (``services/pipelines.py``) and the action config
cleaner (``services/automation.clean_action_config``), called directly."""

from __future__ import annotations

import pytest

from crm.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from crm.customers.models import CustomField
from crm.customers.services.cleaning import Errors
from crm.planner.models import TaskType
from crm.sales.choices import ActionKind, StageKind
from crm.sales.models import LostReason, Pipeline, Stage, StageAction, StageVisit
from crm.sales.services import pipelines as services
from crm.sales.services.automation import clean_action_config
from crm.sales.tests.pipeline_fixtures import make_deal, make_pipeline, order, stage


def _errors(call, *args, **kwargs) -> dict[str, list[str]]:
    with pytest.raises(ValidationFailed) as info:
        call(*args, **kwargs)
    return info.value.field_errors


# --- pipelines ----------------------------------------------------------------------------------


def test_pipeline_create_adds_new_won_and_lost_stages(org):
    pipeline = services.pipeline_save(actor=org.admin, name="  Тендеры  ", client_types=[])

    assert pipeline.name == "Тендеры"
    assert [(s.kind, s.position) for s in pipeline.stages.order_by("position")] == [
        (StageKind.OPEN, 0),
        (StageKind.WON, 1),
        (StageKind.LOST, 2),
    ]
    assert pipeline.position > Pipeline.objects.exclude(pk=pipeline.pk).latest("position").position


@pytest.mark.parametrize("role", ["head", "manager", "viewer"])
def test_pipeline_save_refuses_non_admins_and_changes_nothing(org, role):
    count = Pipeline.objects.count()
    with pytest.raises(PermissionDenied):
        services.pipeline_save(actor=getattr(org, role), name="Моя воронка")
    assert Pipeline.objects.count() == count


def test_pipeline_save_refuses_an_empty_name(org):
    count = Pipeline.objects.count()
    assert "name" in _errors(services.pipeline_save, actor=org.admin, name="   ")
    assert Pipeline.objects.count() == count


def test_a_client_type_is_the_default_of_one_live_pipeline(org):
    retail = services.pipeline_for_client_type("private")

    errors = _errors(
        services.pipeline_save, actor=org.admin, name="Вторая розница", client_types=["private"]
    )

    assert "client_types" in errors
    assert retail.name in errors["client_types"][0]
    assert not Pipeline.objects.filter(name="Вторая розница").exists()


def test_a_client_type_moves_after_the_old_default_lets_it_go(org):
    retail = services.pipeline_for_client_type("private")
    services.pipeline_save(actor=org.admin, pipeline=retail, name=retail.name, client_types=[])

    pipeline = services.pipeline_save(
        actor=org.admin, name="Новая розница", client_types=["private"]
    )

    assert pipeline.client_types == ["private"]
    assert services.pipeline_for_client_type("private") == pipeline


def test_pipeline_save_refuses_unknown_client_types(org):
    assert "client_types" in _errors(
        services.pipeline_save, actor=org.admin, name="Х", client_types=["martian"]
    )


def test_renaming_without_client_types_keeps_them(org):
    retail = services.pipeline_for_client_type("private")

    services.pipeline_save(actor=org.admin, pipeline=retail, name="Розница B2C")

    retail.refresh_from_db()
    assert retail.name == "Розница B2C"
    assert retail.client_types == ["private"]


def test_an_archived_pipeline_cannot_be_a_default(org):
    pipeline = make_pipeline()
    services.pipeline_archive(actor=org.admin, pipeline=pipeline)
    retail = services.pipeline_for_client_type("private")
    services.pipeline_save(actor=org.admin, pipeline=retail, name=retail.name, client_types=[])

    errors = _errors(
        services.pipeline_save,
        actor=org.admin,
        pipeline=pipeline,
        name=pipeline.name,
        client_types=["private"],
    )

    assert "client_types" in errors


def test_pipeline_archive_refuses_while_open_deals_remain(org):
    pipeline = make_pipeline()
    make_deal(stage(pipeline, "Новая"), org.manager)

    with pytest.raises(Conflict):
        services.pipeline_archive(actor=org.admin, pipeline=pipeline)

    pipeline.refresh_from_db()
    assert not pipeline.archived


def test_pipeline_archive_with_closed_deals_only_clears_its_defaults(org):
    pipeline = services.pipeline_for_client_type("private")
    make_deal(pipeline.stages.filter(kind=StageKind.WON).first(), org.manager)

    services.pipeline_archive(actor=org.admin, pipeline=pipeline)

    pipeline.refresh_from_db()
    assert pipeline.archived and pipeline.client_types == []
    services.pipeline_archive(actor=org.admin, pipeline=pipeline, archived=False)
    pipeline.refresh_from_db()
    assert not pipeline.archived


def test_pipeline_get_answers_not_found_for_garbage(org):
    with pytest.raises(NotFound):
        services.pipeline_get(pk="abc")
    with pytest.raises(NotFound):
        services.pipeline_get(pk=999999)


# --- stages -------------------------------------------------------------------------------------


def test_stage_save_adds_after_the_last_open_stage(org):
    pipeline = make_pipeline()

    new = services.stage_save(
        actor=org.admin, pipeline=pipeline, name="Счёт", probability="60", color="#AABBCC"
    )

    assert order(pipeline) == ["Новая", "Переговоры", "Счёт", "Успех", "Отказ"]
    assert (new.kind, new.probability, new.color) == (StageKind.OPEN, 60, "#aabbcc")


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("name", ""),
        ("kind", "maybe"),
        ("probability", "150"),
        ("probability", "-1"),
        ("probability", "abc"),
        ("color", "red"),
        ("color", "#12345"),
        ("required_fields", ["nonexistent"]),
        ("required_fields", ["custom.nonexistent"]),
        ("required_fields", "amount"),
        ("stale_after_days", "0"),
        ("stale_after_days", "366"),
        ("stale_after_days", "abc"),
    ],
)
def test_stage_save_refuses_bad_input_and_writes_nothing(org, field, value):
    pipeline = make_pipeline()
    data = {"name": "Счёт", field: value}

    errors = _errors(services.stage_save, actor=org.admin, pipeline=pipeline, **data)

    assert list(errors) == [field]
    assert pipeline.stages.count() == 4


def test_stage_may_require_builtin_fields_and_active_deal_custom_fields(org):
    CustomField.objects.create(entity="deal", key="budget", label="Бюджет", field_type="number")
    CustomField.objects.create(
        entity="deal", key="old", label="Старое", field_type="text", is_active=False
    )
    CustomField.objects.create(entity="contact", key="hobby", label="Хобби", field_type="text")
    pipeline = make_pipeline()
    target = stage(pipeline, "Переговоры")

    services.stage_save(
        actor=org.admin,
        pipeline=pipeline,
        stage=target,
        required_fields=["amount", "custom.budget", "amount"],
    )

    target.refresh_from_db()
    assert target.required_fields == ["amount", "custom.budget"]
    for key in ("custom.old", "custom.hobby"):
        assert "required_fields" in _errors(
            services.stage_save,
            actor=org.admin,
            pipeline=pipeline,
            stage=target,
            required_fields=[key],
        )


def test_stage_save_changes_only_given_fields(org):
    pipeline = make_pipeline()
    target = stage(pipeline, "Переговоры")

    services.stage_save(
        actor=org.admin, pipeline=pipeline, stage=target, stale_after_days="7", probability=40
    )

    target.refresh_from_db()
    assert (target.name, target.stale_after_days, target.probability) == ("Переговоры", 7, 40)
    services.stage_save(actor=org.admin, pipeline=pipeline, stage=target, stale_after_days="")
    target.refresh_from_db()
    assert target.stale_after_days is None


def test_stage_of_another_pipeline_is_not_found(org):
    first, second = make_pipeline("A"), make_pipeline("B")
    with pytest.raises(NotFound):
        services.stage_save(actor=org.admin, pipeline=first, stage=stage(second, "Новая"), name="Х")


def test_the_kind_of_a_stage_with_deals_cannot_change(org):
    pipeline = make_pipeline()
    target = stage(pipeline, "Переговоры")
    make_deal(target, org.manager)

    with pytest.raises(Conflict):
        services.stage_save(actor=org.admin, pipeline=pipeline, stage=target, kind="won")

    target.refresh_from_db()
    assert target.kind == StageKind.OPEN


def test_a_pipeline_keeps_an_open_stage(org):
    pipeline = make_pipeline(stages=(("Одна", "open"), ("Успех", "won")))
    only = stage(pipeline, "Одна")

    assert "kind" in _errors(
        services.stage_save, actor=org.admin, pipeline=pipeline, stage=only, kind="won"
    )
    assert "kind" in _errors(services.stage_archive, actor=org.admin, stage=only)
    assert "kind" in _errors(services.stage_delete, actor=org.admin, stage=only)

    stored = Stage.objects.get(pipeline=pipeline, name="Одна")
    assert stored.kind == StageKind.OPEN and not stored.archived


def test_stage_save_refuses_non_admins(org):
    pipeline = make_pipeline()
    with pytest.raises(PermissionDenied):
        services.stage_save(actor=org.head, pipeline=pipeline, name="Счёт")
    assert pipeline.stages.count() == 4


def test_stage_reorder_puts_every_stage_in_place(org):
    pipeline = make_pipeline()
    ids = list(pipeline.stages.order_by("position").values_list("id", flat=True))

    services.stage_reorder(actor=org.admin, pipeline=pipeline, stage_ids=[ids[1], ids[0], *ids[2:]])

    assert order(pipeline) == ["Переговоры", "Новая", "Успех", "Отказ"]


@pytest.mark.parametrize("change", ["missing", "duplicate", "foreign"])
def test_stage_reorder_refuses_a_partial_list(org, change):
    pipeline, other = make_pipeline("A"), make_pipeline("B")
    ids = list(pipeline.stages.order_by("position").values_list("id", flat=True))
    bad = {
        "missing": ids[1:],
        "duplicate": [ids[0], *ids],
        "foreign": [*ids[:-1], other.stages.first().pk],
    }[change]

    assert "stage_ids" in _errors(
        services.stage_reorder, actor=org.admin, pipeline=pipeline, stage_ids=bad
    )
    assert order(pipeline) == ["Новая", "Переговоры", "Успех", "Отказ"]


def test_stage_archive_refuses_while_open_deals_sit_there(org):
    pipeline = make_pipeline()
    target = stage(pipeline, "Переговоры")
    make_deal(target, org.manager)

    with pytest.raises(Conflict):
        services.stage_archive(actor=org.admin, stage=target)

    target.refresh_from_db()
    assert not target.archived


def test_stage_archive_and_restore(org):
    pipeline = make_pipeline()
    target = stage(pipeline, "Успех")
    make_deal(target, org.manager)  # a won deal does not hold the stage

    services.stage_archive(actor=org.admin, stage=target)
    target.refresh_from_db()
    assert target.archived
    services.stage_archive(actor=org.admin, stage=target, archived=False)
    target.refresh_from_db()
    assert not target.archived


def test_stage_delete_without_deals(org):
    pipeline = make_pipeline()
    target = stage(pipeline, "Переговоры")
    StageAction.objects.create(stage=target, kind="webhook", config={"url": "https://x.ru"})

    services.stage_delete(actor=org.admin, stage=target)

    assert order(pipeline) == ["Новая", "Успех", "Отказ"]
    assert not StageAction.objects.filter(stage_id=target.pk).exists()


def test_stage_delete_with_deals_needs_a_target(org):
    pipeline = make_pipeline()
    target = stage(pipeline, "Переговоры")
    make_deal(target, org.manager)

    with pytest.raises(Conflict):
        services.stage_delete(actor=org.admin, stage=target)

    assert Stage.objects.filter(pk=target.pk).exists()


def test_stage_delete_moves_deals_and_their_visits(org):
    pipeline = make_pipeline()
    target, move_to = stage(pipeline, "Переговоры"), stage(pipeline, "Новая")
    deals = [make_deal(target, org.manager, title=f"Сделка {i}") for i in range(2)]

    services.stage_delete(actor=org.admin, stage=target, move_to=move_to)

    assert not Stage.objects.filter(pk=target.pk).exists()
    for deal in deals:
        deal.refresh_from_db()
        assert deal.stage == move_to
        assert list(deal.visits.values_list("stage_id", flat=True)) == [move_to.pk]


def test_stage_delete_with_only_history_needs_a_target_too(org):
    """A stage deals have left still holds their visits (a protected reference)."""
    pipeline = make_pipeline()
    target, next_stage = stage(pipeline, "Новая"), stage(pipeline, "Переговоры")
    deal = make_deal(target, org.manager)
    deal.stage = next_stage
    deal.save(update_fields=["stage"])

    with pytest.raises(Conflict):
        services.stage_delete(actor=org.admin, stage=target)

    services.stage_delete(actor=org.admin, stage=target, move_to=next_stage)
    assert list(StageVisit.objects.filter(deal=deal).values_list("stage_id", flat=True)) == [
        next_stage.pk
    ]


@pytest.mark.parametrize("target_name", ["Успех", "Переговоры-архив", "Переговоры", "чужая"])
def test_stage_delete_refuses_a_wrong_target(org, target_name):
    pipeline = make_pipeline()
    doomed = stage(pipeline, "Новая")
    deal = make_deal(doomed, org.manager)
    archived = Stage.objects.create(
        pipeline=pipeline, name="Переговоры-архив", kind="open", archived=True, position=9
    )
    other = make_pipeline("Другая")
    move_to = {
        "Успех": stage(pipeline, "Успех"),  # another kind
        "Переговоры-архив": archived,
        "Переговоры": doomed,  # itself
        "чужая": stage(other, "Новая"),
    }[target_name]

    assert "move_to" in _errors(
        services.stage_delete, actor=org.admin, stage=doomed, move_to=move_to
    )

    deal.refresh_from_db()
    assert deal.stage == doomed


# --- actions and lost reasons -------------------------------------------------------------------


def test_stage_action_save_creates_and_changes(org):
    target = stage(make_pipeline(), "Переговоры")

    action = services.stage_action_save(
        actor=org.admin,
        stage=target,
        kind=ActionKind.WEBHOOK,
        config={"url": "https://hooks.example.com/crm", "secret": "s3"},
    )
    services.stage_action_save(
        actor=org.admin,
        stage=target,
        action=action,
        kind=ActionKind.SET_OWNER,
        config={"user_id": org.manager.pk},
    )

    action.refresh_from_db()
    assert (action.kind, action.config) == ("set_owner", {"user_id": org.manager.pk})


def test_stage_action_save_refuses_bad_config_and_writes_nothing(org):
    target = stage(make_pipeline(), "Переговоры")

    errors = _errors(
        services.stage_action_save,
        actor=org.admin,
        stage=target,
        kind=ActionKind.WEBHOOK,
        config={"url": "ftp://x"},
    )

    assert errors.keys() == {"config.url"}
    assert not target.actions.exists()
    assert "kind" in _errors(
        services.stage_action_save, actor=org.admin, stage=target, kind="explode", config={}
    )
    assert "config" in _errors(
        services.stage_action_save, actor=org.admin, stage=target, kind="notify", config=[]
    )


def test_stage_action_delete_and_permissions(org):
    target = stage(make_pipeline(), "Переговоры")
    action = StageAction.objects.create(stage=target, kind="set_owner", config={"user_id": 1})

    with pytest.raises(PermissionDenied):
        services.stage_action_delete(actor=org.manager, action=action)
    services.stage_action_delete(actor=org.admin, action=action)

    assert not StageAction.objects.filter(pk=action.pk).exists()


def test_lost_reason_save_and_archive(org):
    reason = services.lost_reason_save(actor=org.admin, name="  Пропал  ")
    assert reason.name == "Пропал"
    services.lost_reason_save(actor=org.admin, reason=reason, name="Пропал клиент")
    services.lost_reason_archive(actor=org.admin, reason=reason)

    reason.refresh_from_db()
    assert (reason.name, reason.archived) == ("Пропал клиент", True)
    assert "name" in _errors(services.lost_reason_save, actor=org.admin, reason=reason, name="")
    with pytest.raises(PermissionDenied):
        services.lost_reason_save(actor=org.head, name="Другое")
    assert not LostReason.objects.filter(name="Другое").exists()


# --- clean_action_config ------------------------------------------------------------------------


def _clean(kind, config):
    errors = Errors()
    clean = clean_action_config(errors, kind, config)
    return clean, errors.fields


def test_task_config_is_cleaned_with_defaults(org):
    clean, errors = _clean("create_task", {"title": "  Позвонить  ", "due_in": "4"})

    assert errors == {}
    assert clean == {
        "title": "Позвонить",
        "type": "todo",
        "due_in": 4,
        "due_unit": "work_hours",
        "assignee": "responsible",
    }


def test_task_config_for_a_fixed_user(org):
    clean, errors = _clean(
        "create_task",
        {
            "title": "Т",
            "type": "call",
            "due_in": 1,
            "due_unit": "days",
            "assignee": "user",
            "user_id": str(org.manager.pk),
        },
    )
    assert errors == {}
    assert clean["user_id"] == org.manager.pk


@pytest.mark.parametrize(
    ("config", "field"),
    [
        ({"title": ""}, "config.title"),
        ({"title": "Т", "due_in": "abc"}, "config.due_in"),
        ({"title": "Т", "due_in": 1001}, "config.due_in"),
        ({"title": "Т", "due_unit": "weeks"}, "config.due_unit"),
        ({"title": "Т", "assignee": "boss"}, "config.assignee"),
        ({"title": "Т", "assignee": "user"}, "config.user_id"),
        ({"title": "Т", "assignee": "user", "user_id": 999999}, "config.user_id"),
        ({"title": "Т", "type": "nonexistent"}, "config.type"),
    ],
)
def test_task_config_errors(org, config, field):
    _clean_config, errors = _clean("create_task", config)
    assert field in errors


def test_task_config_refuses_an_archived_task_type(org):
    TaskType.objects.create(code="old", name="Старый", archived=True)
    assert "config.type" in _clean("create_task", {"title": "Т", "type": "old"})[1]


def test_notify_config(org):
    clean, errors = _clean(
        "notify",
        {"recipients": ["responsible", "head", str(org.manager.pk), "head"], "message": " Эй "},
    )
    assert errors == {}
    assert clean == {"recipients": ["responsible", "head", org.manager.pk], "message": "Эй"}


@pytest.mark.parametrize("recipients", [[], None, "responsible", ["nobody"]])
def test_notify_config_needs_recipients(org, recipients):
    assert "config.recipients" in _clean("notify", {"recipients": recipients})[1]


def test_notify_config_refuses_inactive_users(org):
    org.colleague.is_active = False
    org.colleague.save()
    assert "config.recipients" in _clean("notify", {"recipients": [org.colleague.pk]})[1]


def test_set_owner_config(org):
    assert _clean("set_owner", {"user_id": org.manager.pk}) == ({"user_id": org.manager.pk}, {})
    assert "config.user_id" in _clean("set_owner", {})[1]


@pytest.mark.parametrize(
    "url", ["ftp://x", "", "https://", "javascript:alert(1)", "https://x.ru/" + "a" * 500]
)
def test_webhook_config_needs_an_http_address(org, url):
    assert "config.url" in _clean("webhook", {"url": url})[1]


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:6379/",
        "http://localhost/x",
        "http://169.254.169.254/latest",
        "http://[::1]/",
    ],
)
def test_webhook_config_refuses_internal_addresses_in_production(org, settings, url):
    settings.CRM_WEBHOOK_ALLOW_PRIVATE = False
    assert "config.url" in _clean("webhook", {"url": url})[1]
    settings.CRM_WEBHOOK_ALLOW_PRIVATE = True
    assert _clean("webhook", {"url": url})[1] == {}


def test_webhook_config(org):
    clean, errors = _clean("webhook", {"url": "https://hooks.example.com/x?a=1", "secret": "k"})
    assert errors == {}
    assert clean == {"url": "https://hooks.example.com/x?a=1", "secret": "k"}
