"""Absences and cover: who is away, who may record an absence, the substitute's checks,
and the temporary access the substitute gets (and loses) through the policies' cover."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone, translation

from crm.accounts.models import User
from crm.core.errors import PermissionDenied, ValidationFailed
from crm.customers.models import Contact
from crm.customers.permissions import CUSTOMER
from crm.customers.tests.factories import make_contact
from crm.notifications.models import Notification
from crm.planner import services
from crm.planner.models import Absence
from crm.planner.tests.factories import make_absence

pytestmark = pytest.mark.django_db

TODAY = dt.date(2026, 11, 23)


def _fresh(user):
    return User.objects.get(pk=user.pk)  # the cover is cached per instance


def test_users_away_honours_absences_and_the_profile_dates(org):
    make_absence(org.manager, starts_on=TODAY, days=3)
    cancelled = make_absence(org.colleague, starts_on=TODAY, days=3)
    cancelled.cancelled_at = timezone.now()
    cancelled.save()
    org.outsider.away_from, org.outsider.away_until = TODAY, TODAY
    org.outsider.save()
    assert services.users_away(TODAY) == {org.manager.pk, org.outsider.pk}
    assert services.users_away(TODAY + dt.timedelta(days=2)) == {org.manager.pk}
    assert services.users_away(TODAY + dt.timedelta(days=3)) == set()


def test_a_user_records_their_own_absence_and_the_substitute_is_told(org):
    absence = services.absence_create(
        actor=org.manager,
        user=org.manager,
        kind="vacation",
        starts_on=TODAY,
        ends_on=TODAY + dt.timedelta(days=6),
        substitute=org.colleague,
    )
    assert absence.created_by == org.manager
    note = Notification.objects.get(recipient=org.colleague)
    assert str(org.manager) in note.title


def test_a_head_records_a_team_members_absence_a_manager_may_not(org):
    services.absence_create(
        actor=org.head, user=org.manager, kind="sick", starts_on=TODAY, ends_on=TODAY
    )
    with pytest.raises(PermissionDenied):
        services.absence_create(
            actor=org.colleague, user=org.manager, kind="sick", starts_on=TODAY, ends_on=TODAY
        )
    with pytest.raises(PermissionDenied):
        services.absence_create(
            actor=org.head, user=org.outsider, kind="sick", starts_on=TODAY, ends_on=TODAY
        )
    assert Absence.objects.count() == 1


def test_a_substitute_who_is_away_too_is_refused_naming_the_field(org):
    make_absence(org.colleague, starts_on=TODAY + dt.timedelta(days=3), days=2)
    with translation.override("en"), pytest.raises(ValidationFailed) as caught:
        services.absence_create(
            actor=org.manager,
            user=org.manager,
            kind="vacation",
            starts_on=TODAY,
            ends_on=TODAY + dt.timedelta(days=6),
            substitute=org.colleague,
        )
    assert list(caught.value.field_errors) == ["substitute_id"]
    assert "away" in caught.value.field_errors["substitute_id"][0]
    assert Absence.objects.filter(user=org.manager).count() == 0


def test_other_refusals(org):
    cases = [
        ({"kind": "holiday"}, "kind"),
        ({"ends_on": TODAY - dt.timedelta(days=1)}, "ends_on"),
        ({"ends_on": TODAY + dt.timedelta(days=400)}, "ends_on"),
        ({"substitute": org.manager}, "substitute_id"),
        ({"substitute": org.viewer}, "substitute_id"),
    ]
    for change, field in cases:
        data = {"kind": "trip", "starts_on": TODAY, "ends_on": TODAY, **change}
        with pytest.raises(ValidationFailed) as caught:
            services.absence_create(actor=org.manager, user=org.manager, **data)
        assert field in caught.value.field_errors, change
    make_absence(org.manager, starts_on=TODAY, days=2)
    with pytest.raises(ValidationFailed) as caught:
        services.absence_create(
            actor=org.manager, user=org.manager, kind="trip", starts_on=TODAY, ends_on=TODAY
        )
    assert "starts_on" in caught.value.field_errors


def test_the_substitute_sees_and_works_the_absent_users_records_only_while_away(org):
    contact = make_contact(org.manager, first_name="Пётр", last_name="Клиентов")
    visible = lambda user: Contact.objects.visible_to(_fresh(user)).filter(pk=contact.pk).exists()  # noqa: E731
    assert not visible(org.colleague)
    today = timezone.localdate()
    absence = make_absence(org.manager, starts_on=today, days=2, substitute=org.colleague)
    assert visible(org.colleague)
    assert org.manager.pk in CUSTOMER.owner_ids(_fresh(org.colleague))
    # Ended (yesterday was the last day): the access is gone by itself.
    absence.starts_on = today - dt.timedelta(days=5)
    absence.ends_on = today - dt.timedelta(days=1)
    absence.save()
    assert not visible(org.colleague)


def test_cancelling_ends_the_access_at_once_and_keeps_the_record(org):
    today = timezone.localdate()
    absence = services.absence_create(
        actor=org.manager, user=org.manager, kind="trip", starts_on=today, ends_on=today,
        substitute=org.colleague,
    )  # fmt: skip
    assert org.manager.pk in CUSTOMER.owner_ids(_fresh(org.colleague))
    services.absence_cancel(actor=org.manager, pk=absence.pk)
    assert org.manager.pk not in CUSTOMER.owner_ids(_fresh(org.colleague))
    absence.refresh_from_db()
    assert absence.cancelled_by == org.manager
    with pytest.raises(ValidationFailed):
        services.absence_cancel(actor=org.manager, pk=absence.pk)


def test_substitutes_on(org):
    make_absence(org.manager, starts_on=TODAY, days=2, substitute=org.colleague)
    make_absence(org.outsider, starts_on=TODAY, days=2)
    assert services.substitutes_on(
        day=TODAY, user_ids=[org.manager.pk, org.outsider.pk, org.head.pk]
    ) == {org.manager.pk: org.colleague}


def test_a_substitute_away_until_further_notice_is_refused(org):
    # The profile's away dates with no end: ``users_away`` counts them away from then on.
    org.colleague.away_from, org.colleague.away_until = TODAY - dt.timedelta(days=30), None
    org.colleague.save()
    assert org.colleague.pk in services.users_away(TODAY + dt.timedelta(days=100))
    with pytest.raises(ValidationFailed) as caught:
        services.absence_create(
            actor=org.manager, user=org.manager, kind="vacation", starts_on=TODAY,
            ends_on=TODAY + dt.timedelta(days=2), substitute=org.colleague,
        )  # fmt: skip
    assert list(caught.value.field_errors) == ["substitute_id"]
    assert not Absence.objects.exists()
    # Before the away date they may still cover.
    org.colleague.away_from = TODAY + dt.timedelta(days=3)
    org.colleague.save()
    services.absence_create(
        actor=org.manager, user=org.manager, kind="vacation", starts_on=TODAY,
        ends_on=TODAY + dt.timedelta(days=2), substitute=org.colleague,
    )  # fmt: skip


def test_the_grant_and_its_end_are_recorded(org, caplog):
    with caplog.at_level("INFO", logger="crm.security"):
        absence = services.absence_create(
            actor=org.head, user=org.manager, kind="sick", starts_on=timezone.localdate(),
            ends_on=timezone.localdate(), substitute=org.colleague,
        )  # fmt: skip
        services.absence_cancel(actor=org.head, pk=absence.pk)
    granted, revoked = (r.getMessage() for r in caplog.records if r.name == "crm.security")
    assert granted.startswith("cover_granted") and f"substitute={org.colleague.pk}" in granted
    assert f"user={org.manager.pk}" in granted and f"by={org.head.pk}" in granted
    assert revoked.startswith("cover_revoked")
    absence.refresh_from_db()
    assert (absence.created_by, absence.cancelled_by) == (org.head, org.head)


def test_a_substitute_going_away_during_the_cover_is_recorded_and_the_gap_reported(org):
    cover = make_absence(org.manager, starts_on=TODAY, days=10, substitute=org.colleague)
    make_absence(org.outsider, starts_on=TODAY + dt.timedelta(days=30), substitute=org.colleague)
    sick = services.absence_create(
        actor=org.colleague,
        user=org.colleague,
        kind="sick",
        starts_on=TODAY + dt.timedelta(days=3),
        ends_on=TODAY + dt.timedelta(days=4),
    )
    assert sick.pk  # sick leave is never refused for a cover
    told = Notification.objects.filter(dedupe_key=f"cover-lost:{cover.pk}:{sick.pk}")
    assert sorted(note.recipient_id for note in told) == sorted([org.manager.pk, org.head.pk])
    assert all(str(org.colleague) in note.title for note in told)
    # the outsider's later cover is untouched by these dates: nobody there is told
    assert Notification.objects.filter(dedupe_key__startswith="cover-lost:").count() == 2
