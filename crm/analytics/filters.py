"""The filters every report shares (pipeline, team, manager, lead source, client type, and
the product for the reports of deals), parsed strictly: an unknown value or a manager the viewer may not see is refused with a
message naming the parameter, never ignored (a report must not silently answer another
question than the one asked)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from django.db.models import Model, QuerySet
from django.db.models.functions import Coalesce
from django.utils.translation import gettext as _

from crm.accounts.models import Team, User
from crm.core.errors import ValidationFailed
from crm.core.permissions import Role, sees_everything
from crm.customers.choices import ClientType
from crm.leads.choices import Channel
from crm.sales.models import Deal, DealLine, Pipeline, Product, StageVisit

QuerySetT = TypeVar("QuerySetT", bound=QuerySet[Model])

FILTER_NAMES = ("pipeline", "team", "manager", "source", "client_type", "product")


@dataclass(frozen=True)
class ReportFilters:
    """What a report is limited to; ``None``/``""`` means no limit."""

    pipeline: Pipeline | None = None
    team: Team | None = None
    manager: User | None = None
    source: str = ""
    client_type: str = ""
    product: Product | None = None

    def owner_ids(self, viewer: User) -> set[int] | None:
        """The owners the report counts (``None``: whatever the viewer's scope holds)."""
        if self.manager is not None:
            return {self.manager.pk}
        if self.team is not None:
            return set(self.team.members.values_list("pk", flat=True))
        return None

    def deals(self, viewer: User, deals: QuerySet[Deal]) -> QuerySet[Deal]:
        """``deals`` (already scoped to the viewer) limited by these filters."""
        return self._limited(viewer, deals, deal="", pipeline="pipeline")

    def visits(self, viewer: User, visits: QuerySet[StageVisit]) -> QuerySet[StageVisit]:
        """``visits`` (already scoped to the viewer) limited to the deals these filters
        leave: the manager or team by the visit's copy of the owner and the pipeline by its
        stage's (a deal never leaves its pipeline), so only the source, client type and
        product filters join the deals."""
        return self._limited(viewer, visits, deal="deal__", pipeline="stage__pipeline")

    def _limited(self, viewer: User, rows: QuerySetT, *, deal: str, pipeline: str) -> QuerySetT:
        """``rows`` (deals, or rows reaching their deal by ``deal``, each with the owner)
        limited by these filters."""
        owners = self.owner_ids(viewer)
        if owners is not None:
            rows = rows.filter(owner_id__in=sorted(owners))
        if self.pipeline is not None:
            rows = rows.filter(**{pipeline: self.pipeline})
        if self.source:
            rows = rows.filter(**{f"{deal}source": self.source})
        if self.client_type:
            rows = rows.annotate(
                client_kind=Coalesce(f"{deal}company__kind", f"{deal}contact__client_type")
            ).filter(client_kind=self.client_type)
        if self.product is not None:
            with_product = DealLine.objects.filter(product=self.product).values("deal_id")
            rows = rows.filter(**{f"{deal}pk__in": with_product})
        return rows

    def query(self) -> dict[str, str]:
        """The filters as query parameters (for links and exports)."""
        values = {
            "pipeline": self.pipeline.pk if self.pipeline else "",
            "team": self.team.pk if self.team else "",
            "manager": self.manager.pk if self.manager else "",
            "source": self.source,
            "client_type": self.client_type,
            "product": self.product.pk if self.product else "",
        }
        return {key: str(value) for key, value in values.items() if value}


def teams_for(viewer: User) -> QuerySet[Team]:
    """Teams a viewer may report on: all for an administrator, led ones for a head of
    sales, their own for anyone else."""
    if sees_everything(viewer):
        return Team.objects.all()
    if viewer.role == Role.HEAD:
        return Team.objects.filter(heads=viewer)
    return Team.objects.filter(members=viewer)


def managers_for(viewer: User) -> QuerySet[User]:
    """Users whose figures a viewer may see: everyone for an administrator, otherwise the
    owners of the viewer's scope."""
    users = User.objects.all()
    if not sees_everything(viewer):
        users = users.filter(pk__in=sorted(viewer.scope_owner_ids))
    return users.order_by("last_name", "first_name", "username")


def _number(params: Mapping[str, Any], name: str, errors: dict[str, list[str]]) -> int | None:
    raw = str(params.get(name) or "").strip()
    if not raw:
        return None
    if not raw.isdigit() or len(raw) > 18:
        errors[name] = [_("Must be a whole number.")]
        return None
    return int(raw)


def filters_parse(
    params: Mapping[str, Any], *, viewer: User, product: bool = False
) -> ReportFilters:
    """The report filters in ``params``, checked against what ``viewer`` may see.

    Raises ``ValidationFailed`` with a message per refused parameter: a pipeline that does
    not exist, a team the viewer may not report on, a manager outside their scope (the same
    answer as one that does not exist), an unknown source, client type or product, and a
    product given to a report that does not count deals by their lines (``product=False``).
    """
    errors: dict[str, list[str]] = {}
    pipeline = team = manager = chosen = None
    if (pipeline_id := _number(params, "pipeline", errors)) is not None:
        pipeline = Pipeline.objects.filter(pk=pipeline_id).first()
        if pipeline is None:
            errors["pipeline"] = [_("No such pipeline.")]
    if (team_id := _number(params, "team", errors)) is not None:
        team = teams_for(viewer).filter(pk=team_id).first()
        if team is None:
            errors["team"] = [_("No such team among yours.")]
    if (manager_id := _number(params, "manager", errors)) is not None:
        manager = managers_for(viewer).filter(pk=manager_id).first()
        if manager is None:
            errors["manager"] = [_("No such manager among those you may see.")]
    source = str(params.get("source") or "").strip()
    if source and source not in Channel.values:
        errors["source"] = [_("Unknown source.")]
    client_type = str(params.get("client_type") or "").strip()
    if client_type and client_type not in ClientType.values:
        errors["client_type"] = [_("Unknown client type.")]
    if not product and str(params.get("product") or "").strip():
        errors["product"] = [_("This report has no product filter.")]
    elif (product_id := _number(params, "product", errors)) is not None:
        chosen = Product.objects.filter(pk=product_id).first()
        if chosen is None:
            errors["product"] = [_("No such product.")]
    if errors:
        raise ValidationFailed(field_errors=errors)
    return ReportFilters(pipeline, team, manager, source, client_type, chosen)
