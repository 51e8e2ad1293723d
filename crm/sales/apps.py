from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SalesConfig(AppConfig):
    name = "crm.sales"
    label = "sales"
    verbose_name = _("Sales")

    def ready(self) -> None:
        from django.urls import reverse

        from crm.core import periodic
        from crm.planner.subjects import SubjectKind, register
        from crm.sales import movers
        from crm.sales.models import Deal
        from crm.sales.selectors import deal_timeline
        from crm.sales.services.automation import stale_deals_sweep

        movers.register()
        register(
            SubjectKind(
                Deal,
                Deal.objects.visible_to,
                lambda deal: reverse("sales:deal_detail", args=[deal.pk]),
                shareable=True,
                history=lambda deal, user, limit: deal_timeline(deal=deal, limit=limit).items,
            )
        )
        periodic.register("sales.stale_deals", 600, stale_deals_sweep)
        _register_timeline()
        _register_card_panel()


def _register_card_panel() -> None:
    """Contact and company cards list the client's deals with a "new deal" button."""
    from typing import Any

    from crm.accounts.http import SignedInRequest
    from crm.core.permissions import can_write
    from crm.customers.models import Company
    from crm.customers.views.customer_pages import CARD_PANELS
    from crm.sales.selectors import deals_of_client

    def deals_panel(request: SignedInRequest, record: Any) -> tuple[str, dict[str, Any]]:
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

    if deals_panel.__name__ not in {panel.__name__ for panel in CARD_PANELS}:
        CARD_PANELS.append(deals_panel)


def _register_timeline() -> None:
    """The deal card reuses the customer timeline's views and templates."""
    from typing import Any

    from django.http import Http404

    from crm.core.errors import NotFound
    from crm.customers.views.timeline import ENTITIES, TimelineOwner
    from crm.sales.selectors import deal_timeline
    from crm.sales.services.deals import deal_get
    from crm.sales.services.timeline import deal_timeline_add

    def get(*, user: Any, pk: int) -> Any:
        try:
            return deal_get(actor=user, pk=pk)
        except NotFound:
            raise Http404 from None

    def timeline(record: Any, user: Any, **kwargs: Any) -> Any:
        return deal_timeline(deal=record, **kwargs)

    ENTITIES["deal"] = TimelineOwner(get, timeline, "sales:deal_detail", deal_timeline_add)
