"""Timelines through the API: reading with a cursor and a kind filter, adding entries."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from crm.api.tests.conftest import ApiClient, token_for
from crm.customers.services import customer_timeline_add
from crm.customers.tests.factories import make_company, make_contact

pytestmark = pytest.mark.django_db


@pytest.fixture
def manager_api(org):
    return ApiClient(token_for(org.manager))


def test_add_a_note_and_read_it_back(manager_api, org):
    contact = make_contact(org.manager)

    created = manager_api.post(
        f"/contacts/{contact.pk}/timeline", {"kind": "note", "body": "<i>Перезвонить</i>"}
    )
    listed = manager_api.get(f"/contacts/{contact.pk}/timeline", kind="note")

    assert created.status_code == 201
    entry = created.json()
    assert entry["kind"] == "note"
    assert entry["body"] == "<i>Перезвонить</i>"
    assert entry["author"] == {"id": org.manager.pk, "name": str(org.manager)}
    assert entry["subject"] == "contact"
    assert entry["attachment"] is None
    assert [item["id"] for item in listed.json()["items"]] == [entry["id"]]


def test_add_a_call_with_direction_duration_and_time(manager_api, org):
    contact = make_contact(org.manager)

    response = manager_api.post(
        f"/contacts/{contact.pk}/timeline",
        {
            "kind": "call",
            "title": "Входящий",
            "direction": "incoming",
            "duration_seconds": 95,
            "occurred_at": "2025-03-01T12:30:00+03:00",
        },
    )

    assert response.status_code == 201
    entry = response.json()
    assert (entry["direction"], entry["duration_seconds"]) == ("incoming", 95)
    assert entry["occurred_at"].startswith("2025-03-01T12:30:00")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"kind": "note", "body": ""}, "body"),
        ({"kind": "file", "body": "x"}, "kind"),
        ({"kind": "merge", "body": "x"}, "kind"),
        ({"kind": "call", "direction": "sideways"}, "direction"),
        ({"kind": "call", "duration_seconds": -5}, "duration_seconds"),
        ({"kind": "call", "duration_seconds": 10**12}, "duration_seconds"),
        ({"kind": "note", "body": "x", "occurred_at": "вчера"}, "occurred_at"),
        ({"kind": "note", "body": "x", "occurred_at": "0001-01-01T00:00:00+05:00"}, "occurred_at"),
        ({"kind": "note", "body": "x" * 20001}, "body"),
        ({"kind": "note", "title": "x" * 301, "body": "x"}, "title"),
        ({"body": "x"}, "kind"),
    ],
)
def test_bad_entries_are_422_naming_the_field(manager_api, org, body, field):
    contact = make_contact(org.manager)

    response = manager_api.post(f"/contacts/{contact.pk}/timeline", body)

    assert response.status_code == 422, response.content
    assert field in response.json()["errors"]


def test_company_timeline_includes_its_peoples_entries(manager_api, org):
    company = make_company(org.manager)
    person = make_contact(
        org.manager, employments=[{"company_id": company.pk, "position": "Директор"}]
    )
    manager_api.post(f"/contacts/{person.pk}/timeline", {"kind": "note", "body": "Лично"})
    manager_api.post(f"/companies/{company.pk}/timeline", {"kind": "meeting", "title": "Встреча"})

    items = manager_api.get(f"/companies/{company.pk}/timeline", kind=["note", "meeting"]).json()[
        "items"
    ]

    assert [(item["kind"], item["subject"]) for item in items] == [
        ("meeting", "company"),
        ("note", "contact"),
    ]


def test_timeline_pages_walk_every_entry_once(manager_api, org):
    contact = make_contact(org.manager)
    for index in range(11):
        manager_api.post(f"/contacts/{contact.pk}/timeline", {"kind": "note", "body": f"№{index}"})

    seen, cursor = [], None
    while True:
        params = {"limit": 4, **({"cursor": cursor} if cursor else {})}
        page = manager_api.get(f"/contacts/{contact.pk}/timeline", **params).json()
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break

    assert len(seen) == len(set(seen)) == 12  # 11 notes and "created"


def test_attachment_comes_with_a_download_link(manager_api, org):
    contact = make_contact(org.manager)
    upload = SimpleUploadedFile("отчёт.txt", "Привет, мир".encode(), content_type="text/plain")
    customer_timeline_add(actor=org.manager, record=contact, kind="file", upload=upload)

    items = manager_api.get(f"/contacts/{contact.pk}/timeline", kind="file").json()["items"]

    attachment = items[0]["attachment"]
    assert attachment["name"] == "отчёт.txt"
    assert attachment["size"] > 0
    assert attachment["url"] in (None, f"/customers/files/{attachment['id']}/")
