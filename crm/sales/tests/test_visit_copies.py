"""The columns a stage visit repeats from its deal and its deal's other visits (``owner``,
``decided_at``, ``won_at``, ``prior_entered_at``) stay equal to what the deal and the visits
say after every writer, under concurrent writers too, and the migration's fill computes
the same values for visits written before the columns existed."""

from __future__ import annotations

import importlib
from typing import Any

import pytest
from django.db import connection

from conftest import run_together
from crm.accounts.models import User
from crm.core.errors import Conflict
from crm.sales.choices import StageKind
from crm.sales.models import Deal, LostReason, Pipeline, Stage, StageAction, StageVisit
from crm.sales.services import deals as services
from crm.sales.services.pipelines import stage_delete, stage_save
from crm.sales.services.visits import visits_settle
from crm.sales.tests.pipeline_fixtures import make_pipeline, stage

COPIES = ("owner_id", "decided_at", "won_at", "prior_entered_at")


def expected(deal: Deal) -> list[dict[str, Any]]:
    """Each visit's copies as the definitions say, computed here from the visits."""
    deal.refresh_from_db()
    visits = list(StageVisit.objects.filter(deal=deal).select_related("stage").order_by("id"))

    def first(after: Any, kinds: set[str]) -> Any:
        later = [v.entered_at for v in visits if v.entered_at > after and v.stage.kind in kinds]
        return min(later, default=None)

    return [
        {
            "owner_id": deal.owner_id,
            "decided_at": first(visit.entered_at, {StageKind.WON, StageKind.LOST}),
            "won_at": first(visit.entered_at, {StageKind.WON}),
            "prior_entered_at": max(
                (
                    v.entered_at
                    for v in visits
                    if v.stage_id == visit.stage_id and v.entered_at < visit.entered_at
                ),
                default=None,
            ),
        }
        for visit in visits
    ]


def stored(deal: Deal) -> list[dict[str, Any]]:
    return list(StageVisit.objects.filter(deal=deal).order_by("id").values(*COPIES))


def assert_exact(deal: Deal) -> None:
    assert stored(deal) == expected(deal)


@pytest.fixture
def projects(db) -> Pipeline:
    return make_pipeline()


def new_deal(actor, pipeline: Pipeline) -> Deal:
    return services.deal_create(actor=actor, data={"title": "Сайт", "pipeline_id": pipeline.pk})


def lose(actor, deal: Deal) -> None:
    services.deal_lose(actor=actor, pk=deal.pk, lost_reason_id=LostReason.objects.first().pk)


@pytest.mark.django_db
def test_every_writer_keeps_the_copies_exact(org, projects):
    new, talks = stage(projects, "Новая"), stage(projects, "Переговоры")
    won, lost = stage(projects, "Успех"), stage(projects, "Отказ")
    deal = new_deal(org.manager, projects)
    assert_exact(deal)
    services.deal_move(actor=org.manager, pk=deal.pk, stage_id=talks.pk)
    services.deal_move(actor=org.manager, pk=deal.pk, stage_id=new.pk)  # back: a prior entry
    assert_exact(deal)
    lose(org.manager, deal)
    assert_exact(deal)
    services.deal_reopen(actor=org.manager, pk=deal.pk)
    services.deal_move(actor=org.manager, pk=deal.pk, stage_id=talks.pk)
    services.deal_win(actor=org.manager, pk=deal.pk)
    copies = stored(deal)
    assert copies == expected(deal)
    # The first visits were decided by the loss and won only by the later win.
    assert copies[0]["decided_at"] < copies[0]["won_at"]
    assert copies[-1]["decided_at"] is None and copies[-1]["won_at"] is None
    assert copies[2]["prior_entered_at"] is not None  # back in «Новая»

    services.deal_update(actor=org.admin, pk=deal.pk, data={"owner_id": org.colleague.pk})
    assert_exact(deal)
    assert {row["owner_id"] for row in stored(deal)} == {org.colleague.pk}

    other = new_deal(org.manager, projects)
    services.deal_move(
        actor=org.head, pk=other.pk, stage_id=talks.pk, updates={"owner_id": org.colleague.pk}
    )
    assert_exact(other)
    StageAction.objects.create(stage=lost, kind="set_owner", config={"user_id": org.manager.pk})
    lose(org.colleague, other)
    other.refresh_from_db()
    assert other.owner_id == org.manager.pk
    assert_exact(other)
    assert won.kind == StageKind.WON


@pytest.mark.django_db
def test_deleting_a_stage_moves_its_visits_and_settles_the_prior_entries(org, projects):
    new = stage(projects, "Новая")
    extra = stage_save(actor=org.admin, pipeline=projects, name="Бриф", kind=StageKind.OPEN)
    deal = new_deal(org.manager, projects)
    services.deal_move(actor=org.manager, pk=deal.pk, stage_id=extra.pk)
    services.deal_move(actor=org.manager, pk=deal.pk, stage_id=new.pk)
    stage_delete(actor=org.admin, stage=extra, move_to=new)
    copies = stored(deal)
    assert copies == expected(deal)
    assert [row["prior_entered_at"] is None for row in copies] == [True, False, False]


@pytest.mark.django_db
def test_the_kind_of_a_stage_deals_have_passed_through_cannot_change(org, projects):
    talks = stage(projects, "Переговоры")
    deal = new_deal(org.manager, projects)
    services.deal_move(actor=org.manager, pk=deal.pk, stage_id=talks.pk)
    services.deal_move(actor=org.manager, pk=deal.pk, stage_id=stage(projects, "Новая").pk)
    assert not talks.deals.exists()  # no deal sits there: only its history does
    with pytest.raises(Conflict):
        stage_save(actor=org.admin, pipeline=projects, stage=talks, kind=StageKind.WON)
    untouched = stage_save(actor=org.admin, pipeline=projects, name="Пусто", kind=StageKind.OPEN)
    changed = stage_save(actor=org.admin, pipeline=projects, stage=untouched, kind=StageKind.LOST)
    assert changed.kind == StageKind.LOST


@pytest.mark.django_db
def test_the_migrations_fill_computes_what_the_service_does(org, projects):
    fill = importlib.import_module("crm.sales.migrations.0011_visit_owner_decided").FILL
    new, talks = stage(projects, "Новая"), stage(projects, "Переговоры")
    deals = [new_deal(org.manager, projects) for _ in range(3)]
    services.deal_move(actor=org.manager, pk=deals[0].pk, stage_id=talks.pk)
    services.deal_move(actor=org.manager, pk=deals[0].pk, stage_id=new.pk)
    services.deal_win(actor=org.manager, pk=deals[0].pk)
    lose(org.manager, deals[1])
    services.deal_reopen(actor=org.manager, pk=deals[1].pk)
    services.deal_win(actor=org.manager, pk=deals[1].pk)
    settled = [stored(deal) for deal in deals]
    StageVisit.objects.update(
        owner=org.colleague, decided_at=None, won_at=None, prior_entered_at=None
    )
    with connection.cursor() as cursor:
        cursor.execute(fill)
    assert [stored(deal) for deal in deals] == settled == [expected(deal) for deal in deals]


@pytest.mark.django_db
def test_settling_a_deal_twice_changes_nothing(org, projects):
    deal = new_deal(org.manager, projects)
    services.deal_win(actor=org.manager, pk=deal.pk)
    before = stored(deal)
    assert visits_settle([deal.pk, deal.pk]) == 2
    assert stored(deal) == before


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="concurrent writers need a server")
def test_moves_and_changes_of_hands_at_once_leave_the_copies_exact(org):
    # A transactional test starts from the migrated rows or from empty tables; make its own.
    projects = make_pipeline(name="Проекты параллельно")
    new, talks = stage(projects, "Новая"), stage(projects, "Переговоры")
    deal = new_deal(org.manager, projects)
    people = [org.manager, org.colleague]

    def hand_over(number: int) -> None:
        owner = people[number % 2]
        services.deal_update(actor=org.admin, pk=deal.pk, data={"owner_id": owner.pk})

    def move(number: int) -> None:
        target = (talks, new)[number % 2]
        services.deal_move(actor=org.admin, pk=deal.pk, stage_id=target.pk)

    for _round in range(3):
        run_together(
            lambda kind, number: (hand_over if kind else move)(number),
            [(number % 2, number) for number in range(6)],
        )
        assert_exact(deal)
    assert Stage.objects.filter(pk=new.pk).exists()


@pytest.mark.django_db
def test_the_visits_scope_holds_the_visits_of_the_deals_one_may_see(org, projects):
    # given deals of several owners, with their visits, one shared with the outsider
    deals = [new_deal(owner, projects) for owner in (org.manager, org.colleague, org.head)]
    for deal in deals:
        services.deal_win(actor=org.admin, pk=deal.pk)
    deals[1].shared_with.add(org.outsider)

    def visits_of_visible_deals(user: User) -> set[int]:
        visible = Deal.objects.visible_to(user)
        return set(StageVisit.objects.filter(deal__in=visible).values_list("pk", flat=True))

    def scoped(user: User) -> set[int]:
        return set(StageVisit.objects.visible_to_resolved(user).values_list("pk", flat=True))

    # then for every user the visits read by their copy of the owner are exactly those
    for user in (org.admin, org.head, org.manager, org.colleague, org.outsider, org.viewer):
        fresh = User.objects.get(pk=user.pk)
        assert scoped(fresh) == visits_of_visible_deals(fresh), user
    assert len(scoped(User.objects.get(pk=org.outsider.pk))) == 2
    # and so for a user who has left, with a deal shared with them
    org.outsider.is_active = False
    org.outsider.save(update_fields=["is_active"])
    fresh = User.objects.get(pk=org.outsider.pk)
    assert scoped(fresh) == visits_of_visible_deals(fresh)
