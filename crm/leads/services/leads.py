"""Leads: creation from an arrival (match, classify, route, assign, notify, deadline),
work on a lead (take, qualify, lose, reassign), conversion into a client and a deal, and
the response-deadline sweep.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Q, QuerySet
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from crm.accounts.models import User
from crm.accounts.selectors import team_heads_of
from crm.activities.choices import EntryKind
from crm.activities.models import TimelineEntry
from crm.activities.services import timeline_bulk_record, timeline_entry_build, timeline_record
from crm.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from crm.core.models import owner_hand_over
from crm.core.names import split_full_name
from crm.core.permissions import SYSTEM, ScopedUser, can_write
from crm.core.policies import CHANGE
from crm.core.sql import rows_update
from crm.core.text import fold
from crm.customers.choices import ContactPointKind, Entity
from crm.customers.models import Company, Contact, ContactPoint
from crm.customers.services.duplicates import (
    DuplicateCandidate,
    company_duplicates_find,
    contact_duplicates_find,
)
from crm.leads.choices import OPEN_STATUSES, Channel, LeadKind, LeadStatus
from crm.leads.models import Inbound, Lead, PartnerCode, RoutingRule
from crm.leads.permissions import LEAD
from crm.leads.selectors import lead_contact_candidates, lead_points
from crm.leads.services.intake import LeadInput
from crm.leads.services.routing import RoutingBatch, assignee_for, rule_for
from crm.notifications.models import Notification
from crm.notifications.services import in_language, notify, notify_many
from crm.planner.calendars import default_calendar

CHANNEL_SOURCE: dict[str, str] = {
    Channel.WEB_FORM: "website",
    Channel.API: "other",
    Channel.EMAIL: "email",
    Channel.PHONE: "phone",
    Channel.MANUAL: "other",
    Channel.MESSENGER: "messenger",
}


@dataclass
class Match:
    """What an incoming lead was matched to, and why."""

    contact: Contact | None = None
    company: Company | None = None
    open_lead: Lead | None = None
    score: int = 0
    reasons: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "contact_id": self.contact.pk if self.contact else None,
            "company_id": self.company.pk if self.company else None,
            "lead_id": self.open_lead.pk if self.open_lead else None,
            "score": self.score,
            "reasons": self.reasons,
        }


@dataclass
class _Assignment:
    """A routed lead of a batch waiting for its user (``LeadBatch.flush``)."""

    lead: Lead
    rule: RoutingRule
    client_owner_id: int | None
    now: dt.datetime
    received: dict[str, Any]  # the data of its "Lead received" entry, not yet written


class LeadBatch:
    """What the leads of one ``inbound_process_batch`` share: routing reads and round-robin
    state (``RoutingBatch``), partner codes and users already read, and the timeline entries
    written with one INSERT by ``flush``. Routed leads get their user in ``flush``, in the
    order they came, so the team's round-robin row is locked only from there to the commit,
    not while the batch matches (another worker's batch waits for that lock).
    ``checkpoint`` / ``rollback`` drop what an arrival whose savepoint was rolled back had
    added."""

    def __init__(self) -> None:
        self.routing = RoutingBatch()
        self.partners: dict[tuple[str, ...], PartnerCode | None] = {}
        self.users: dict[int, User] = {}
        self.entries: list[TimelineEntry] = []
        self.assignments: list[_Assignment] = []
        self.again: list[tuple[int, int]] = []  # (lead, arrival) for leads of this batch

    def user(self, user_id: int) -> User:
        if user_id not in self.users:
            self.users[user_id] = User.objects.get(pk=user_id)
        return self.users[user_id]

    def record(self, *, subject: Any, **fields: Any) -> None:
        self.entries.append(
            timeline_entry_build(subject_model=type(subject), subject_id=subject.pk, **fields)
        )

    def checkpoint(self) -> tuple[int, int, int, dict[int, int | None]]:
        turns = {team: state.last_user_id for team, state in self.routing.round_robin.items()}
        return len(self.entries), len(self.assignments), len(self.again), turns

    def rollback(self, checkpoint: tuple[int, int, int, dict[int, int | None]]) -> None:
        count, assignments, again, turns = checkpoint
        del self.entries[count:]
        del self.assignments[assignments:]
        del self.again[again:]
        for team, state in list(self.routing.round_robin.items()):
            if team in turns:
                state.last_user_id = turns[team]
            else:  # its row stays locked until the commit; nothing to write back
                del self.routing.round_robin[team]

    def flush(self) -> None:
        assigned = []
        for item in self.assignments:
            owner_id = assignee_for(
                item.rule, client_owner_id=item.client_owner_id, now=item.now, batch=self.routing
            )
            if owner_id is not None:
                item.lead.owner = self.user(owner_id)
                item.lead.assigned_at = item.now
                item.received["owner"] = str(item.lead.owner)
                assigned.append(item.lead)
        Lead.objects.bulk_update(assigned, ["owner", "assigned_at"])
        for lead in assigned:
            _notify_assigned(lead)
        by_id = {lead.pk: lead for lead in assigned}
        for lead_id, inbound_id in self.again:
            if lead_id in by_id:
                _notify_again(by_id[lead_id], inbound_id)
        self.assignments, self.again = [], []
        self.routing.flush()
        timeline_bulk_record(entries=self.entries)
        self.entries = []


def _timeline(batch: LeadBatch | None, **fields: Any) -> None:
    if batch is None:
        timeline_record(**fields)
    else:
        batch.record(**fields)


def _point_reason(point: ContactPoint, entity: str, *, in_body: bool) -> str:
    """Why a lead was matched to a client by a shared phone or e-mail, the sender's own or
    (``in_body``) one written in the message's body."""
    kind = point.get_kind_display().lower()
    if in_body:
        if entity == "contact":
            return _("Same %(kind)s as the contact, in the message's text") % {"kind": kind}
        return _("Same %(kind)s as the company, in the message's text") % {"kind": kind}
    if entity == "contact":
        return _("Same %(kind)s as the contact") % {"kind": kind}
    return _("Same %(kind)s as the company") % {"kind": kind}


def match_lead(lead_input: LeadInput) -> Match:
    """Match by normalised phone and e-mail (exact; the sender's own first, then those of an
    e-mail's body, ``LeadInput.body_points``), ИНН, then fuzzy names, across the whole base
    (the system sees everything); and against open leads with the same phone/e-mail (the
    body's included)."""
    match = Match()
    if lead_input.phone_unchecked:
        match.reasons.append(
            _("The phone “%(phone)s” is not a valid number: kept as sent, matched by its digits")
            % {"phone": lead_input.phone_unchecked}
        )
    points: list[tuple[str, str]] = []
    if lead_input.phone:
        points.append((ContactPointKind.PHONE, lead_input.phone))
    if lead_input.email:
        points.append((ContactPointKind.EMAIL, lead_input.email))
    from_body = set(lead_input.body_points) - set(points)
    points += sorted(from_body)
    if points:
        condition = Q(pk__in=[])
        for kind, value in points:
            condition |= Q(kind=kind, value=value)
        rows = ContactPoint.objects.filter(condition).select_related("contact", "company")
        # The sender's own phone and address first, then those of the message's body.
        for point in sorted(
            rows.order_by("id")[:20], key=lambda row: (row.kind, row.value) in from_body
        ):
            in_body = (point.kind, point.value) in from_body
            if point.contact and point.contact.merged_into_id is None and match.contact is None:
                match.contact = point.contact
                match.reasons.append(_point_reason(point, "contact", in_body=in_body))
            if point.company and point.company.merged_into_id is None and match.company is None:
                match.company = point.company
                match.reasons.append(_point_reason(point, "company", in_body=in_body))
    if lead_input.inn and match.company is None:
        company = Company.objects.live().filter(inn=lead_input.inn).order_by("id").first()
        if company is not None:
            match.company = company
            match.reasons.append(_("Same ИНН %(inn)s") % {"inn": lead_input.inn})
    if match.contact or match.company:
        match.score = 100
    elif lead_input.name or lead_input.company_name:
        found = []
        if lead_input.name:
            person = split_full_name(lead_input.name)
            found += contact_duplicates_find(
                actor=SYSTEM,
                last_name=person.last_name,
                first_name=person.first_name,
                middle_name=person.middle_name,
            )
        if lead_input.company_name:
            found += company_duplicates_find(actor=SYSTEM, legal_name=lead_input.company_name)
        best = max(found, key=lambda candidate: candidate.score, default=None)
        if best is not None:
            # A similar name alone is shown, not acted on: the lead stays new.
            match.score = best.score
            match.reasons.append(
                _("Similar %(entity)s: %(name)s (%(score)d%%)")
                % {
                    "entity": str(Entity(best.entity).label).lower(),
                    "name": best.name,
                    "score": best.score,
                }
            )
    open_leads = Lead.objects.filter(status__in=OPEN_STATUSES)
    lead_condition = Q(pk__in=[])
    if lead_input.phone:
        lead_condition |= Q(phone=lead_input.phone)
    if lead_input.email:
        lead_condition |= Q(email=lead_input.email)
    for kind, column in ((ContactPointKind.PHONE, "phone"), (ContactPointKind.EMAIL, "email")):
        values = [value for point_kind, value in from_body if point_kind == kind]
        if values:
            lead_condition |= Q(**{f"{column}__in": values})
    match.open_lead = open_leads.filter(lead_condition).order_by("-created_at").first()
    if match.open_lead is not None:
        match.reasons.append(
            _("An open lead from the same person: #%(id)d") % {"id": match.open_lead.pk}
        )
    return match


def _partner(lead_input: LeadInput, batch: LeadBatch | None = None) -> PartnerCode | None:
    codes = tuple(
        code for code in (lead_input.partner_code, lead_input.utm.get("source", "")) if code
    )
    if not codes:
        return None
    if batch is not None and codes in batch.partners:
        return batch.partners[codes]
    partner = PartnerCode.objects.filter(code__in=codes).first()
    if batch is not None:
        batch.partners[codes] = partner
    return partner


def _title(lead_input: LeadInput, channel: str) -> str:
    who = (
        lead_input.company_name
        or lead_input.name
        or lead_input.email
        or lead_input.phone_unchecked
        or lead_input.phone
    )
    return (lead_input.title or f"{Channel(channel).label}: {who}")[:200]


def lead_url(lead: Lead) -> str:
    return reverse("leads:lead_detail", args=[lead.pk])


def _notify_assigned(lead: Lead) -> None:
    owner = lead.owner
    if owner is None:
        return
    with in_language(owner):
        title = _("New lead: %(title)s") % {"title": lead.title}
        body = (
            _("Respond by %(deadline)s.")
            % {"deadline": timezone.localtime(lead.respond_by).strftime("%d.%m.%Y %H:%M")}
            if lead.respond_by
            else ""
        )
    notify(
        recipient=owner,
        kind=Notification.Kind.LEAD,
        title=title,
        body=body,
        url=lead_url(lead),
        dedupe_key=f"lead:{lead.pk}:assigned:{owner.pk}",
    )


def _attach_to_open_lead(
    lead: Lead, lead_input: LeadInput, inbound: Inbound, batch: LeadBatch | None = None
) -> Lead:
    _timeline(
        batch,
        subject=lead,
        kind=EntryKind.EMAIL if inbound.channel == Channel.EMAIL else EntryKind.SYSTEM,
        title=gettext_noop("Repeated request"),
        body=lead_input.message,
        data={"channel": inbound.channel, "inbound_id": inbound.pk},
    )
    if batch is not None and any(item.lead.pk == lead.pk for item in batch.assignments):
        batch.again.append((lead.pk, inbound.pk))  # its user is given in ``batch.flush``
    else:
        _notify_again(lead, inbound.pk)
    return lead


def _notify_again(lead: Lead, inbound_id: int) -> None:
    if lead.owner is None:
        return
    with in_language(lead.owner):
        title = _("The lead “%(title)s” wrote again") % {"title": lead.title}
    notify(
        recipient=lead.owner,
        kind=Notification.Kind.LEAD,
        title=title,
        url=lead_url(lead),
        dedupe_key=f"lead:{lead.pk}:again:{inbound_id}",
    )


def _deadline(rule: RoutingRule | None, now: dt.datetime) -> dt.datetime | None:
    if rule is None:
        return None
    return default_calendar().add_hours(now, rule.response_minutes / 60)


def lead_from_input(
    lead_input: LeadInput, *, inbound: Inbound, batch: LeadBatch | None = None
) -> Lead:
    """Create the lead for an arrival (inside ``inbound_process``'s transaction, or a batch's:
    then routing reads are shared and timeline entries wait for ``batch.flush``)."""
    if lead_input.thread_key:
        thread = Lead.objects.filter(thread_key=lead_input.thread_key).order_by("id").first()
        if thread is not None:
            return _attach_to_open_lead(thread, lead_input, inbound, batch)
    match = match_lead(lead_input)
    if match.open_lead is not None:
        return _attach_to_open_lead(match.open_lead, lead_input, inbound, batch)
    client = match.company or match.contact
    if client is not None and not lead_input.client_type:
        lead_input.client_type = client.client_type
    partner = _partner(lead_input, batch)
    kind = LeadKind.PARTNER if partner else LeadKind.REPEAT if client is not None else LeadKind.NEW
    now = timezone.now()
    form_id = inbound.form_id
    routing = batch.routing if batch is not None else None
    rule = rule_for(lead_input, channel=inbound.channel, form_id=form_id, batch=routing)
    author = inbound.created_by
    if inbound.channel == Channel.MANUAL and author is not None and can_write(author):
        owner_id: int | None = author.pk  # whoever took the call keeps the lead they typed
    elif rule is not None and batch is not None:
        owner_id = None  # given in ``batch.flush``
    elif rule is not None:
        owner_id = assignee_for(
            rule,
            client_owner_id=client.owner_id if client else None,
            now=now,
            batch=routing,
        )
    else:
        owner_id = client.owner_id if client else None
    lead = Lead.objects.create(
        title=_title(lead_input, inbound.channel),
        kind=kind,
        channel=inbound.channel,
        form_id=form_id,
        name=lead_input.name,
        phone=lead_input.phone,
        phone_unchecked=lead_input.phone_unchecked,
        email=lead_input.email,
        company_name=lead_input.company_name,
        inn=lead_input.inn,
        message=lead_input.message,
        client_type=lead_input.client_type,
        utm=lead_input.utm,
        referrer=lead_input.referrer,
        page_url=lead_input.page_url,
        data=lead_input.data,
        partner=partner,
        contact=match.contact,
        company=match.company,
        match=match.as_dict(),
        rule=rule,
        pipeline=rule.pipeline if rule else None,
        team=rule.team if rule else None,
        owner_id=owner_id,
        assigned_at=now if owner_id else None,
        respond_by=_deadline(rule, now) if owner_id or rule else None,
        thread_key=lead_input.thread_key,
        body_points=[list(point) for point in lead_input.body_points],
        search_text=lead_search_text(
            lead_input.name,
            lead_input.company_name,
            lead_input.email,
            lead_input.phone,
            lead_input.phone_unchecked,
        ),
    )
    if batch is not None and owner_id is not None:
        lead.owner = batch.user(owner_id)
    received = {
        "channel": inbound.channel,
        "kind": kind,
        "rule": rule.name if rule else "",
        "owner": str(lead.owner) if lead.owner_id else "",
        "match": match.reasons,
    }
    _timeline(
        batch,
        subject=lead,
        kind=EntryKind.CREATED,
        title=gettext_noop("Lead received"),
        body=lead_input.message,
        data=received,
    )
    if client is not None:
        _timeline(
            batch,
            subject=client,
            kind=EntryKind.SYSTEM,
            title=gettext_noop("Incoming request"),
            body=lead_input.message,
            data={
                "channel": inbound.channel,
                "lead_id": lead.pk,
                "phone": lead_input.phone_unchecked or lead_input.phone,
                "email": lead_input.email,
            },
        )
    if batch is not None and rule is not None and owner_id is None:
        batch.assignments.append(
            _Assignment(lead, rule, client.owner_id if client else None, now, received)
        )
    else:
        _notify_assigned(lead)
    return lead


# --- working a lead ---------------------------------------------------------------------------


def lead_get(*, actor: ScopedUser, pk: Any, for_update: bool = False) -> Lead:
    try:
        pk = int(pk)
    except (TypeError, ValueError):
        raise NotFound(_("Not found.")) from None
    qs = Lead.objects.visible_to(actor).select_related(
        "owner", "pipeline", "contact", "company", "team", "rule"
    )
    if for_update:
        qs = qs.select_for_update(of=("self",))
    lead = qs.filter(pk=pk).first()
    if lead is None:
        raise NotFound(_("Not found."))
    return lead


def _check_writable(actor: ScopedUser, lead: Lead) -> None:
    LEAD.check(actor, CHANGE, lead)


def lead_mark_responded(*, lead: Lead, actor: ScopedUser, how: str) -> None:
    """The first reaction to a lead (a call, an e-mail, a status change) stops its clock."""
    if lead.responded_at is not None:
        return
    lead.responded_at = timezone.now()
    lead.save(update_fields=["responded_at", "updated_at"])
    timeline_record(
        subject=lead,
        kind=EntryKind.SYSTEM,
        author=actor,
        title=gettext_noop("First response"),
        data={"how": how},
    )


def _record_change(
    lead: Lead, actor: ScopedUser, field: tuple[str, str], old: str, new: str, *, body: str = ""
) -> None:
    """One field's change on the lead's timeline: ``field`` is its name and its label (marked
    with ``gettext_noop``, translated when shown)."""
    name, label = field
    change = {"field": name, "label": label, "old": old, "new": new}
    timeline_record(
        subject=lead,
        kind=EntryKind.FIELD_CHANGE,
        author=actor,
        data={"changes": [change]},
        body=body,
    )


@transaction.atomic
def lead_set_status(*, actor: ScopedUser, pk: Any, status: str, reason: str = "") -> Lead:
    lead = lead_get(actor=actor, pk=pk, for_update=True)
    _check_writable(actor, lead)
    if status not in (
        LeadStatus.NEW,
        LeadStatus.IN_PROGRESS,
        LeadStatus.QUALIFIED,
        LeadStatus.LOST,
    ):
        raise ValidationFailed(
            field_errors={"status": [_("Choose a status; convert a lead with “Convert”.")]}
        )
    if lead.status == LeadStatus.CONVERTED:
        raise ValidationFailed(field_errors={"status": [_("The lead is converted.")]})
    reason = " ".join((reason or "").split())
    if status == LeadStatus.LOST and not reason:
        raise ValidationFailed(field_errors={"reason": [_("Say why the lead is lost.")]})
    if len(reason) > 300:
        raise ValidationFailed(
            field_errors={"reason": [_("At most %(n)d characters.") % {"n": 300}]}
        )
    old = lead.status
    lead.status = status
    lead.lost_reason = reason if status == LeadStatus.LOST else ""
    if lead.owner_id is None and actor.pk:
        lead.owner_id = actor.pk
        lead.assigned_at = timezone.now()
    lead.save()
    _record_change(
        lead,
        actor,
        ("status", gettext_noop("status")),
        str(LeadStatus(old).label),
        str(LeadStatus(status).label),
        body=reason,
    )
    lead_mark_responded(lead=lead, actor=actor, how="status")
    return lead


@transaction.atomic
def lead_assign(*, actor: ScopedUser, pk: Any, owner_id: Any) -> Lead:
    lead = lead_get(actor=actor, pk=pk, for_update=True)
    _check_writable(actor, lead)
    from crm.customers.services.records import resolve_owner

    new_owner = resolve_owner(actor, owner_id, lead.owner_id)
    if new_owner == lead.owner_id:
        return lead
    old = str(lead.owner) if lead.owner_id else ""
    lead.owner_id = new_owner
    lead.assigned_at = timezone.now()
    lead.save(update_fields=["owner", "assigned_at", "updated_at"])
    lead.refresh_from_db(fields=["owner"])
    _record_change(lead, actor, ("owner", gettext_noop("responsible")), old, str(lead.owner))
    _notify_assigned(lead)
    return lead


@transaction.atomic
def lead_create_manual(
    *, actor: ScopedUser, data: dict[str, Any], allow_duplicate: bool = False
) -> Lead:
    """A lead typed in by a user (a walk-in, a call to a personal phone): it goes through
    the same intake as every channel, processed at once, and is the user's unless a rule
    says otherwise."""
    from crm.leads.services.intake import clean_lead_input, inbound_process, inbound_store

    if not can_write(actor):
        raise PermissionDenied(_("Your role may not change leads."))
    clean_lead_input(data)  # refuse bad input before storing anything
    inbound, _created = inbound_store(
        channel=Channel.MANUAL, payload=data, actor=actor, process=False
    )
    lead = inbound_process(inbound.pk)
    if lead is None:
        raise ValidationFailed(_("The lead could not be created."))
    if lead.owner_id is None:
        lead.owner_id = actor.pk
        lead.assigned_at = timezone.now()
        lead.save(update_fields=["owner", "assigned_at"])
    return lead


class ContactMatchFound(Conflict):
    """Converting would create a contact for a person who looks like existing contacts:
    the caller must choose one of them or ask for a new contact (``lead_convert``)."""

    def __init__(self, candidates: list[DuplicateCandidate]):
        self.candidates = candidates
        super().__init__(
            _(
                "This person may already be in the base: "
                "link an existing contact or create a new one."
            ),
            field_errors={"contact_id": [_("Choose a contact, or create a new one anyway.")]},
            payload={"duplicates": [candidate.as_dict() for candidate in candidates]},
        )


def _contact_data(lead: Lead, *, owner_id: int, company: Company | None) -> dict[str, Any]:
    """The new contact of a converted lead: the name split by ``split_full_name`` (with no
    name, the e-mail or phone names it), the lead's checked phone, e-mail and the phones and
    e-mails of its message's body."""
    person = split_full_name(lead.name)
    points = lead_points(lead)
    data: dict[str, Any] = {
        "last_name": person.last_name,
        "first_name": person.first_name
        or ("" if person.last_name else lead.email or lead.phone_shown),
        "middle_name": person.middle_name,
        "owner_id": owner_id,
        "client_type": lead.client_type or ("business" if company else "private"),
        "source": CHANNEL_SOURCE.get(lead.channel, "other"),
        # A contact keeps only checked numbers; an unchecked one goes on its timeline.
        "phones": [{"value": value} for kind, value in points if kind == ContactPointKind.PHONE],
        "emails": [{"value": value} for kind, value in points if kind == ContactPointKind.EMAIL],
    }
    if company is not None:
        data["employments"] = [{"company_id": company.pk}]
    return data


@transaction.atomic
def lead_convert(
    *,
    actor: User,
    pk: Any,
    contact_id: Any = None,
    company_id: Any = None,
    create_contact: bool = True,
    create_company: bool = False,
    create_new: bool = False,
    deal_title: str = "",
    amount: Any = None,
    allow_duplicate: bool = False,
) -> Lead:
    """Convert in one step: link or create the contact and company (with the duplicate
    check), create a deal in the routed pipeline, and link everything back to the lead.

    A lead with no contact whose person looks like contacts the actor can see
    (``lead_contact_candidates``) is not given a second contact silently: without a choice
    (``contact_id`` of one of them, or ``create_new``) the conversion raises
    ``ContactMatchFound`` with the candidates and changes nothing. ``create_new`` also
    saves over an exact duplicate of the contact, the user having seen it.
    """
    from crm.customers.services.records import company_create, contact_create
    from crm.sales.services.deals import deal_create

    lead = lead_get(actor=actor, pk=pk, for_update=True)
    _check_writable(actor, lead)
    if lead.status == LeadStatus.CONVERTED:
        raise ValidationFailed(field_errors={"status": [_("The lead is already converted.")]})
    owner_id = lead.owner_id or actor.pk
    contact = (
        Contact.objects.visible_to(actor).filter(pk=contact_id).first()
        if contact_id
        else lead.contact
    )
    company = (
        Company.objects.visible_to(actor).filter(pk=company_id).first()
        if company_id
        else lead.company
    )
    if contact_id and contact is None:
        raise ValidationFailed(field_errors={"contact_id": [_("No such record.")]})
    if company_id and company is None:
        raise ValidationFailed(field_errors={"company_id": [_("No such record.")]})
    if contact is None and create_contact and not create_new:
        candidates = lead_contact_candidates(actor=actor, lead=lead)
        if candidates:
            raise ContactMatchFound(candidates)
    if company is None and create_company and (lead.company_name or lead.inn):
        company = company_create(
            actor=actor,
            data={
                "legal_name": lead.company_name or lead.inn,
                "inn": lead.inn,
                "owner_id": owner_id,
                "source": CHANNEL_SOURCE.get(lead.channel, "other"),
            },
            allow_duplicate=allow_duplicate,
        )
    made_contact = False
    if contact is None and create_contact and (lead.name or lead.phone or lead.email):
        contact = contact_create(
            actor=actor,
            data=_contact_data(lead, owner_id=owner_id, company=company),
            allow_duplicate=allow_duplicate or create_new,
        )
        made_contact = True
    if made_contact and contact is not None and lead.phone_unchecked:
        timeline_record(
            subject=contact,
            kind=EntryKind.SYSTEM,
            author=actor,
            title=gettext_noop("Phone from the lead, not checked"),
            body=lead.phone_unchecked,
            data={"lead_id": lead.pk, "phone": lead.phone_unchecked},
        )
    deal = deal_create(
        actor=actor,
        data={
            "title": deal_title or lead.title,
            "pipeline_id": lead.pipeline_id,
            "contact_id": contact.pk if contact else None,
            "company_id": company.pk if company else None,
            "owner_id": owner_id,
            "amount": amount,
            "source": "lead",
            "notes": lead.message[:10000],
        },
    )
    lead.contact, lead.company, lead.deal = contact, company, deal
    lead.status = LeadStatus.CONVERTED
    lead.converted_at = timezone.now()
    lead.save()
    timeline_record(
        subject=lead,
        kind=EntryKind.SYSTEM,
        author=actor,
        title=gettext_noop("Converted into a deal"),
        data={"deal_id": deal.pk, "deal": deal.title},
    )
    timeline_record(
        subject=deal,
        kind=EntryKind.SYSTEM,
        author=actor,
        title=gettext_noop("Created from a lead"),
        body=lead.message,
        data={"lead_id": lead.pk, "channel": lead.channel, "utm": lead.utm},
    )
    lead_mark_responded(lead=lead, actor=actor, how="converted")
    return lead


# --- response deadlines --------------------------------------------------------------------------


def _escalation_title(lead: Lead) -> Callable[[Any], str]:
    def title(_user: User) -> str:
        return _("Nobody answered the lead “%(title)s” in time") % {"title": lead.title}

    return title


def lead_response_sweep(*, now: dt.datetime | None = None, batch: int = 200) -> dict[str, int]:
    """Escalate leads nobody reacted to by their deadline: notify the heads of the team and
    a colleague, optionally reassign; once per lead, recorded on its timeline. Late rather
    than never: a deadline passed while the scheduler was down fires on the next run."""
    now = now or timezone.now()
    escalated = 0
    with transaction.atomic():
        leads = list(
            Lead.objects.filter(
                responded_at__isnull=True,
                escalated_at__isnull=True,
                respond_by__lte=now,
                status=LeadStatus.NEW,
            )
            .select_related("owner", "rule", "team")
            .select_for_update(skip_locked=True, of=("self",))
            .order_by("respond_by", "id")[:batch]
        )
        for lead in leads:
            recipients: dict[int, Any] = {}
            if lead.owner_id:
                recipients.update({head.pk: head for head in team_heads_of(lead.owner_id)})
            elif lead.team is not None:
                recipients.update(
                    {head.pk: head for head in lead.team.heads.filter(is_active=True)}
                )
            colleague_id = None
            if lead.rule is not None and lead.team_id:
                colleague_id = assignee_for(lead.rule, client_owner_id=None, now=now)
                if colleague_id == lead.owner_id:
                    colleague_id = None
            if colleague_id:
                colleague = get_user_model().objects.get(pk=colleague_id)
                recipients[colleague.pk] = colleague
            recipients.pop(lead.owner_id or 0, None)
            notify_many(
                recipients=recipients.values(),
                kind=Notification.Kind.LEAD,
                title=_escalation_title(lead),
                url=lead_url(lead),
                dedupe_key=f"lead:{lead.pk}:escalated",
            )
            data: dict[str, Any] = {"notified": sorted(str(user) for user in recipients.values())}
            if lead.rule is not None and lead.rule.reassign_on_escalation and colleague_id:
                data["reassigned"] = {
                    "from": str(lead.owner) if lead.owner_id else "",
                    "to_id": colleague_id,
                }
                lead.owner_id = colleague_id
                lead.assigned_at = now
                lead.respond_by = _deadline(lead.rule, now)
            lead.escalated_at = now
            lead.save(update_fields=["escalated_at", "owner", "assigned_at", "respond_by"])
            timeline_record(
                subject=lead,
                kind=EntryKind.SYSTEM,
                title=gettext_noop("Response deadline missed"),
                data=data,
            )
            if "reassigned" in data:
                lead.refresh_from_db(fields=["owner"])
                _notify_assigned(lead)
            escalated += 1
    return {"escalated": escalated}


def leads_open_of(user_id: int) -> QuerySet[Lead]:
    """A user's leads not yet converted or lost (what a handover passes on)."""
    return Lead.objects.filter(owner_id=user_id, status__in=OPEN_STATUSES)


def leads_hand_over(ids: list[int], from_id: int, to_id: int) -> int:
    """Give the leads ``ids`` still owned by ``from_id`` to ``to_id`` (a leaving manager's
    handover), assigned now as ``lead_assign`` does; answers how many moved. The handover
    writes the timeline entries and one notice per receiver, not one per lead."""
    return owner_hand_over(Lead, ids, from_id, to_id, assigned_at=timezone.now())


SEARCH_FIELDS = ("name", "company_name", "email", "phone", "phone_unchecked")
"""The lead's fields its ``search_text`` folds, in this order."""


def lead_search_text(*values: str) -> str:
    """The folded text the lead list's search reads: the ``SEARCH_FIELDS`` values."""
    return fold(" ".join(values))[:600]


def leads_search_rebuild() -> list[str]:
    """Write the search text of every lead again from its fields (a restore of the full
    export leaves it out); in batches by id, answers no notes. The ``thread_key`` of an
    e-mail lead (its message's thread) is not in the lead's fields: a restored lead starts
    a new thread on the next message."""
    last = 0
    while True:
        leads = list(
            Lead.objects.filter(pk__gt=last).order_by("pk").only("pk", *SEARCH_FIELDS)[:2000]
        )
        if not leads:
            return []
        rows_update(
            Lead,
            ("search_text",),
            [
                (lead_search_text(*(getattr(lead, name) for name in SEARCH_FIELDS)), lead.pk)
                for lead in leads
            ],
        )
        last = leads[-1].pk
