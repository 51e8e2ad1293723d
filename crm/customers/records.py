"""What the customer base declares in the registry (``crm.core.records``): the contact and
company kinds, and what moves with them when two merge (their timeline and their tasks)."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _

from crm.activities.services import timeline_move, timeline_move_back
from crm.core.pagination import Page
from crm.core.records import MergeMover, RecordKind, Timeline
from crm.customers import selectors
from crm.customers.models import Company, Contact
from crm.customers.permissions import CUSTOMER
from crm.customers.services import customer_timeline_add
from crm.planner.services import task_move, task_move_back


def _contact_timeline(record: Contact, user: Any, **page: Any) -> Page[Any]:
    return selectors.contact_timeline(contact=record, **page)


def _company_timeline(record: Company, user: Any, **page: Any) -> Page[Any]:
    return selectors.company_timeline(company=record, user=user, **page)


def _contact_history(record: Contact, user: Any, limit: int) -> list[Any]:
    return selectors.contact_timeline(contact=record, limit=limit).items


def _company_history(record: Company, user: Any, limit: int) -> list[Any]:
    return selectors.company_timeline(company=record, user=user, limit=limit).items


def _timeline_move(model: type[Contact | Company], from_id: int, to_id: int) -> list[int]:
    return timeline_move(model=model, from_id=from_id, to_id=to_id)


def _timeline_move_back(model: type[Contact | Company], ids: list[int], to_id: int) -> None:
    timeline_move_back(entry_ids=ids, to_id=to_id)


def _tasks_move(model: type[Contact | Company], from_id: int, to_id: int) -> list[int]:
    return task_move(model=model, from_id=from_id, to_id=to_id)


def _tasks_move_back(model: type[Contact | Company], ids: list[int], to_id: int) -> None:
    task_move_back(ids=ids, to_id=to_id)


CONTRIBUTIONS = [
    RecordKind(
        key="contact",
        model=Contact,
        policy=CUSTOMER,
        label=_("Contact"),
        plural_label=_("Contacts"),
        url="customers:contact_detail",
        rows=Contact.objects.live,
        timeline=Timeline(_contact_timeline, customer_timeline_add, selectors.contact_get),
        shareable=True,
        has_tasks=True,
        history=_contact_history,
    ),
    RecordKind(
        key="company",
        model=Company,
        policy=CUSTOMER,
        label=_("Company"),
        plural_label=_("Companies"),
        url="customers:company_detail",
        rows=Company.objects.live,
        timeline=Timeline(_company_timeline, customer_timeline_add, selectors.company_get),
        shareable=True,
        has_tasks=True,
        history=_company_history,
    ),
    *(
        mover
        for kind in ("contact", "company")
        for mover in (
            MergeMover(kind, "timeline", _timeline_move, _timeline_move_back),
            MergeMover(kind, "tasks", _tasks_move, _tasks_move_back),
        )
    ),
]
