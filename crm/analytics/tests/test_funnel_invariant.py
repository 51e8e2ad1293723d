"""What the funnel's reading of a period's deals from the deals' side relies on
(``crm.sales.reach.period_deals``): every writer of stage visits leaves no visit of a deal
beginning after the deal's ``stage_entered_at`` or before it was made; and the edges of reading the deals joined
to their visits (a shared deal, a reassigned deal, a clock stepped back between two moves,
a filter that annotates the deals)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db.models import F

from crm.analytics.filters import ReportFilters
from crm.analytics.selectors.funnel import funnel_report
from crm.analytics.tests.test_funnel import DECEMBER, INVOICE, NEW, SHIPPED, day, history
from crm.core.errors import ValidationFailed
from crm.customers.tests.factories import make_company, make_contact
from crm.sales.models import Deal, LostReason, Pipeline, Stage, StageVisit
from crm.sales.services import deals as deal_services
from crm.sales.services.deals import deal_update
from crm.sales.services.pipelines import stage_delete

pytestmark = pytest.mark.django_db


def assert_no_visit_after_the_deals_stage_entered_at() -> None:
    """The invariant, and that the sitting visit is the deal's stage since that moment; and
    no visit begins before the deal was made (its first is written in the same service
    call: ``created_at`` is stamped at the save, a moment after the visit's ``now``)."""
    assert not StageVisit.objects.filter(entered_at__gt=F("deal__stage_entered_at")).exists()
    assert not StageVisit.objects.filter(
        entered_at__lt=F("deal__created_at") - dt.timedelta(minutes=1)
    ).exists()
    for deal in Deal.objects.all():
        sitting = StageVisit.objects.get(deal=deal, left_at__isnull=True)
        assert (sitting.stage_id, sitting.entered_at) == (deal.stage_id, deal.stage_entered_at)


def test_every_writer_of_visits_keeps_them_no_later_than_the_deals_stage_entered_at(org):
    retail = Pipeline.objects.get(name="Розница")
    wholesale = Pipeline.objects.get(name="Опт")
    stages = {stage.name: stage for stage in retail.stages.all()}
    manager = org.manager
    deal = deal_services.deal_create(
        actor=manager, data={"title": "Кухня", "amount": "100", "pipeline_id": retail.pk}
    )
    assert_no_visit_after_the_deals_stage_entered_at()

    steps = [
        lambda: deal_services.deal_move(actor=manager, pk=deal.pk, stage_id=stages[INVOICE].pk),
        lambda: deal_services.deal_update(
            actor=manager, pk=deal.pk, data={"stage_id": stages[NEW].pk}
        ),
        lambda: deal_services.deal_win(actor=manager, pk=deal.pk),
        lambda: deal_services.deal_reopen(actor=manager, pk=deal.pk),
        lambda: deal_services.deal_lose(
            actor=manager, pk=deal.pk, lost_reason_id=LostReason.objects.first().pk
        ),
        lambda: deal_services.deal_reopen(actor=manager, pk=deal.pk),
    ]
    for step in steps:
        step()
        assert_no_visit_after_the_deals_stage_entered_at()

    # A deal does not change pipelines (were it allowed, the move must write both too).
    with pytest.raises(ValidationFailed):
        deal_services.deal_update(actor=manager, pk=deal.pk, data={"pipeline_id": wholesale.pk})
    deal.refresh_from_db()
    twin = Stage.objects.create(pipeline=retail, name="Ещё одна", position=99, kind=deal.stage.kind)
    stage_delete(actor=org.admin, stage=deal.stage, move_to=twin)
    assert_no_visit_after_the_deals_stage_entered_at()
    assert StageVisit.objects.filter(deal=deal).count() == 7


def test_a_clock_stepped_back_between_two_moves_still_counts_the_deal(org):
    """The deal's last move was written by a clock an hour behind the one that wrote its
    December visit: within ``CLOCK_MARGIN``, so it is counted."""
    start = DECEMBER.start_at
    behind = history(org.manager, [(NEW, day(30, 11)), (INVOICE, start + dt.timedelta(minutes=5))])
    Deal.objects.filter(pk=behind.pk).update(stage_entered_at=start - dt.timedelta(hours=1))
    funnel = funnel_report(viewer=org.manager, period=DECEMBER, filters=ReportFilters())
    assert funnel.deals == 1
    assert [row.entered for row in funnel.stages] == [0, 1, 0]


def test_a_shared_deal_counts_for_the_one_it_is_shared_with(org):
    shared = history(org.colleague, [(NEW, day(1)), (INVOICE, day(2))])
    history(org.colleague, [(NEW, day(1))])
    shared.shared_with.add(org.manager)
    funnel = funnel_report(viewer=org.manager, period=DECEMBER, filters=ReportFilters())
    assert (funnel.deals, [row.reached for row in funnel.stages]) == (1, [1, 1, 0])


def test_a_reassigned_deal_counts_for_its_new_owner_only(org):
    moved = history(org.manager, [(NEW, day(1)), (SHIPPED, day(3))])
    history(org.manager, [(NEW, day(2))])
    deal_update(actor=org.admin, pk=moved.pk, data={"owner_id": org.colleague.pk})

    def counted(viewer, **filters):
        funnel = funnel_report(viewer=viewer, period=DECEMBER, filters=ReportFilters(**filters))
        return funnel.deals, funnel.won

    assert counted(org.manager) == (1, 0)
    assert counted(org.colleague) == (1, 1)
    assert counted(org.head) == (2, 1)
    assert counted(org.head, manager=org.colleague) == (1, 1)


def test_the_client_type_filter_counts_each_deal_of_that_type_once(org):
    """The client type is an annotation on the deals (the company's kind, or the contact's
    type): the deals joined to their visits must still give one row per deal."""
    company = make_company(org.manager)
    person = make_contact(org.manager)
    business = history(org.manager, [(NEW, day(1)), (INVOICE, day(2)), (NEW, day(3))])
    private = history(org.manager, [(NEW, day(1)), (SHIPPED, day(2))])
    Deal.objects.filter(pk=business.pk).update(company=company, contact=person)
    Deal.objects.filter(pk=private.pk).update(contact=person)

    def funnel(client_type):
        filters = ReportFilters(client_type=client_type)
        return funnel_report(viewer=org.manager, period=DECEMBER, filters=filters)

    only_business = funnel("business")
    assert (only_business.deals, only_business.won) == (1, 0)
    assert [(row.reached, row.entered, row.returns) for row in only_business.stages] == [
        (1, 1, 1),
        (1, 1, 0),
        (0, 0, 0),
    ]
    only_private = funnel("private")
    assert (only_private.deals, only_private.won) == (1, 1)
    assert [row.reached for row in only_private.stages] == [1, 1, 1]
