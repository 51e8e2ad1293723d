"""The registry of record kinds: what registering keeps and replaces, and how kinds and
contributions are found."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group, Permission

from crm.core.policies import AdminOnlyPolicy
from crm.core.records import (
    CardPanel,
    CoverLookup,
    DaySection,
    MergeMover,
    OwnerMover,
    RecordKind,
    Registry,
    Sweep,
    registry,
)

POLICY = AdminOnlyPolicy("no")


def _kind(key: str = "group", **fields) -> RecordKind:
    fields.setdefault("model", Group)
    fields.setdefault("plural_label", f"{key}s")
    return RecordKind(key=key, policy=POLICY, label=key, url=lambda r: "/", **fields)


def test_kinds_are_found_by_key_label_model_name_and_model():
    # given
    kinds = Registry()
    kinds.add(_kind("team"), _kind("perm", model=Permission, has_tasks=True))
    # then
    assert [kind.key for kind in kinds.kinds()] == ["team", "perm"]
    assert kinds.kind("team").model is Group
    assert kinds.find("auth.group") is kinds.find("group") is kinds.kind("team")
    assert kinds.kind_for(Permission) is kinds.kind("perm")
    assert [kind.key for kind in kinds.task_subjects()] == ["perm"]
    assert kinds.find("nothing") is None
    with pytest.raises(LookupError):
        kinds.kind("nothing")


def test_registering_again_replaces_instead_of_adding():
    # given a registry with one of each contribution
    kinds = Registry()

    def contributions(marker: str) -> list:
        return [
            _kind("team", plural_label=marker),
            CardPanel("team", "deals", lambda request, record: (marker, {})),
            MergeMover("team", "deals", lambda *args: [], lambda *args: None),
            Sweep("sweep", 60, lambda: marker),
            DaySection("leads", marker, lambda user: []),
            CoverLookup("cover", lambda ids: {}),
        ]

    kinds.add(*contributions("first"))
    # when the same app registers again
    kinds.add(*contributions("second"))
    # then each contribution is there once, the later one
    assert kinds.kind("team").plural_label == "second"
    assert [panel.build(None, None)[0] for panel in kinds.panels("team")] == ["second"]
    assert len(kinds.movers("team")) == 1
    assert kinds.sweeps["sweep"].run() == "second"
    assert kinds.day_sections["leads"].title == "second"
    assert list(kinds.cover_lookups) == ["cover"]
    # and other kinds have no panels or movers
    assert kinds.panels("other") == [] and kinds.movers("other") == []


def test_anything_else_is_refused():
    with pytest.raises(TypeError):
        Registry().add("contact")  # type: ignore[arg-type]


def test_a_kind_without_a_timeline_has_no_history(db):
    assert _kind().history(Group(pk=1), None, 5) == []


def test_the_apps_registered_their_kinds_and_the_kernel_its_sweep():
    assert {kind.key for kind in registry.kinds()} == {"contact", "company", "deal", "lead", "task"}
    assert [kind.key for kind in registry.with_timeline()] == ["contact", "company", "deal", "lead"]
    assert [mover.name for mover in registry.movers("contact")] == ["timeline", "tasks", "deals"]
    assert [panel.name for panel in registry.panels("company")] == [
        "deals",
        "leads",
        "email",
        "sms",
    ]
    assert "core.counters" in registry.sweeps
    # a mailing's replies and bounces are claimed before a card e-mail's
    assert list(registry.thread_finders) == ["mailings.threads", "correspondence.threads"]


def test_owner_movers_replace_by_kind_and_come_in_their_order():
    reg = Registry()
    late = OwnerMover("late", lambda user_id: None, lambda ids, a, b: 0, order=20)
    early = OwnerMover("early", lambda user_id: None, lambda ids, a, b: 0, order=10)
    reg.add(late, early, OwnerMover("late", late.owned, late.move, order=5))
    assert [(mover.kind, mover.order) for mover in reg.owner_movers()] == [
        ("late", 5),
        ("early", 10),
    ]


def test_every_kind_with_an_owner_hands_over():
    """The handover moves, clients first, every kind a leaving user may own."""
    assert [mover.kind for mover in registry.owner_movers()] == [
        "company",
        "contact",
        "deal",
        "lead",
        "task",
    ]
    assert {mover.kind for mover in registry.owner_movers()} <= {k.key for k in registry.kinds()}
