"""Recording on the timeline: entries, field changes, manual-entry checks, moves."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from crm.accounts.models import Team
from crm.accounts.tests.factories import TeamFactory
from crm.activities.models import Attachment, TimelineEntry
from crm.activities.selectors import timeline_for
from crm.activities.services import (
    attachment_store,
    timeline_entry_validate,
    timeline_move,
    timeline_move_back,
    timeline_record,
    timeline_record_changes,
)
from crm.activities.uploads import FileRejected
from crm.core.errors import ValidationFailed

# This app knows no domain model, so any model serves as a subject; teams are at hand.


def test_record_and_read_back_newest_first(org):
    subject, other = TeamFactory(), TeamFactory()
    first = timeline_record(subject=subject, kind="note", author=org.manager, body="1")
    second = timeline_record(subject=subject, kind="note", author=org.manager, body="2")
    timeline_record(subject=other, kind="note", author=org.manager, body="elsewhere")
    timeline_record(subject=subject, kind="system", title="not a note")
    entries = list(timeline_for(subjects=[(Team, [subject.pk])], kinds=["note"]))
    assert entries == [second, first]


def test_a_long_title_is_cut_to_the_column_size(org):
    entry = timeline_record(subject=TeamFactory(), kind="system", title="x" * 400)
    assert len(entry.title) == 300


def test_no_changes_record_nothing(org):
    before = TimelineEntry.objects.count()
    assert timeline_record_changes(subject=TeamFactory(), author=org.manager, changes=[]) is None
    assert TimelineEntry.objects.count() == before


@pytest.mark.parametrize(
    ("arguments", "field"),
    [
        ({"kind": "field_change", "title": "", "body": "x"}, "kind"),
        ({"kind": "note", "title": "", "body": " "}, "body"),
        ({"kind": "email", "title": "x" * 301, "body": ""}, "title"),
        ({"kind": "note", "title": "", "body": "x" * 20001}, "body"),
        ({"kind": "call", "title": "", "body": "", "direction": "sideways"}, "direction"),
        ({"kind": "call", "title": "", "body": "", "duration_seconds": 86401}, "duration_seconds"),
    ],
)
def test_manual_entries_are_checked_naming_the_field(arguments, field):
    with pytest.raises(ValidationFailed) as refused:
        timeline_entry_validate(**arguments)
    assert field in refused.value.field_errors


def test_a_refused_file_stores_nothing(org):
    upload = SimpleUploadedFile("a.pdf", b"MZ" + b"\x00" * 64)
    with pytest.raises(FileRejected):
        attachment_store(upload=upload, author=org.manager)
    assert Attachment.objects.count() == 0


def test_move_and_move_back(org):
    one, two = TeamFactory(), TeamFactory()
    note = timeline_record(subject=one, kind="note", body="x")
    moved = timeline_move(model=Team, from_id=one.pk, to_id=two.pk)
    assert note.pk in moved
    note.refresh_from_db()
    assert note.subject_id == two.pk
    timeline_move_back(entry_ids=moved, to_id=one.pk)
    note.refresh_from_db()
    assert note.subject_id == one.pk
