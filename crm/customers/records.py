"""What the customer base declares in the registry (``crm.core.records``): the contact and
company kinds, what moves with them when two merge (their timeline and their tasks), how
their lists are exported and the customer tables of the full export."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from crm.activities.services import timeline_move, timeline_move_back
from crm.core.models import owner_hand_over
from crm.core.pagination import Page
from crm.core.permissions import ScopedUser
from crm.core.records import (
    BaseTable,
    Importer,
    ImportFlag,
    MergeMover,
    OwnerMover,
    RecordKind,
    Search,
    Sweep,
    Timeline,
)
from crm.customers import selectors
from crm.customers.exports import COMPANY_EXPORT, CONTACT_EXPORT
from crm.customers.models import (
    Address,
    Company,
    Contact,
    ContactPoint,
    CustomField,
    Employment,
    Tag,
)
from crm.customers.permissions import CUSTOMER
from crm.customers.services import customer_timeline_add, duplicates_scan_changes
from crm.customers.services import imports as customer_imports
from crm.customers.services.derived import (
    contact_points_derived_rebuild,
    customers_derived_rebuild,
)
from crm.customers.services.scan import duplicates_scan_soon
from crm.planner.services import task_move, task_move_back

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise


def _contact_timeline(record: Contact, user: ScopedUser, **page: Any) -> Page[Any]:
    return selectors.contact_timeline(contact=record, **page)


def _company_timeline(record: Company, user: ScopedUser, **page: Any) -> Page[Any]:
    return selectors.company_timeline(company=record, user=user, **page)


def _timeline_move(model: type[Contact | Company], from_id: int, to_id: int) -> list[int]:
    return timeline_move(model=model, from_id=from_id, to_id=to_id)


def _timeline_move_back(model: type[Contact | Company], ids: list[int], to_id: int) -> None:
    timeline_move_back(entry_ids=ids, to_id=to_id)


def _tasks_move(model: type[Contact | Company], from_id: int, to_id: int) -> list[int]:
    return task_move(model=model, from_id=from_id, to_id=to_id)


def _tasks_move_back(model: type[Contact | Company], ids: list[int], to_id: int) -> None:
    task_move_back(ids=ids, to_id=to_id)


def _customer_kind(
    model: type[Contact | Company],
    labels: tuple[StrOrPromise, StrOrPromise],
    read: Callable[..., Page[Any]],
    section: str,
) -> RecordKind:
    """Contacts and companies: the customer policy, live rows only, a timeline, shareable,
    tasks may belong to them."""
    key = model._meta.model_name or ""
    return RecordKind(
        key=key,
        model=model,
        policy=CUSTOMER,
        label=labels[0],
        plural_label=labels[1],
        url=f"customers:{key}_detail",
        rows=model.objects.live,
        timeline=Timeline(read, customer_timeline_add),
        shareable=True,
        has_tasks=True,
        search=Search(
            section,
            lambda user, q, limit: selectors.customer_find(
                model=model, user=user, q=q, limit=limit
            ),
            f"customers/partials/search_{key}_section.html",
            f"customers/partials/search_{key}_suggest.html",
        ),
    )


def _companies_owned(user_id: int) -> QuerySet[Company]:
    """A user's live companies (merged rows stay where they are)."""
    return Company.objects.live().filter(owner_id=user_id)


def _contacts_owned(user_id: int) -> QuerySet[Contact]:
    """A user's live contacts (merged rows stay where they are)."""
    return Contact.objects.live().filter(owner_id=user_id)


def _hand_over(model: type[Contact | Company]) -> Callable[[list[int], int, int], int]:
    return lambda ids, from_id, to_id: owner_hand_over(model, ids, from_id, to_id)


_EXACT_ONLY = ImportFlag(
    customer_imports.EXACT_ONLY,
    _("Match by phone, e-mail and ИНН only (fast, for large files)"),
    _(
        "Names are not looked up row by row: the duplicate scan that runs when the import "
        "ends compares them, and its likely and possible pairs are on the Duplicates page."
    ),
)
"""An option of the clients' imports: on a large base the name lookup is most of the time."""

CONTRIBUTIONS = [
    _customer_kind(Contact, (_("Contact"), _("Contacts")), _contact_timeline, "contacts"),
    _customer_kind(Company, (_("Company"), _("Companies")), _company_timeline, "companies"),
    *(
        mover
        for kind in ("contact", "company")
        for mover in (
            MergeMover(kind, "timeline", _timeline_move, _timeline_move_back),
            MergeMover(kind, "tasks", _tasks_move, _tasks_move_back),
        )
    ),
    # A handover moves companies first; a contact goes with its company's receiver.
    OwnerMover(
        "company",
        _companies_owned,
        _hand_over(Company),
        clients=(("company", "id"),),
        order=10,
    ),
    OwnerMover(
        "contact",
        _contacts_owned,
        _hand_over(Contact),
        # a contact goes with a company it works at (the smallest company id when several)
        clients=(("company", "employments__company_id"), ("contact", "id")),
        order=20,
    ),
    CONTACT_EXPORT,
    COMPANY_EXPORT,
    BaseTable("tags", Tag, order=20),
    BaseTable("custom_fields", CustomField, order=20),
    # ``search_text`` and ``name_words`` are derived from the names: an import rebuilds them.
    BaseTable(
        "companies",
        Company,
        order=30,
        exclude=("search_text", "name_words"),
        many=("tags", "shared_with"),
    ),
    # The contacts' rebuild writes both kinds' texts and keys, after the contact points.
    BaseTable(
        "contacts",
        Contact,
        order=40,
        exclude=("search_text", "name_words"),
        many=("tags", "shared_with"),
        rebuild=customers_derived_rebuild,
    ),
    BaseTable("employments", Employment, order=50),
    BaseTable(
        "contact_points",
        ContactPoint,
        order=50,
        exclude=("digits_reversed",),
        rebuild=contact_points_derived_rebuild,
    ),
    BaseTable("addresses", Address, order=50),
    # Files of clients: companies first, so a contacts file may name them.
    Importer(
        "company",
        10,
        customer_imports.company_import_fields,
        customer_imports.companies_load,
        customer_imports.companies_undo,
        external_ids=True,
        flags=(_EXACT_ONLY,),
        finished=lambda options: duplicates_scan_soon(entity="company"),
    ),
    Importer(
        "contact",
        20,
        customer_imports.contact_import_fields,
        customer_imports.contacts_load,
        customer_imports.contacts_undo,
        external_ids=True,
        flags=(_EXACT_ONLY,),
        finished=lambda options: duplicates_scan_soon(entity="contact"),
    ),
    # The duplicates page keeps up with new and edited contacts without a cron line.
    *(
        [
            Sweep(
                "customers.duplicates_scan",
                settings.CRM_DUPLICATES_SCAN_EVERY,
                duplicates_scan_changes,
            )
        ]
        if settings.CRM_DUPLICATES_SCAN_EVERY > 0
        else []
    ),
]
