from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class LeadsConfig(AppConfig):
    name = "crm.leads"
    label = "leads"
    verbose_name = _("Leads")

    def ready(self) -> None:
        from typing import Any

        from django.http import Http404
        from django.urls import reverse

        from crm.core import periodic
        from crm.core.errors import NotFound
        from crm.customers.views.timeline import ENTITIES, TimelineOwner
        from crm.leads.models import Lead
        from crm.leads.selectors import lead_timeline
        from crm.leads.services import email_channel, telephony, webforms  # noqa: F401 (parsers, sweeps)
        from crm.leads.services.intake import inbound_sweep
        from crm.leads.services.leads import lead_get, lead_response_sweep
        from crm.leads.services.timeline import lead_timeline_add
        from crm.planner.subjects import SubjectKind, register

        register(
            SubjectKind(
                Lead,
                Lead.objects.visible_to,
                lambda lead: reverse("leads:lead_detail", args=[lead.pk]),
                shareable=True,
                history=lambda lead, user, limit: lead_timeline(lead=lead, limit=limit).items,
            )
        )
        periodic.register("leads.response_deadlines", 30, lead_response_sweep)
        periodic.register("leads.inbound", 60, inbound_sweep)

        def get(*, user: Any, pk: int) -> Any:
            try:
                return lead_get(actor=user, pk=pk)
            except NotFound:
                raise Http404 from None

        def timeline(record: Any, user: Any, **kwargs: Any) -> Any:
            return lead_timeline(lead=record, **kwargs)

        ENTITIES["lead"] = TimelineOwner(get, timeline, "leads:lead_detail", lead_timeline_add)

        from crm.customers.models import Company
        from crm.customers.views.customer_pages import CARD_PANELS

        def leads_panel(request: Any, record: Any) -> tuple[str, dict[str, Any]]:
            field = "company" if isinstance(record, Company) else "contact"
            leads = list(
                Lead.objects.visible_to(request.user)
                .filter(**{field: record})
                .order_by("-created_at")[:10]
            )
            return "leads/partials_client_leads.html", {"leads": leads}

        if "leads_panel" not in {panel.__name__ for panel in CARD_PANELS}:
            CARD_PANELS.append(leads_panel)

        from django.utils import timezone
        from django.utils.translation import gettext_lazy

        from crm.planner.myday import DayItem, DaySection
        from crm.planner.myday import register as register_day_section

        def waiting(user: Any) -> list[DayItem]:
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

        register_day_section(DaySection("leads", gettext_lazy("New leads waiting"), waiting))
