"""``ReportFilters.visits`` (the filters written on stage visits, the owner and the pipeline
on the visit itself) keeps exactly the visits of the deals ``ReportFilters.deals`` keeps, for
every filter and every viewer: the forecast and the funnel's stays count visits so."""

from __future__ import annotations

from decimal import Decimal

import pytest

from crm.accounts.models import Team, User
from crm.analytics.filters import ReportFilters
from crm.analytics.tests.test_funnel import INVOICE, NEW, SHIPPED, day, history
from crm.customers.tests.factories import make_company, make_contact
from crm.sales.models import Deal, DealLine, Pipeline, StageVisit
from crm.sales.tests.factories import make_product

pytestmark = pytest.mark.django_db


@pytest.fixture
def mixed(org):
    """Deals of the manager and the colleague in both pipelines, from several sources, for a
    company and for a private person, one with a product line, one shared with the outsider."""
    company, person = make_company(org.manager), make_contact(org.manager)
    product = make_product()
    deals = [
        history(org.manager, [(NEW, day(1)), (INVOICE, day(2))]),
        history(org.manager, [(NEW, day(1)), (SHIPPED, day(3))]),
        history(org.colleague, [(NEW, day(2)), (INVOICE, day(4)), (NEW, day(5))]),
        history(org.colleague, [(NEW, day(1))]),
    ]
    Deal.objects.filter(pk=deals[0].pk).update(company=company, source="website")
    Deal.objects.filter(pk=deals[1].pk).update(contact=person, source="phone")
    Deal.objects.filter(pk=deals[2].pk).update(company=company, source="website")
    DealLine.objects.create(
        deal=deals[2],
        product=product,
        name="Стол",
        price=Decimal("10"),
        total=Decimal("10"),
        vat_amount=Decimal("1.80"),
    )
    deals[3].shared_with.add(org.outsider)
    return org, product


def cases(org, product):
    yield ReportFilters()
    yield ReportFilters(pipeline=Pipeline.objects.get(name="Розница"))
    yield ReportFilters(pipeline=Pipeline.objects.get(name="Опт"))
    yield ReportFilters(manager=org.colleague)
    yield ReportFilters(team=Team.objects.get(name=org.manager.teams.first().name))
    yield ReportFilters(source="website")
    yield ReportFilters(client_type="business")
    yield ReportFilters(client_type="private")
    yield ReportFilters(product=product)


def test_the_visits_filters_keep_the_visits_of_the_deals_the_deals_filters_keep(mixed):
    org, product = mixed
    for user in (org.admin, org.head, org.manager, org.colleague, org.outsider):
        viewer = User.objects.get(pk=user.pk)
        for filters in cases(org, product):
            deals = filters.deals(viewer, Deal.objects.visible_to(viewer))
            wanted = set(StageVisit.objects.filter(deal__in=deals).values_list("pk", flat=True))
            visits = filters.visits(viewer, StageVisit.objects.visible_to_resolved(viewer))
            assert set(visits.values_list("pk", flat=True)) == wanted, (user, filters)
    # and the cases are not empty all round: the shared deal reaches the outsider
    outsider = User.objects.get(pk=org.outsider.pk)
    assert ReportFilters().visits(outsider, StageVisit.objects.visible_to_resolved(outsider))
