"""Reads of leads for pages and the API, scoped to what the viewer may see."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Q, QuerySet
from django.utils import timezone

from crm.accounts.models import User
from crm.activities.models import TimelineEntry
from crm.activities.selectors import timeline_for
from crm.core.dates import local_dates, query_date
from crm.core.names import split_full_name
from crm.core.pagination import Page, keyset_page
from crm.core.permissions import ScopedUser
from crm.core.text import fold
from crm.customers.choices import ContactPointKind
from crm.customers.services.duplicates import DuplicateCandidate, contact_duplicates_find
from crm.leads.choices import OPEN_STATUSES, Channel, LeadKind, LeadStatus
from crm.leads.models import Lead


def lead_points(lead: Lead) -> list[tuple[str, str]]:
    """The lead's normalised phones and e-mails as (kind, value): its checked phone, its
    e-mail and those found in its message's body (``Lead.body_points``)."""
    points = (
        [(ContactPointKind.PHONE, lead.phone)] if lead.phone and not lead.phone_unchecked else []
    )
    if lead.email:
        points.append((ContactPointKind.EMAIL, lead.email))
    points += [(kind, value) for kind, value in lead.body_points or []]
    return list(dict.fromkeys(points))


def lead_contact_candidates(*, actor: ScopedUser, lead: Lead) -> list[DuplicateCandidate]:
    """The contacts ``actor`` may see that the lead's person may already be: the duplicate
    check of a would-be contact with the lead's name (split by ``split_full_name``) and
    phones and e-mails, best first. Empty when the lead already has a contact or is
    converted. One query (``contact_duplicates_find``)."""
    if lead.contact_id or lead.status == LeadStatus.CONVERTED:
        return []
    person = split_full_name(lead.name)
    points = lead_points(lead)
    if not (person.last_name or person.first_name or points):
        return []
    found = contact_duplicates_find(
        actor=actor,
        last_name=person.last_name,
        first_name=person.first_name,
        middle_name=person.middle_name,
        points=points,
    )
    return [candidate for candidate in found if candidate.is_visible]


def lead_timeline(
    *, lead: Lead, cursor: str | None = None, limit: int = 25, kinds: list[str] | None = None
) -> Page[TimelineEntry]:
    entries = timeline_for(subjects=[(Lead, [lead.pk])], kinds=kinds)
    return keyset_page(entries, order=["-occurred_at", "-id"], cursor=cursor, limit=limit)


@dataclass
class LeadFilters:
    """Filters of the lead list and API, parsed leniently (bad values are ignored)."""

    q: str = ""
    status: str = ""
    kind: str = ""
    channel: str = ""
    owner: int | None = None
    overdue: bool = False
    unassigned: bool = False
    age_days: int | None = None
    waiting: bool = False
    created_from: dt.date | None = None
    created_to: dt.date | None = None
    zone: dt.tzinfo | None = field(default=None, compare=False)

    @classmethod
    def from_params(
        cls, params: Any, *, zone: Callable[[], dt.tzinfo] | None = None
    ) -> LeadFilters:
        """The filters of ``params``; ``created_from``/``created_to`` are days of the zone
        ``zone()`` answers (the viewer's, so a report's period links to exactly its leads),
        asked only when one of them is given."""

        def number(value: Any) -> int | None:
            try:
                return int(value)
            except (TypeError, ValueError):
                return None

        status = params.get("status") or ""
        created_from = query_date(params.get("created_from"))
        created_to = query_date(params.get("created_to"))
        kind = params.get("kind") or ""
        channel = params.get("channel") or ""
        return cls(
            q=(params.get("q") or "").strip()[:100],
            status=status if status in LeadStatus.values or status == "open" else "",
            kind=kind if kind in LeadKind.values else "",
            channel=channel if channel in Channel.values else "",
            owner=number(params.get("owner")),
            overdue=str(params.get("overdue") or "") in ("1", "true", "on", "True"),
            unassigned=str(params.get("unassigned") or "") in ("1", "true", "on", "True"),
            age_days=number(params.get("age_days")),
            waiting=str(params.get("waiting") or "") in ("1", "true", "on", "True"),
            created_from=created_from,
            created_to=created_to,
            zone=zone() if zone is not None and (created_from or created_to) else None,
        )

    def apply(self, qs: QuerySet[Lead]) -> QuerySet[Lead]:
        if self.q:
            folded = fold(self.q)
            qs = qs.filter(
                Q(search_text__contains=folded)
                | Q(phone__endswith=self.q.lstrip("+"))
                | Q(email=self.q.lower())
            )
        if self.status == "open":
            qs = qs.filter(status__in=OPEN_STATUSES)
        elif self.status:
            qs = qs.filter(status=self.status)
        if self.kind:
            qs = qs.filter(kind=self.kind)
        if self.channel:
            qs = qs.filter(channel=self.channel)
        if self.owner:
            qs = qs.filter(owner_id=self.owner)
        if self.unassigned:
            qs = qs.filter(owner__isnull=True)
        if self.overdue:
            qs = qs.filter(
                responded_at__isnull=True, respond_by__lt=timezone.now(), status=LeadStatus.NEW
            )
        if self.age_days is not None and 0 <= self.age_days <= 3650:
            qs = qs.filter(created_at__gte=timezone.now() - dt.timedelta(days=self.age_days))
        if self.waiting:  # waiting for a first answer, as the dashboard counts them
            qs = qs.filter(status__in=OPEN_STATUSES, responded_at__isnull=True)
        if self.created_from or self.created_to:
            qs = qs.filter(local_dates("created_at", self.created_from, self.created_to, self.zone))
        return qs

    @property
    def active(self) -> bool:
        return any(
            value not in (None, "", False) for name, value in vars(self).items() if name != "zone"
        )


def lead_queryset(*, user: ScopedUser, filters: LeadFilters) -> QuerySet[Lead]:
    """The leads ``user`` may see under the list's ``filters`` (no order, no joins): the
    list page, its export and the API read the same rows."""
    return filters.apply(Lead.objects.visible_to(user))


def lead_page(
    *, user: User, filters: LeadFilters, cursor: str | None = None, limit: int = 50
) -> Page[Lead]:
    qs = lead_queryset(user=user, filters=filters).select_related(
        "owner", "pipeline", "contact", "company"
    )
    return keyset_page(qs, order=["-created_at", "-id"], cursor=cursor, limit=limit)
