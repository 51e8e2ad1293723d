"""Exact query-count baselines of every API list: the same pinned number of queries for one
row and for fifty (varied owners, tags, places of work, shares, stages, subjects). Each case
builds row ``index`` of its list; the path may name the record the rows hang on."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone

from crm.accounts.models import Team
from crm.accounts.tests.factories import UserFactory, add_member
from crm.api.tests.conftest import ApiClient, token_for
from crm.core.tests.baselines import one_then_fifty
from crm.customers.models import CustomField, Tag
from crm.customers.services import customer_share, customer_timeline_add
from crm.customers.tests.factories import make_company, make_contact
from crm.leads.models import Lead
from crm.leads.services import intake
from crm.notifications.tests.factories import make_notification
from crm.planner.services.tasks import REMINDERS_MAX, reminder_add
from crm.planner.tests.factories import make_absence, make_task
from crm.sales.models import LostReason, Pipeline, StageVisit
from crm.sales.services.lines import deal_line_add
from crm.sales.services.payments import payment_add
from crm.sales.tests.factories import make_deal, make_product
from crm.sales.tests.pipeline_fixtures import make_pipeline

pytestmark = pytest.mark.django_db


@dataclass
class World:
    """The organisation and the records the rows hang on (all of the manager, visible to the
    head; the company is shared with the colleague so that both may employ people there)."""

    org: Any
    company: Any
    contact: Any
    deal: Any
    task: Any
    pipeline: Any

    def owner(self, index: int):
        return (self.org.manager, self.org.colleague, self.org.head)[index % 3]

    def author(self, index: int):
        return (self.org.manager, self.org.head)[index % 2]


@pytest.fixture
def world(org) -> World:
    company = make_company(org.manager, legal_name="Альфа", tags=["опт"])
    customer_share(actor=org.manager, record=company, user_ids=[org.colleague.pk])
    contact = make_contact(org.manager, last_name="Сидоров")
    deal = make_deal(org.manager, title="Кухня", company=company)
    task = make_task(
        org.manager,
        title="Позвонить",
        subject=contact,
        due_at=timezone.now() + dt.timedelta(days=10),
        reminders=[],
    )
    return World(org, company, contact, deal, task, make_pipeline("Проекты"))


def _contact(world: World, index: int) -> None:
    owner = world.owner(index)
    contact = make_contact(
        owner,
        first_name=f"Имя{index}",
        phones=[f"+7916000{index:04}"],
        emails=[f"c{index}@example.com"],
        tags=[f"тег{index % 4}", "общий"],
        employments=[{"company_id": world.company.pk, "position": "Менеджер"}],
    )
    customer_share(actor=owner, record=contact, user_ids=[world.org.viewer.pk])


def _company(world: World, index: int) -> None:
    owner = world.owner(index)
    company = make_company(
        owner, legal_name=f"Компания {index}", phones=[f"+7495000{index:04}"], tags=["опт"]
    )
    customer_share(actor=owner, record=company, user_ids=[world.org.viewer.pk])


def _deal(world: World, index: int) -> None:
    stages = list(Pipeline.objects.get(name="Розница").stages.filter(kind="open"))
    deal = make_deal(
        world.owner(index),
        stage=stages[index % len(stages)],
        title=f"Сделка {index}",
        company=world.company if index % 2 else None,
        contact=world.contact if index % 3 == 0 else None,
        amount=Decimal(index + 1),
        currency="USD" if index % 4 == 0 else "RUB",
    )
    deal.tags.add(Tag.objects.get_or_create(name=f"тег{index % 4}")[0])


def _visit(world: World, index: int) -> None:
    """A stay of the deal in a stage, entered by one of the team (or by a rule: nobody)."""
    stages = list(world.deal.pipeline.stages.all())
    StageVisit.objects.create(
        deal=world.deal,
        stage=stages[index % len(stages)],
        entered_at=timezone.now() - dt.timedelta(hours=50 - index),
        entered_by=(world.org.manager, world.org.head, None)[index % 3],
        owner_id=world.deal.owner_id,
    )


def _lead(world: World, index: int) -> None:
    inbound, _ = intake.inbound_store(
        channel="api",
        payload={
            "name": f"Гость {index}",
            "phone": f"+7912{index:07d}",
            "company": f"Фирма {index}",
        },
    )
    lead = intake.inbound_process(inbound.pk)
    owner = (world.org.manager, world.org.head, None)[index % 3]
    Lead.objects.filter(pk=lead.pk).update(owner=owner, team=Team.objects.get(name="Москва"))


def _task(world: World, index: int) -> None:
    subject = (world.contact, world.company, world.deal, None)[index % 4]
    make_task(
        world.author(index),
        subject=subject,
        title=f"Задача {index}",
        coworker_ids=[world.org.head.pk] if index % 2 == 0 else [],
        watcher_ids=[world.org.viewer.pk] if index % 3 == 0 else [],
    )


def _tasks(world: World, index: int) -> None:
    """The first build makes one task per kind of subject (each kind costs its own query)."""
    for each in range(4) if index == 0 else [index + 3]:
        _task(world, each)


def _user(world: World, index: int) -> None:
    user = UserFactory(username=f"user-{index}")
    add_member(Team.objects.get(name=("Москва", "Питер")[index % 2]), user)


def _absence(world: World, index: int) -> None:
    user = (world.org.manager, world.org.colleague, world.org.head)[index % 3]
    make_absence(user, starts_on=timezone.localdate() + dt.timedelta(days=index // 3), days=1)


def _reminder(world: World, index: int) -> None:
    """Reminder ``index`` of the task, as many as a task may have (``REMINDERS_MAX``)."""
    if index < REMINDERS_MAX:
        reminder_add(actor=world.org.manager, task_pk=world.task.pk, spec=index + 1)


@dataclass
class Case:
    path: str
    build: Callable[[World, int], object]
    queries: int
    user: str = "head"
    rows: int = 50


CASES = {
    "contacts": Case("/contacts", _contact, 7),
    "companies": Case("/companies", _company, 6),
    "company-people": Case("/companies/{company}/people", _contact, 13),
    "contact-timeline": Case(
        "/contacts/{contact}/timeline",
        lambda world, index: customer_timeline_add(
            actor=world.author(index), record=world.contact, kind="note", body=f"Заметка {index}"
        ),
        9,
    ),
    "company-timeline": Case(
        "/companies/{company}/timeline",
        lambda world, index: customer_timeline_add(
            actor=world.author(index), record=world.company, kind="call", title=f"Звонок {index}"
        ),
        10,
    ),
    "custom-fields": Case(
        "/custom-fields",
        lambda world, index: CustomField.objects.create(
            entity=("contact", "company")[index % 2],
            key=f"f{index}",
            label=f"Поле {index}",
            field_type="text",
        ),
        3,
    ),
    "users": Case("/users", _user, 3),
    "notifications": Case(
        "/notifications",
        lambda world, index: make_notification(world.org.head, title=f"Событие {index}"),
        2,
    ),
    "leads": Case("/leads", _lead, 3),
    "pipelines": Case("/pipelines", lambda world, index: make_pipeline(f"Воронка {index}"), 3),
    "stages": Case(
        "/pipelines/{pipeline}/stages",
        lambda world, index: world.pipeline.stages.create(
            name=f"Этап {index}", kind="open", position=10 + index
        ),
        3,
    ),
    "lost-reasons": Case(
        "/lost-reasons",
        lambda world, index: LostReason.objects.create(name=f"Причина {index}", position=index),
        2,
    ),
    "deals": Case("/deals", _deal, 5),
    "deal-history": Case("/deals/{deal}/history", _visit, 7),
    "deal-lines": Case(
        "/deals/{deal}/lines",
        lambda world, index: deal_line_add(
            actor=world.author(index), deal=world.deal, name=f"Работа {index}", price="100.00"
        ),
        5,
    ),
    "deal-payments": Case(
        "/deals/{deal}/payments",
        lambda world, index: payment_add(
            actor=world.author(index), deal=world.deal, kind="partial", amount="10.00"
        ),
        5,
    ),
    "products": Case(
        "/products",
        lambda world, index: make_product(name=f"Товар {index}", sku=f"SKU-{index}"),
        2,
    ),
    "tasks": Case("/tasks", _tasks, 9),
    "task-reminders": Case(
        "/tasks/{task}/reminders",
        _reminder,
        8,
        user="manager",
        rows=REMINDERS_MAX,
    ),
    "absences": Case("/absences", _absence, 2),
}


@pytest.mark.parametrize("name", CASES)
def test_list_costs_the_same_pinned_queries_for_one_row_and_for_fifty(
    org, world, name, django_assert_num_queries
):
    case = CASES[name]
    client = ApiClient(token_for(getattr(org, case.user)))
    path = case.path.format(
        company=world.company.pk,
        contact=world.contact.pk,
        deal=world.deal.pk,
        task=world.task.pk,
        pipeline=world.pipeline.pk,
    )
    response = one_then_fifty(
        lambda index: case.build(world, index),
        case.queries,
        lambda: client.get(path, limit=200),
        django_assert_num_queries,
    )
    body = response.json()
    assert len(body["items"] if isinstance(body, dict) else body) >= case.rows
