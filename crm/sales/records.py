"""What sales declares in the registry (``crm.core.records``): the deal kind, the deals
panel on contact and company cards, deals following their client when two merge, the
stale-deals sweep, the deal list's export and the sales tables of the full export."""

from __future__ import annotations

from typing import Any

from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from crm.accounts.http import SignedInRequest
from crm.core.pagination import Page
from crm.core.permissions import ScopedUser, can_write
from crm.core.records import (
    BaseTable,
    CardPanel,
    Importer,
    ImportFlag,
    ImportValueMap,
    MergeMover,
    OwnerMover,
    RecordKind,
    Sweep,
    Timeline,
)
from crm.customers.models import Company, Contact
from crm.sales.choices import DealStatus
from crm.sales.exports import DEAL_EXPORT
from crm.sales.models import Deal, DealLine, LostReason, Pipeline, Product, Stage
from crm.sales.permissions import DEAL
from crm.sales.selectors import deal_timeline, deals_of_client
from crm.sales.services.automation import stale_deals_sweep
from crm.sales.services.deals import deals_hand_over
from crm.sales.services.imports import deal_import_fields, deals_load, deals_undo
from crm.sales.services.imports_activity import (
    note_import_fields,
    notes_load,
    notes_undo,
    task_import_fields,
    tasks_load,
    tasks_undo,
)
from crm.sales.services.imports_stages import (
    CREATE_CLIENTS,
    STAGE_MAPPING,
    stage_choices,
    stage_guess,
)
from crm.sales.services.timeline import deal_timeline_add


def _timeline(record: Deal, user: ScopedUser, **page: Any) -> Page[Any]:
    return deal_timeline(deal=record, **page)


def deals_panel(request: SignedInRequest, record: Contact | Company) -> tuple[str, dict[str, Any]]:
    """Contact and company cards list the client's deals with a "new deal" button."""
    is_company = isinstance(record, Company)
    deals = deals_of_client(
        user=request.user,
        contact_id=None if is_company else record.pk,
        company_id=record.pk if is_company else None,
    )
    return "sales/partials/client_deals.html", {
        "deals": deals,
        "can_create": can_write(request.user),
        "client_param": "company_id" if is_company else "contact_id",
        "client_id": record.pk,
    }


def _client_field(model: type[Contact | Company]) -> str:
    return "contact_id" if model is Contact else "company_id"


def deals_move(model: type[Contact | Company], from_id: int, to_id: int) -> list[int]:
    """Re-point the deals of a merged client to the survivor; answers their ids."""
    field = _client_field(model)
    ids = list(Deal.objects.filter(**{field: from_id}).values_list("id", flat=True))
    Deal.objects.filter(id__in=ids).update(**{field: to_id})
    return ids


def deals_move_back(model: type[Contact | Company], ids: list[int], to_id: int) -> None:
    """Undo ``deals_move`` for exactly the deals it moved."""
    Deal.objects.filter(id__in=ids).update(**{_client_field(model): to_id})


CONTRIBUTIONS = [
    RecordKind(
        key="deal",
        model=Deal,
        policy=DEAL,
        label=_("Deal"),
        plural_label=_("Deals"),
        url="sales:deal_detail",
        timeline=Timeline(_timeline, deal_timeline_add),
        shareable=True,
        has_tasks=True,
    ),
    *(
        contribution
        for client in ("contact", "company")
        for contribution in (
            CardPanel(client, "deals", deals_panel),
            MergeMover(client, "deals", deals_move, deals_move_back),
        )
    ),
    Sweep("sales.stale_deals", 600, stale_deals_sweep),
    # A leaving manager's deals: open ones always, closed ones on request; a client's deals
    # go with the receiver of that client.
    OwnerMover(
        "deal",
        lambda user_id: Deal.objects.filter(owner_id=user_id),
        deals_hand_over,
        closed=~Q(status=DealStatus.OPEN),
        clients=(("company", "company_id"), ("contact", "contact_id")),
        order=30,
    ),
    DEAL_EXPORT,
    BaseTable("pipelines", Pipeline, order=60),
    BaseTable("stages", Stage, order=61),
    BaseTable("lost_reasons", LostReason, order=62),
    BaseTable("products", Product, order=63),
    BaseTable("deals", Deal, order=70, many=("tags", "shared_with")),
    BaseTable("deal_lines", DealLine, order=75),
    Importer(
        "deal",
        30,
        deal_import_fields,
        deals_load,
        deals_undo,
        external_ids=True,
        value_maps=(
            ImportValueMap(
                STAGE_MAPPING, _("Stages"), ("pipeline", "stage"), stage_choices, stage_guess
            ),
        ),
        flags=(
            ImportFlag(
                CREATE_CLIENTS,
                _("Create the clients the base does not have"),
                _(
                    "A company or contact a row names that is not in the base is created, as "
                    "an import of contacts would; undoing the import removes it."
                ),
            ),
        ),
    ),
    # Tasks and timeline notes name contacts, companies and deals: sales knows them all.
    Importer("task", 50, task_import_fields, tasks_load, tasks_undo),
    Importer("note", 60, note_import_fields, notes_load, notes_undo, label=_("Timeline notes")),
]
