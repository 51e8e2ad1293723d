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
        from crm.sales.services.automation import stale_deals_sweep

        movers.register()
        register(
            SubjectKind(
                Deal,
                Deal.objects.visible_to,
                lambda deal: reverse("sales:deal_detail", args=[deal.pk]),
            )
        )
        periodic.register("sales.stale_deals", 600, stale_deals_sweep)
        _register_timeline()


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
