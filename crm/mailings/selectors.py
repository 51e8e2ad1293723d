"""Reads of segments and of their recipients, always within the viewer's scope, and of
mailings (the list, one mailing, its report and the recipients behind each figure).

A segment's contacts are the contacts the viewer may see (the customer policy) that pass
its filters; a *recipient* is one of them with an e-mail a mailing may go to
(``deliverable_emails``: not unsubscribed).
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

from django.db import connections
from django.db.models import Count, Exists, F, OuterRef, Prefetch, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.accounts.models import TeamMembership
from crm.core.errors import NotFound
from crm.core.pagination import Page, keyset_page
from crm.core.permissions import SYSTEM, ScopedUser
from crm.customers.choices import ContactPointKind, FieldEntity
from crm.customers.kinds import COMPANY, CONTACT
from crm.customers.models import Company, Contact, ContactPoint, CustomField, Employment, Tag
from crm.customers.selectors import CustomerFilters, customer_queryset
from crm.mailings.choices import RecipientState, ReportFigure
from crm.mailings.models import Mailing, MailingRecipient, Segment
from crm.mailings.permissions import MAILING, SEGMENT
from crm.mailings.spec import SegmentSpec
from crm.sales.choices import DealStatus
from crm.sales.models import DealLine

RECIPIENT_ORDER = ("-created_at", "-id")


@dataclass(frozen=True)
class SegmentCount:
    """How many contacts of a segment the viewer sees, and how many of them a mailing
    would reach (an e-mail neither unsubscribed nor undeliverable)."""

    total: int
    recipients: int


def deliverable_emails() -> QuerySet[ContactPoint]:
    """The contacts' e-mail addresses a mailing may go to: not unsubscribed, and not
    undeliverable (a delivery report said so, ``crm.correspondence``)."""
    return ContactPoint.objects.filter(
        kind=ContactPointKind.EMAIL,
        contact__isnull=False,
        unsubscribed_at__isnull=True,
        undeliverable_at__isnull=True,
    )


def _tag_condition(model: type[Contact] | type[Company], names: tuple[str, ...]) -> Q:
    """Rows carrying any of the tags ``names`` (tag names compare regardless of case)."""
    any_name = Q()
    for name in names:
        any_name |= Q(name__iexact=name)
    through: Any = model.tags.through
    column = "contact_id" if model is Contact else "company_id"
    return Q(pk__in=through.objects.filter(tag__in=Tag.objects.filter(any_name)).values(column))


def _custom_condition(entity: str, custom: dict[str, Any]) -> Q:
    """Rows whose custom field values equal the spec's (a multiple choice: holds the
    option). A key the entity has no field for matches no row."""
    if not custom:
        return Q()
    types = dict(
        CustomField.objects.filter(entity=entity, key__in=list(custom)).values_list(
            "key", "field_type"
        )
    )
    condition = Q()
    for key, value in custom.items():
        if key not in types:
            return Q(pk__in=[])
        if types[key] == "multi_choice":
            # The stored list as JSON text holds the option as a JSON string: the same test
            # on both databases (SQLite may keep non-ASCII letters escaped, PostgreSQL not).
            condition &= Q(**{f"custom__{key}__icontains": _json_text(value, ascii=True)}) | Q(
                **{f"custom__{key}__icontains": _json_text(value, ascii=False)}
            )
        else:
            condition &= Q(**{f"custom__{key}": value})
    return condition


def _json_text(value: Any, *, ascii: bool) -> str:
    return json.dumps(value, ensure_ascii=ascii)


def _record_conditions(spec: SegmentSpec, entity: str, *, now: dt.datetime) -> Q:
    """The filters of ``spec`` beyond the list's, for contacts or for companies."""
    model: type[Contact] | type[Company] = Contact if entity == FieldEntity.CONTACT else Company
    condition = Q()
    if spec.team:
        condition &= Q(
            owner_id__in=TeamMembership.objects.filter(team_id=spec.team).values("user_id")
        )
    if spec.tags:
        condition &= _tag_condition(model, spec.tags)
    if spec.custom:
        condition &= _custom_condition(entity, spec.custom)
    if spec.product:
        condition &= Q(
            pk__in=DealLine.objects.filter(
                product_id=spec.product,
                deal__status=DealStatus.WON,
                **{f"deal__{entity}__isnull": False},
            ).values(f"deal__{entity}_id")
        )
    if spec.no_touch_days:
        condition &= Q(last_touch_at__lt=now - dt.timedelta(days=spec.no_touch_days))
    return condition


def _contact_conditions(spec: SegmentSpec) -> Q:
    """The filters that are always the contact's own: e-mail, phone, consent."""
    condition = Q()
    for flag, kind in (
        (spec.has_email, ContactPointKind.EMAIL),
        (spec.has_phone, ContactPointKind.PHONE),
    ):
        if flag is not None:
            exists = Exists(ContactPoint.objects.filter(contact_id=OuterRef("pk"), kind=kind))
            condition &= Q(exists) if flag else ~Q(exists)
    if spec.consent is not None:
        condition &= Q(consent_at__isnull=not spec.consent)
    return condition


def _scoped(kind: Any, user: ScopedUser, filters: CustomerFilters) -> QuerySet[Any]:
    """The list's own filters (``customer_queryset``) within the viewer's scope written as
    values (``visible_to_resolved``: ``owner IN (…) OR id IN (<shared ids>)``), which an
    index on the owner serves; under ``visible_to``'s subquery PostgreSQL scans the whole
    table for a manager."""
    filtered: QuerySet[Any] = customer_queryset(kind=kind, user=SYSTEM, filters=filters)
    scope: QuerySet[Any] = kind.model.objects.visible_to_resolved(user)
    return filtered & scope


def segment_contacts(*, user: ScopedUser, spec: SegmentSpec) -> QuerySet[Contact]:
    """The contacts ``user`` may see that pass ``spec`` (no ordering).

    The list filters go through the contact list's own code (``customer_queryset``); with
    ``with_companies`` a contact also belongs when a company it works at, which ``user``
    may see, passes the company filters.
    """
    now = timezone.now()
    contacts = _scoped(CONTACT, user, spec.list_filters()).filter(
        _record_conditions(spec, FieldEntity.CONTACT, now=now)
    )
    if spec.with_companies:
        company_filters = CustomerFilters(
            q=spec.q,
            owner_id=spec.owner,
            client_type=spec.client_type,
            tag=spec.tag,
            source=spec.source,
        )
        companies = _scoped(COMPANY, user, company_filters).filter(
            _record_conditions(spec, FieldEntity.COMPANY, now=now)
        )
        if spec.company:
            companies = companies.filter(pk=spec.company)
        working_there = Employment.objects.filter(company__in=companies.values("pk"))
        # A UNION of the two id sets: an OR of two INs is a seq scan with two hashed
        # subplans on PostgreSQL.
        either = (
            contacts.order_by().values("pk").union(working_there.order_by().values("contact_id"))
        )
        contacts = Contact.objects.visible_to_resolved(user).filter(pk__in=either)
    return contacts.filter(_contact_conditions(spec))


def segment_count(*, user: ScopedUser, spec: SegmentSpec) -> SegmentCount:
    """The number of contacts of ``spec`` that ``user`` sees and of its recipients, in one
    query: the segment's ids left-joined to the distinct contacts of deliverable addresses.

    Not ``COUNT(…) FILTER (WHERE EXISTS …)``: PostgreSQL probes the addresses once per
    contact there (200,000 probes, 1.2 s at 1M contacts); the join reads the partial index
    of deliverable addresses (``point_email_deliverable``) once.
    """
    segment = segment_contacts(user=user, spec=spec).order_by().values(segment_id=F("pk"))
    ids_sql, ids_params = segment.query.sql_with_params()
    reachable = deliverable_emails().order_by().values(reach_id=F("contact_id")).distinct()
    reach_sql, reach_params = reachable.query.sql_with_params()
    with connections[segment.db].cursor() as cursor:
        cursor.execute(
            f"SELECT COUNT(*), COUNT(d.reach_id) FROM ({ids_sql}) s"  # noqa: S608 (ORM SQL)
            f" LEFT JOIN ({reach_sql}) d ON d.reach_id = s.segment_id",
            [*ids_params, *reach_params],
        )
        total, recipients = cursor.fetchone()
    return SegmentCount(total=total or 0, recipients=recipients or 0)


def segment_recipients(
    *, user: ScopedUser, spec: SegmentSpec, cursor: str | None = None, limit: int = 20
) -> Page[Contact]:
    """A page of the recipients of ``spec`` that ``user`` sees, newest first (keyset).

    Each row carries ``mailing_emails`` (its deliverable e-mails) and its owner's name; three
    queries whatever the number of rows.
    """
    reachable = Exists(deliverable_emails().filter(contact_id=OuterRef("pk")))
    rows = (
        segment_contacts(user=user, spec=spec)
        .filter(reachable)
        .select_related("owner")
        .only(
            "id",
            "created_at",
            "last_name",
            "first_name",
            "middle_name",
            "consent_at",
            "owner__id",
            "owner__username",
            "owner__first_name",
            "owner__last_name",
        )
        .prefetch_related(
            Prefetch(
                "points",
                queryset=deliverable_emails().only("id", "value", "contact").order_by("position"),
                to_attr="mailing_emails",
            )
        )
    )
    return keyset_page(rows, order=RECIPIENT_ORDER, cursor=cursor, limit=limit)


def segment_list(*, user: ScopedUser) -> list[Segment]:
    """The segments ``user`` sees (shared ones and their own), by name."""
    return list(
        SEGMENT.restrict(Segment.objects.all(), user)
        .select_related("owner")
        .order_by("-is_shared", "name", "id")
    )


def segment_get(*, user: ScopedUser, pk: int) -> Segment:
    """One segment ``user`` sees; ``NotFound`` otherwise."""
    segment = SEGMENT.restrict(Segment.objects.select_related("owner"), user).filter(pk=pk).first()
    if segment is None:
        raise NotFound(_("Not found."))
    return segment


# --- mailings --------------------------------------------------------------------------------


def mailing_list(*, user: ScopedUser) -> list[Mailing]:
    """The mailings ``user`` sees (``permissions.MAILING``), newest first, with their
    segment and author (one query)."""
    return list(
        MAILING.restrict(Mailing.objects.all(), user)
        .select_related("segment", "created_by", "template")
        .order_by("-created_at", "-id")[:200]
    )


def mailing_get(*, user: ScopedUser, pk: int) -> Mailing:
    """One mailing ``user`` sees; ``PermissionDenied`` for a role without the permission,
    ``NotFound`` for a mailing of someone else."""
    MAILING.check(user)
    mailing = (
        MAILING.restrict(Mailing.objects.all(), user)
        .select_related("segment", "created_by", "template")
        .filter(pk=pk)
        .first()
    )
    if mailing is None:
        raise NotFound(_("Not found."))
    return mailing


def _unsubscribed_after_sending() -> Exists:
    """The address was unsubscribed (on any card) after this row's message went out."""
    return Exists(
        ContactPoint.objects.filter(
            kind=ContactPointKind.EMAIL,
            value=OuterRef("address"),
            unsubscribed_at__gte=OuterRef("sent_at"),
        )
    )


def _figure_condition(figure: str) -> Q:
    sent = Q(state=RecipientState.SENT)
    conditions = {
        ReportFigure.ALL: Q(),
        ReportFigure.SENT: sent,
        ReportFigure.DELIVERED: sent & Q(bounced_at__isnull=True),
        ReportFigure.BOUNCED: Q(bounced_at__isnull=False),
        ReportFigure.UNSUBSCRIBED: sent & Q(_unsubscribed_after_sending()),
        ReportFigure.REPLIED: Q(replied_at__isnull=False),
        ReportFigure.SKIPPED: Q(state=RecipientState.SKIPPED),
        ReportFigure.FAILED: Q(state=RecipientState.FAILED),
        ReportFigure.QUEUED: Q(state=RecipientState.QUEUED),
    }
    return conditions[ReportFigure(figure)]


def mailing_report(*, mailing: Mailing) -> dict[str, int]:
    """Every figure of ``mailing``'s report (``ReportFigure``) counted in one query over
    its recipient rows: delivered is sent and not bounced; unsubscribed counts the sent
    addresses unsubscribed after their message went out. Precondition: ``mailing`` came
    from ``mailing_get``."""
    counts = MailingRecipient.objects.filter(mailing_id=mailing.pk).aggregate(
        **{figure: Count("pk", filter=_figure_condition(figure)) for figure in ReportFigure.values}
    )
    return {figure: int(counts[figure] or 0) for figure in ReportFigure.values}


def mailing_recipients(
    *, mailing: Mailing, figure: str, cursor: str | None = None, limit: int = 50
) -> Page[MailingRecipient]:
    """A page of the recipients behind one figure of the report, by id (keyset), with
    their contact's name (one query whatever the number of rows). Precondition:
    ``mailing`` came from ``mailing_get``; ``figure`` is a ``ReportFigure``."""
    rows = (
        MailingRecipient.objects.filter(mailing_id=mailing.pk)
        .filter(_figure_condition(figure))
        .select_related("contact")
        .only(
            "id",
            "address",
            "state",
            "reason",
            "error",
            "sent_at",
            "bounced_at",
            "replied_at",
            "mailing_id",
            "contact__id",
            "contact__last_name",
            "contact__first_name",
            "contact__middle_name",
        )
    )
    return keyset_page(rows, order=("id",), cursor=cursor, limit=limit)
