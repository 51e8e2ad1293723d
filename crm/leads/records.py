"""What leads declare in the registry (``crm.core.records``): the lead kind, the leads
panel on contact and company cards, the "new leads waiting" section of "My day", the
intake sweeps, the lead list's export and the leads table of the full export."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from crm.accounts.http import SignedInRequest
from crm.accounts.models import User
from crm.core.pagination import Page
from crm.core.permissions import ScopedUser
from crm.core.records import (
    BaseTable,
    CardPanel,
    DayItem,
    DaySection,
    Importer,
    OwnerMover,
    RecordKind,
    Sweep,
    Timeline,
)
from crm.customers.models import Company, Contact
from crm.leads.exports import LEAD_EXPORT
from crm.leads.models import Lead
from crm.leads.permissions import LEAD
from crm.leads.selectors import lead_timeline
from crm.leads.services.email_channel import mailbox_poll
from crm.leads.services.imports import lead_import_fields, leads_load, leads_undo
from crm.leads.services.intake import inbound_sweep
from crm.leads.services.leads import (
    lead_response_sweep,
    leads_hand_over,
    leads_open_of,
    leads_search_rebuild,
)
from crm.leads.services.telephony import call_event_sweep
from crm.leads.services.timeline import lead_timeline_add


def _timeline(record: Lead, user: ScopedUser, **page: Any) -> Page[Any]:
    return lead_timeline(lead=record, **page)


def leads_panel(request: SignedInRequest, record: Contact | Company) -> tuple[str, dict[str, Any]]:
    """Contact and company cards list the client's latest leads the viewer may see."""
    field = "company" if isinstance(record, Company) else "contact"
    leads = list(
        Lead.objects.visible_to(request.user).filter(**{field: record}).order_by("-created_at")[:10]
    )
    return "leads/partials_client_leads.html", {"leads": leads}


def leads_waiting(user: User) -> list[DayItem]:
    """The user's new leads nobody has answered yet, the most urgent first."""
    now = timezone.now()
    leads = (
        Lead.objects.filter(owner=user, status="new", responded_at__isnull=True)
        .order_by("respond_by", "id")
        .only("pk", "title", "channel", "respond_by")[:20]
    )
    return [
        DayItem(
            lead.title,
            reverse("leads:lead_detail", args=[lead.pk]),
            lead.get_channel_display(),
            bool(lead.respond_by and lead.respond_by < now),
        )
        for lead in leads
    ]


CONTRIBUTIONS = [
    RecordKind(
        key="lead",
        model=Lead,
        policy=LEAD,
        label=_("Lead"),
        plural_label=_("Leads"),
        url="leads:lead_detail",
        timeline=Timeline(_timeline, lead_timeline_add),
        shareable=True,
        has_tasks=True,
    ),
    OwnerMover(
        "lead",
        leads_open_of,
        leads_hand_over,
        clients=(("company", "company_id"), ("contact", "contact_id")),
        order=40,
    ),
    LEAD_EXPORT,
    BaseTable(
        "leads",
        Lead,
        order=80,
        exclude=("search_text", "thread_key"),
        many=("shared_with",),
        rebuild=leads_search_rebuild,
    ),
    CardPanel("contact", "leads", leads_panel),
    CardPanel("company", "leads", leads_panel),
    DaySection("leads", _("New leads waiting"), leads_waiting),
    Importer("lead", 40, lead_import_fields, leads_load, leads_undo),
    Sweep("leads.response_deadlines", 30, lead_response_sweep),
    Sweep("leads.inbound", 60, inbound_sweep),
    Sweep("leads.telephony", 60, call_event_sweep),
    # The mailbox is polled only when one is configured.
    *([Sweep("leads.mailbox", 60, mailbox_poll)] if settings.CRM_LEADS_IMAP_HOST else []),
]
