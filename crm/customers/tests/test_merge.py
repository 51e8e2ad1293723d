"""Merging two records with chosen values, the extension point for other apps, and undo."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.utils import translation

from crm.activities.choices import EntryKind
from crm.activities.models import TimelineEntry
from crm.activities.selectors import timeline_for
from crm.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from crm.core.records import MergeMover, registry
from crm.customers.choices import DuplicateStatus, Entity
from crm.customers.models import (
    Company,
    Contact,
    CustomField,
    DuplicatePair,
    Employment,
    MatchKey,
    MergeRecord,
)
from crm.customers.services import (
    company_merge,
    contact_merge,
    customer_share,
    customer_timeline_add,
    duplicates_scan,
    merge_undo,
)
from crm.customers.tests.factories import make_company, make_contact


def _planted(org) -> tuple[Contact, Contact, Company, Company]:
    CustomField.objects.create(
        entity=Entity.CONTACT, key="budget", label="Бюджет", field_type="text"
    )
    CustomField.objects.create(entity=Entity.CONTACT, key="city", label="Город", field_type="text")
    works, other = (
        make_company(org.manager, legal_name="Альфа"),
        make_company(org.manager, legal_name="Бета"),
    )
    survivor = make_contact(
        org.manager,
        last_name="Иванов",
        first_name="Иван",
        phones=["+7 916 123-45-67"],
        emails=["ivan@example.com"],
        addresses=[{"kind": "actual", "text": "Москва, Тверская 1"}],
        tags=["VIP"],
        employments=[{"company_id": works.pk, "position": "директор"}],
        custom={"budget": "100"},
        notes="старые заметки",
    )
    merged = make_contact(
        org.manager,
        last_name="Иванов",
        first_name="Иван",
        middle_name="Петрович",
        birthday="1980-05-17",
        phones=["8 (916) 123 45 67", "+7 903 000-00-01"],
        emails=["ivanov@work.example"],
        addresses=[{"kind": "home", "text": "Тула, Ленина 5"}],
        tags=["Опт", "VIP"],
        employments=[
            {"company_id": works.pk, "position": "инженер"},
            {"company_id": other.pk, "position": "консультант"},
        ],
        custom={"budget": "500", "city": "Тула"},
        notes="новые заметки",
    )
    customer_timeline_add(actor=org.manager, record=merged, kind=EntryKind.NOTE, body="звонил")
    customer_share(actor=org.manager, record=merged, user_ids=[org.colleague.pk])
    return survivor, merged, works, other


def _timeline_ids(record: Contact | Company, *, include_merge: bool = False) -> list[int]:
    entries = timeline_for(subjects=[(type(record), [record.pk])])
    if not include_merge:
        entries = entries.exclude(kind=EntryKind.MERGE)
    return sorted(entries.values_list("id", flat=True))


def _state(record: Contact | Company) -> dict[str, Any]:
    """Everything a merge touches, in comparable form."""
    model = type(record)
    fresh = model.objects.get(pk=record.pk)
    owner = "contact" if model is Contact else "company"
    return {
        "fields": {
            f.attname: getattr(fresh, f.attname)
            for f in model._meta.concrete_fields
            # Moved by every write: the undo's own timeline entries touch both records.
            if f.attname not in {"updated_at", "last_touch_at"}
        },
        "points": sorted(
            (p.kind, p.value, p.label, p.messenger, p.is_primary, p.position)
            for p in fresh.points.all()
        ),
        "point_ids": sorted(fresh.points.values_list("id", flat=True)),
        "addresses": sorted((a.kind, a.text) for a in fresh.addresses.all()),
        "employments": sorted(
            Employment.objects.filter(**{owner: fresh}).values_list(
                "contact_id", "company_id", "position", "is_primary"
            )
        ),
        "tags": sorted(fresh.tags.values_list("name", flat=True)),
        "shared_with": sorted(fresh.shared_with.values_list("id", flat=True)),
        "match_keys": sorted(
            MatchKey.objects.filter(**{owner: fresh}).values_list("key", flat=True)
        ),
        "timeline": _timeline_ids(fresh),
    }


def test_merge_moves_details_places_of_work_tags_and_timeline(org):
    # given
    survivor, merged, works, other = _planted(org)
    merged_entries = _timeline_ids(merged)
    # when
    merge = contact_merge(actor=org.manager, survivor=survivor, merged=merged, choices={})
    # then
    survivor.refresh_from_db()
    merged.refresh_from_db()
    assert merged.merged_into == survivor
    assert not Contact.objects.live().filter(pk=merged.pk).exists()
    assert sorted(survivor.points.values_list("value", flat=True)) == [
        "+79030000001",
        "+79161234567",
        "ivan@example.com",
        "ivanov@work.example",
    ]
    assert not merged.points.exists()
    assert sorted(survivor.addresses.values_list("text", flat=True)) == [
        "Москва, Тверская 1",
        "Тула, Ленина 5",
    ]
    assert sorted(survivor.employments.values_list("company_id", "position")) == sorted(
        [(works.pk, "директор"), (other.pk, "консультант")]
    )
    assert survivor.employments.filter(is_primary=True).count() == 1
    assert sorted(survivor.tags.values_list("name", flat=True)) == ["VIP", "Опт"]
    assert list(survivor.shared_with.all()) == [org.colleague]
    assert set(merged_entries) <= set(_timeline_ids(survivor))
    assert _timeline_ids(merged, include_merge=True) == []
    entry = TimelineEntry.objects.get(kind=EntryKind.MERGE, subject_id=survivor.pk)
    assert entry.data["merge_id"] == merge.pk
    assert entry.data["merged"]["id"] == merged.pk
    assert "ivanov work example" in survivor.search_text
    assert not MatchKey.objects.filter(contact=merged).exists()
    assert MergeRecord.objects.get().contact_merged == merged


def test_merge_takes_chosen_values_and_fills_empty_ones(org):
    # given
    survivor, merged, _works, _other = _planted(org)
    # when
    contact_merge(
        actor=org.manager,
        survivor=survivor,
        merged=merged,
        choices={"notes": "merged", "custom.budget": "survivor", "custom.city": "survivor"},
    )
    # then
    survivor.refresh_from_db()
    assert survivor.notes == "новые заметки"
    assert survivor.middle_name == "Петрович"
    assert survivor.birthday == dt.date(1980, 5, 17)
    assert survivor.custom == {"budget": "100"}
    entry = TimelineEntry.objects.get(kind=EntryKind.MERGE, subject_id=survivor.pk)
    assert set(entry.data["fields_taken"]) == {"notes", "middle_name", "birthday"}


def test_merge_refuses_unknown_field_choice_and_changes_nothing(org):
    # given
    survivor, merged, _works, _other = _planted(org)
    before = (_state(survivor), _state(merged))
    # when / then
    with pytest.raises(ValidationFailed):
        contact_merge(
            actor=org.manager, survivor=survivor, merged=merged, choices={"password": "merged"}
        )
    assert (_state(survivor), _state(merged)) == before


def test_merge_is_refused_for_a_viewer_and_changes_nothing(org):
    # given
    survivor, merged, _works, _other = _planted(org)
    before = (_state(survivor), _state(merged))
    # when / then
    with pytest.raises(PermissionDenied):
        contact_merge(actor=org.viewer, survivor=survivor, merged=merged, choices={})
    assert (_state(survivor), _state(merged)) == before
    assert not MergeRecord.objects.exists()


def test_merge_with_an_invisible_record_is_not_found_and_changes_nothing(org):
    # given the outsider's contact, invisible to the manager
    mine = make_contact(org.manager, last_name="Иванов", first_name="Иван")
    theirs = make_contact(org.outsider, last_name="Иванов", first_name="Иван")
    before = (_state(mine), _state(theirs))
    # when / then
    with pytest.raises(NotFound):
        contact_merge(actor=org.manager, survivor=mine, merged=theirs, choices={})
    assert (_state(mine), _state(theirs)) == before


def test_merge_with_itself_is_refused(org):
    contact = make_contact(org.manager)
    with pytest.raises(ValidationFailed):
        contact_merge(actor=org.manager, survivor=contact, merged=contact, choices={})


def test_undo_restores_both_records_exactly(org):
    # given a merge that took values and moved everything
    survivor, merged, _works, _other = _planted(org)
    before = (_state(survivor), _state(merged))
    merge = contact_merge(
        actor=org.manager, survivor=survivor, merged=merged, choices={"notes": "merged"}
    )
    # when
    merge_undo(actor=org.manager, merge=merge)
    # then
    after = (_state(survivor), _state(merged))
    for key in ("fields", "points", "addresses", "employments", "tags", "shared_with"):
        assert after[0][key] == before[0][key], key
        assert after[1][key] == before[1][key], key
    assert after[0]["match_keys"] == before[0]["match_keys"]
    assert after[1]["match_keys"] == before[1]["match_keys"]
    assert after[0]["timeline"] == before[0]["timeline"]
    assert after[1]["timeline"] == before[1]["timeline"]
    assert after[0]["point_ids"] == before[0]["point_ids"]
    merge.refresh_from_db()
    assert merge.undone_by == org.manager
    assert TimelineEntry.objects.filter(kind=EntryKind.MERGE, subject_id=merged.pk).count() == 1
    assert TimelineEntry.objects.filter(kind=EntryKind.MERGE, subject_id=survivor.pk).count() == 2


def test_undo_is_refused_the_second_time(org):
    # given
    survivor, merged, _works, _other = _planted(org)
    merge = contact_merge(actor=org.manager, survivor=survivor, merged=merged, choices={})
    merge_undo(actor=org.manager, merge=merge)
    state = (_state(survivor), _state(merged))
    # when / then
    with translation.override("en"), pytest.raises(Conflict, match="already"):
        merge_undo(actor=org.manager, merge=merge)
    assert (_state(survivor), _state(merged)) == state


def test_undo_is_refused_when_the_survivor_was_merged_later(org):
    # given A ← B, then C ← A
    first = make_contact(org.manager, last_name="Иванов", first_name="Иван")
    second = make_contact(org.manager, last_name="Иванов", first_name="Иван")
    third = make_contact(org.manager, last_name="Иванов", first_name="Иван")
    earlier = contact_merge(actor=org.manager, survivor=first, merged=second, choices={})
    contact_merge(actor=org.manager, survivor=third, merged=first, choices={})
    # when / then
    with translation.override("en"), pytest.raises(Conflict, match="merged into another record"):
        merge_undo(actor=org.manager, merge=earlier)


def test_undo_permissions(org):
    # given a merge by the manager of a record shared with a colleague
    first = make_contact(org.manager, last_name="Иванов", first_name="Иван")
    second = make_contact(org.manager, last_name="Иванов", first_name="Иван")
    customer_share(actor=org.manager, record=first, user_ids=[org.colleague.pk])
    merge = contact_merge(actor=org.manager, survivor=first, merged=second, choices={})
    # then a colleague who sees it may not undo, the outsider does not see it, a viewer may not
    with pytest.raises(PermissionDenied):
        merge_undo(actor=org.colleague, merge=merge)
    with pytest.raises(NotFound):
        merge_undo(actor=org.outsider, merge=merge)
    with pytest.raises(PermissionDenied):
        merge_undo(actor=org.viewer, merge=merge)
    # and the head of the owner's team may
    merge_undo(actor=org.head, merge=merge)
    assert Contact.objects.live().filter(pk=second.pk).exists()


def test_company_merge_moves_people_and_undo_moves_them_back(org):
    # given two companies, a person at each and one person at both
    survivor = make_company(org.manager, legal_name="Ромашка", legal_form="ООО")
    merged = make_company(
        org.manager, legal_name="Romashka", legal_form="LLC", phones=["+74950000001"]
    )
    only_merged = make_contact(
        org.manager,
        first_name="Анна",
        employments=[{"company_id": merged.pk, "position": "бухгалтер"}],
    )
    both = make_contact(
        org.manager,
        first_name="Олег",
        employments=[{"company_id": survivor.pk}, {"company_id": merged.pk}],
    )
    before = (_state(survivor), _state(merged))
    # when
    merge = company_merge(actor=org.manager, survivor=survivor, merged=merged, choices={})
    # then
    assert set(survivor.employments.values_list("contact_id", flat=True)) == {
        only_merged.pk,
        both.pk,
    }
    assert survivor.points.get().value == "+74950000001"
    # and when undone
    merge_undo(actor=org.manager, merge=merge)
    after = (_state(survivor), _state(merged))
    for key in ("fields", "points", "employments", "timeline", "match_keys"):
        assert after[0][key] == before[0][key], key
        assert after[1][key] == before[1][key], key


def test_merge_moves_duplicate_pairs_and_undo_restores_them(org):
    # given three alike contacts and a scan
    first = make_contact(org.manager, last_name="Иванов", first_name="Иван")
    second = make_contact(org.manager, last_name="Ivanov", first_name="Ivan")
    third = make_contact(org.manager, last_name="Иванов", first_name="Иван", middle_name="П")
    duplicates_scan(entity=Entity.CONTACT)
    before = sorted(
        DuplicatePair.objects.values_list("id", "contact_a_id", "contact_b_id", "status")
    )
    # when
    merge = contact_merge(actor=org.manager, survivor=first, merged=second, choices={})
    # then the pair of the two is merged, no open pair names the merged record
    pair = DuplicatePair.objects.get(contact_a=first, contact_b=second)
    assert pair.status == DuplicateStatus.MERGED
    assert not DuplicatePair.objects.filter(status=DuplicateStatus.OPEN, contact_b=second).exists()
    assert DuplicatePair.objects.filter(contact_a=first, contact_b=third).exists()
    # and when undone
    merge_undo(actor=org.manager, merge=merge)
    after = sorted(
        DuplicatePair.objects.values_list("id", "contact_a_id", "contact_b_id", "status")
    )
    assert after == before


def test_registered_movers_run_on_merge_and_undo(org, monkeypatch):
    # given another app's mover
    calls: list[tuple] = []

    def move(model, from_id, to_id):
        calls.append(("move", model, from_id, to_id))
        return [41, 42]

    def move_back(model, ids, to_id):
        calls.append(("back", model, ids, to_id))

    registered = registry.movers
    monkeypatch.setattr(
        registry,
        "movers",
        lambda kind: [*registered(kind), MergeMover(kind, "deals", move, move_back)],
    )
    first, second = make_contact(org.manager), make_contact(org.manager)
    # when
    merge = contact_merge(actor=org.manager, survivor=first, merged=second, choices={})
    merge_undo(actor=org.manager, merge=merge)
    # then
    assert calls == [
        ("move", Contact, second.pk, first.pk),
        ("back", Contact, [41, 42], second.pk),
    ]
    assert merge.snapshot["movers"]["deals"] == [41, 42]
