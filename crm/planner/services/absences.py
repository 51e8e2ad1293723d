"""Absences and cover: who is away, who covers for them, and the access that gives.

A user, their head of sales or an administrator records an absence (vacation, sick leave,
business trip) with a substitute. While it lasts, the substitute gets the absent user's
reminders and overdue notices and sees and works their records: the planner's cover
(``crm.planner.permissions.covered_owner_ids``) is a parameter of every owned record's
access policy, so every list, card and API endpoint honours it, and it ends by itself
after the last day. The
absence row is the record of that access (who, for whom, which days, recorded by whom); a
cancelled one is kept. Grants are also written to the ``crm.security`` log.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Collection, Iterable
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.translation import gettext as _

from crm.accounts.models import TeamMembership, User
from crm.accounts.selectors import team_heads_of
from crm.core.errors import NotFound, PermissionDenied, ValidationFailed
from crm.core.permissions import Role, can_write, sees_everything
from crm.notifications.models import Notification
from crm.notifications.services import in_language, notify, notify_many
from crm.planner.choices import AbsenceKind
from crm.planner.models import Absence

security_log = logging.getLogger("crm.security")

ABSENCE_MAX_DAYS = 366
NOTE_MAX = 300


def users_away(on: dt.date) -> set[int]:
    """Ids of the users away on ``on``: a recorded absence, or the profile's away dates.

    The leads routing asks this before assigning a lead to someone.
    """
    away = set(Absence.objects.on(on).values_list("user_id", flat=True))
    away.update(
        get_user_model()
        .objects.filter(away_from__lte=on)
        .filter(Q(away_until__isnull=True) | Q(away_until__gte=on))
        .values_list("pk", flat=True)
    )
    return away


def substitutes_on(*, day: dt.date, user_ids: Iterable[int]) -> dict[int, Any]:
    """For each of ``user_ids`` away on ``day`` with an active substitute: that substitute.

    One query. When two absences overlap, the one recorded last wins.
    """
    ids = set(user_ids)
    if not ids:
        return {}
    absences = (
        Absence.objects.on(day)
        .filter(user_id__in=ids, substitute__isnull=False, substitute__is_active=True)
        .select_related("substitute")
        .order_by("created_at", "id")
    )
    return {absence.user_id: absence.substitute for absence in absences}


def substitutes_today(user_ids: Collection[int]) -> dict[int, Any]:
    """``substitutes_on`` today: the notifications app's cover lookup."""
    return substitutes_on(day=timezone.localdate(), user_ids=user_ids)


def absence_can_manage(actor: User, user: User) -> bool:
    """The user themselves, a head of one of their teams, or an administrator."""
    return user.pk in absence_manageable_user_ids(actor, [user.pk])


def absence_manageable_user_ids(actor: User, user_ids: Iterable[int]) -> set[int]:
    """Those of ``user_ids`` whose absences ``actor`` may manage (``absence_can_manage``),
    in one query at most: for a page listing many people's absences."""
    ids = set(user_ids)
    if not actor.is_active or not ids:
        return set()
    if sees_everything(actor):
        return ids
    allowed = {actor.pk} & ids
    if actor.role == Role.HEAD:
        allowed.update(
            TeamMembership.objects.filter(user_id__in=ids, team__heads=actor).values_list(
                "user_id", flat=True
            )
        )
    return allowed


def _errors(errors: dict[str, list[str]]) -> ValidationFailed:
    return ValidationFailed(_("Check the absence."), field_errors=errors)


def _period(start: dt.date, end: dt.date) -> str:
    return _("from %(start)s to %(end)s") % {
        "start": formats.date_format(start, "SHORT_DATE_FORMAT"),
        "end": formats.date_format(end, "SHORT_DATE_FORMAT"),
    }


def _away_problem(user: User, starts_on: dt.date, ends_on: dt.date) -> str:
    """Why ``user`` cannot cover ``starts_on``..``ends_on`` because they are away too."""
    clash = Absence.objects.overlapping(starts_on, ends_on).filter(user=user).first()
    if clash is not None:
        return _("%(user)s is away %(period)s too.") % {
            "user": user,
            "period": _period(clash.starts_on, clash.ends_on),
        }
    # The profile's away dates, read as ``users_away`` reads them: no end means until further
    # notice.
    if user.away_from and user.away_from <= ends_on:
        if user.away_until is None:
            return _("%(user)s is away from %(start)s until further notice.") % {
                "user": user,
                "start": formats.date_format(user.away_from, "SHORT_DATE_FORMAT"),
            }
        if user.away_until >= starts_on:
            return _("%(user)s is away %(period)s too.") % {
                "user": user,
                "period": _period(user.away_from, user.away_until),
            }
    return ""


@transaction.atomic
def absence_create(
    *,
    actor: User,
    user: User,
    kind: str,
    starts_on: dt.date,
    ends_on: dt.date,
    substitute: User | None = None,
    note: str = "",
) -> Absence:
    """Record that ``user`` is away ``starts_on``..``ends_on`` (both included).

    Refuses (``ValidationFailed``, every field at once): an unknown kind, dates in the wrong
    order or more than a year apart, an overlap with the user's other absence, and a
    substitute who is the user, inactive, read-only or away during the period too
    (``substitute_id``). ``PermissionDenied`` unless ``absence_can_manage``. The substitute
    is told in the app and by e-mail; the grant is written to the security log.
    """
    if user is None or not user.is_active:
        raise _errors({"user_id": [_("No such active user.")]})
    if not absence_can_manage(actor, user):
        raise PermissionDenied(_("You may record absences of yourself and your team only."))
    errors: dict[str, list[str]] = {}
    if kind not in AbsenceKind.values:
        errors["kind"] = [_("Choose vacation, sick leave or business trip.")]
    if not isinstance(starts_on, dt.date):
        errors["starts_on"] = [_("Enter a valid date.")]
    if not isinstance(ends_on, dt.date):
        errors["ends_on"] = [_("Enter a valid date.")]
    note = (note or "").strip()
    if len(note) > NOTE_MAX:
        errors["note"] = [_("At most %(n)d characters.") % {"n": NOTE_MAX}]
    if errors:
        raise _errors(errors)
    # Two requests at once must not both pass the checks below (two overlapping absences,
    # or a substitute who becomes away meanwhile): lock the people involved, in id order so
    # that crossed requests wait for each other instead of deadlocking. SQLite's immediate
    # transactions already run one at a time.
    people = {user.pk} | ({substitute.pk} if substitute is not None else set())
    list(get_user_model().objects.select_for_update().filter(pk__in=people).order_by("pk"))
    if ends_on < starts_on:
        errors["ends_on"] = [_("The absence cannot end before it starts.")]
    elif (ends_on - starts_on).days >= ABSENCE_MAX_DAYS:
        errors["ends_on"] = [_("At most a year at once.")]
    else:
        clash = Absence.objects.overlapping(starts_on, ends_on).filter(user=user).first()
        if clash is not None:
            errors["starts_on"] = [
                _("Overlaps the absence %(period)s.")
                % {"period": _period(clash.starts_on, clash.ends_on)}
            ]
    if substitute is not None:
        problem = ""
        if substitute.pk == user.pk:
            problem = _("Choose someone else to cover.")
        elif not substitute.is_active:
            problem = _("No such active user.")
        elif not can_write(substitute):
            problem = _("A read-only user cannot cover for a colleague.")
        elif "ends_on" not in errors:
            problem = _away_problem(substitute, starts_on, ends_on)
        if problem:
            errors["substitute_id"] = [problem]
    if errors:
        raise _errors(errors)
    absence = Absence.objects.create(
        user=user,
        kind=kind,
        starts_on=starts_on,
        ends_on=ends_on,
        substitute=substitute,
        note=note,
        created_by=actor,
    )
    if substitute is not None:
        security_log.info(
            "cover_granted absence=%s substitute=%s user=%s from=%s until=%s by=%s",
            absence.pk,
            substitute.pk,
            user.pk,
            starts_on,
            ends_on,
            actor.pk,
        )
        with in_language(substitute):
            title = _("You cover for %(user)s %(period)s") % {
                "user": user,
                "period": _period(absence.starts_on, absence.ends_on),
            }
            body = _(
                "While they are away you get their reminders and overdue tasks and see "
                "and work their clients and deals."
            )
        notify(
            recipient=substitute,
            kind=Notification.Kind.SYSTEM,
            title=title,
            body=body,
            url=reverse("planner:absence_list"),
            dedupe_key=f"cover:{absence.pk}",
        )
    _tell_of_lost_cover(absence)
    return absence


def _tell_of_lost_cover(absence: Absence) -> None:
    """Someone who covers for a colleague is recorded away during that cover (sick leave
    cannot wait): the colleague and the heads of their teams hear that the cover has a gap,
    so that someone else is chosen. The absence itself is not refused."""
    covers = (
        Absence.objects.overlapping(absence.starts_on, absence.ends_on)
        .filter(substitute_id=absence.user_id)
        .select_related("user")
    )
    for cover in covers:
        people = [cover.user, *team_heads_of(cover.user_id)]
        notify_many(
            recipients=[person for person in people if person.pk != absence.user_id],
            kind=Notification.Kind.SYSTEM,
            title=_lost_cover_title(absence, cover),
            url=reverse("planner:absence_list"),
            dedupe_key=f"cover-lost:{cover.pk}:{absence.pk}",
        )


def _lost_cover_title(absence: Absence, cover: Absence) -> Callable[[Any], str]:
    def title(_person: Any) -> str:
        return _(
            "%(substitute)s, who covers for %(user)s %(cover)s, is away %(period)s: "
            "choose another substitute"
        ) % {
            "substitute": absence.user,
            "user": cover.user,
            "cover": _period(cover.starts_on, cover.ends_on),
            "period": _period(absence.starts_on, absence.ends_on),
        }

    return title


def absence_get(*, actor: User, pk: int) -> Absence:
    from crm.planner.selectors import absences_visible_to

    absence = absences_visible_to(actor).with_people().filter(pk=pk).first()
    if absence is None:
        raise NotFound(_("Not found."))
    return absence


@transaction.atomic
def absence_cancel(*, actor: User, pk: int) -> Absence:
    """Cancel an absence that has not ended; the access it gave ends at once."""
    absence = absence_get(actor=actor, pk=pk)
    if not absence_can_manage(actor, absence.user):
        raise PermissionDenied(_("You may change absences of yourself and your team only."))
    if absence.cancelled_at is not None:
        raise _errors({"status": [_("The absence is already cancelled.")]})
    if absence.ends_on < timezone.localdate():
        raise _errors({"status": [_("The absence is over.")]})
    absence.cancelled_at = timezone.now()
    absence.cancelled_by = actor
    absence.save(update_fields=["cancelled_at", "cancelled_by"])
    if absence.substitute_id:
        security_log.info(
            "cover_revoked absence=%s substitute=%s user=%s by=%s",
            absence.pk,
            absence.substitute_id,
            absence.user_id,
            actor.pk,
        )
    return absence
