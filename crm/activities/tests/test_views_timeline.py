"""The timeline on contact and company cards: adding entries, paging, filters and files."""

from __future__ import annotations

import datetime as dt
import struct
import zlib

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from conftest import client_for
from crm.activities.models import Attachment, TimelineEntry
from crm.activities.services import timeline_record
from crm.activities.views import PAGE_SIZE
from crm.customers.services import contact_update, customer_timeline_add
from crm.customers.tests.factories import make_company, make_contact

HTMX = {"HTTP_HX_REQUEST": "true"}
PDF = (
    b"%PDF-1.4\n1 0 obj <</Type /Catalog /Pages 2 0 R>> endobj\n"
    b"2 0 obj <</Type /Pages /Kids [] /Count 0>> endobj\n"
    b"trailer <</Root 1 0 R>>\n%%EOF\n"
)


def _png() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00\xff\x00\x00")
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


def _add_url(record, entity: str = "contact") -> str:
    return reverse("activities:timeline_add", args=[entity, record.pk])


def _page_url(record, entity: str = "contact") -> str:
    return reverse("activities:timeline_page", args=[entity, record.pk])


def _entries(record) -> list[TimelineEntry]:
    return list(
        TimelineEntry.objects.filter(
            subject_id=record.pk, subject_type__model=record._meta.model_name
        )
        .exclude(kind="created")
        .order_by("-id")
    )


# --- adding entries ---------------------------------------------------------------------------


def test_manager_adds_a_note_and_gets_the_timeline_with_it_on_top(org):
    # given a contact of the manager with an older note
    contact = make_contact(org.manager)
    customer_timeline_add(actor=org.manager, record=contact, kind="note", body="Старая заметка")
    # when the manager adds a note through HTMX
    response = client_for(org.manager).post(
        _add_url(contact), {"kind": "note", "body": "Перезвонить\nв пятницу"}, **HTMX
    )
    # then the refreshed timeline comes back with the new note first, line breaks kept
    assert response.status_code == 200
    html = response.content.decode()
    assert f'id="tl-contact-{contact.pk}"' in html
    assert html.index("Перезвонить<br>в пятницу") < html.index("Старая заметка")
    entry = _entries(contact)[0]
    assert (entry.kind, entry.body, entry.author) == ("note", "Перезвонить\nв пятницу", org.manager)


def test_adding_a_call_stores_direction_and_duration_in_seconds(org):
    # given a contact
    contact = make_contact(org.manager)
    # when a call of 5 minutes is logged
    response = client_for(org.manager).post(
        _add_url(contact),
        {"kind": "call", "direction": "incoming", "duration": "5", "body": "Договорились"},
        **HTMX,
    )
    # then it is stored and shown with its direction and duration
    assert response.status_code == 200
    entry = _entries(contact)[0]
    assert (entry.kind, entry.direction, entry.duration_seconds) == ("call", "incoming", 300)
    html = response.content.decode()
    assert "Договорились" in html
    assert "5 min" in html or "5 мин" in html


def test_adding_an_email_keeps_subject_and_text(org):
    contact = make_contact(org.manager)
    response = client_for(org.manager).post(
        _add_url(contact),
        {"kind": "email", "title": "Коммерческое предложение", "body": "Добрый день"},
        **HTMX,
    )
    assert response.status_code == 200
    entry = _entries(contact)[0]
    assert (entry.kind, entry.title, entry.body) == (
        "email",
        "Коммерческое предложение",
        "Добрый день",
    )


def test_adding_a_meeting_uses_the_given_time_in_the_local_zone(org):
    contact = make_contact(org.manager)
    response = client_for(org.manager).post(
        _add_url(contact),
        {"kind": "meeting", "title": "Встреча в офисе", "occurred_at": "2030-03-15T14:30"},
        **HTMX,
    )
    assert response.status_code == 200
    entry = _entries(contact)[0]
    assert entry.kind == "meeting"
    assert timezone.localtime(entry.occurred_at).replace(tzinfo=None) == dt.datetime(
        2030, 3, 15, 14, 30
    )


def test_fields_of_other_kinds_are_ignored(org):
    # given a note posted with a call direction and a title left in the form
    contact = make_contact(org.manager)
    client_for(org.manager).post(
        _add_url(contact),
        {"kind": "note", "body": "Текст", "direction": "missed", "title": "x", "duration": "3"},
        **HTMX,
    )
    # then the note carries none of them
    entry = _entries(contact)[0]
    assert (entry.direction, entry.title, entry.duration_seconds) == ("", "", None)


def test_adding_to_a_company_timeline(org):
    company = make_company(org.manager)
    response = client_for(org.manager).post(
        _add_url(company, "company"), {"kind": "note", "body": "О компании"}, **HTMX
    )
    assert response.status_code == 200
    assert _entries(company)[0].body == "О компании"


def test_without_javascript_a_post_redirects_to_the_card(org):
    contact = make_contact(org.manager)
    response = client_for(org.manager).post(_add_url(contact), {"kind": "note", "body": "Без JS"})
    assert response.status_code == 302
    assert response["Location"] == reverse("customers:contact_detail", args=[contact.pk])


def test_an_empty_note_is_refused_with_the_field_named(org):
    # given a contact
    contact = make_contact(org.manager)
    # when an empty note is posted
    response = client_for(org.manager).post(
        _add_url(contact), {"kind": "note", "body": "  "}, **HTMX
    )
    # then the form comes back with the error on the text and nothing is added
    assert response.status_code == 422
    assert "is-invalid" in response.content.decode()
    assert _entries(contact) == []


def test_an_unknown_kind_is_refused(org):
    contact = make_contact(org.manager)
    response = client_for(org.manager).post(
        _add_url(contact), {"kind": "field_change", "body": "x"}, **HTMX
    )
    assert response.status_code == 422
    assert _entries(contact) == []


def test_a_bad_duration_is_refused(org):
    contact = make_contact(org.manager)
    response = client_for(org.manager).post(
        _add_url(contact), {"kind": "call", "duration": "пять"}, **HTMX
    )
    assert response.status_code == 422
    assert _entries(contact) == []


def test_a_read_only_user_may_not_add(org):
    # given a contact the viewer may see
    contact = make_contact(org.manager)
    # when the viewer posts a note
    response = client_for(org.viewer).post(_add_url(contact), {"kind": "note", "body": "x"}, **HTMX)
    # then it is forbidden and nothing is added
    assert response.status_code == 403
    assert _entries(contact) == []


def test_a_user_who_may_not_see_the_record_gets_404(org):
    contact = make_contact(org.manager)
    response = client_for(org.outsider).post(
        _add_url(contact), {"kind": "note", "body": "x"}, **HTMX
    )
    assert response.status_code == 404
    assert _entries(contact) == []


def test_anonymous_is_sent_to_sign_in(org):
    contact = make_contact(org.manager)
    response = client_for(None).post(_add_url(contact), {"kind": "note", "body": "x"})
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


def test_an_unknown_entity_is_404(org):
    contact = make_contact(org.manager)
    client = client_for(org.admin)
    assert (
        client.get(reverse("activities:timeline_page", args=["deal", contact.pk])).status_code
        == 404
    )
    response = client.post(reverse("activities:timeline_add", args=["deal", contact.pk]), {})
    assert response.status_code == 404


def test_the_add_form_is_shown_only_to_users_who_may_write(org):
    contact = make_contact(org.manager)
    writer = client_for(org.manager).get(_page_url(contact), **HTMX).content.decode()
    reader = client_for(org.viewer).get(_page_url(contact)).content.decode()
    assert "tl-feed-contact" in writer
    assert 'class="tl-form' not in writer  # the feed fragment carries no form
    assert 'class="tl-form' not in reader
    page = client_for(org.manager).get(_page_url(contact)).content.decode()
    assert 'class="tl-form' in page


def test_a_script_in_a_note_is_shown_escaped(org):
    # given a note with markup
    contact = make_contact(org.manager)
    response = client_for(org.manager).post(
        _add_url(contact), {"kind": "note", "body": "<script>alert(1)</script>"}, **HTMX
    )
    # then the markup is text, not a script
    html = response.content.decode()
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


# --- files ------------------------------------------------------------------------------------


def test_an_oversized_file_is_refused_with_413(org, settings):
    # given a limit of 1 KB
    settings.UPLOAD_MAX_BYTES = 1024
    contact = make_contact(org.manager)
    upload = SimpleUploadedFile("big.pdf", PDF + b"0" * 2048, content_type="application/pdf")
    # when a larger file is posted
    response = client_for(org.manager).post(
        _add_url(contact), {"kind": "file", "file": upload}, **HTMX
    )
    # then it is refused, the form names the file field, nothing is stored
    assert response.status_code == 413
    assert "is-invalid" in response.content.decode()
    assert Attachment.objects.count() == 0
    assert _entries(contact) == []


def test_a_png_renamed_to_pdf_is_refused_with_400_naming_the_file(org):
    contact = make_contact(org.manager)
    upload = SimpleUploadedFile("scan.pdf", _png(), content_type="application/pdf")
    response = client_for(org.manager).post(
        _add_url(contact), {"kind": "file", "file": upload}, **HTMX
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert "image/png" in html
    assert 'name="file"' in html and "is-invalid" in html
    assert Attachment.objects.count() == 0


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("setup.exe", b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + b"\x00" * 200),
        ("tool", b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 200),
        ("report.pdf", b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 200),
    ],
)
def test_executables_are_refused_with_400(org, name, content):
    contact = make_contact(org.manager)
    upload = SimpleUploadedFile(name, content, content_type="application/octet-stream")
    response = client_for(org.manager).post(
        _add_url(contact), {"kind": "file", "file": upload}, **HTMX
    )
    assert response.status_code == 400
    assert Attachment.objects.count() == 0
    assert _entries(contact) == []


def test_a_file_kind_without_a_file_is_refused(org):
    contact = make_contact(org.manager)
    response = client_for(org.manager).post(_add_url(contact), {"kind": "file"}, **HTMX)
    assert response.status_code == 422
    assert _entries(contact) == []


def test_a_pdf_is_accepted_and_downloaded_as_an_attachment(org):
    # given a PDF added to a contact's timeline
    contact = make_contact(org.manager)
    upload = SimpleUploadedFile("Договор №1.pdf", PDF, content_type="application/pdf")
    response = client_for(org.manager).post(
        _add_url(contact), {"kind": "file", "file": upload, "body": "Подписанный"}, **HTMX
    )
    assert response.status_code == 200
    attachment = Attachment.objects.get()
    url = reverse("activities:attachment_download", args=[attachment.pk])
    assert url in response.content.decode()
    assert attachment.content_type == "application/pdf"
    # when a colleague's head downloads it
    download = client_for(org.head).get(url)
    # then the bytes come as an attachment that no browser renders in the page's origin
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == PDF
    assert download["Content-Type"] == "application/pdf"
    assert download["Content-Disposition"].startswith("attachment;")
    assert "filename*=utf-8''" in download["Content-Disposition"]
    assert download["X-Content-Type-Options"] == "nosniff"
    assert download["Content-Security-Policy"] == "sandbox"


def test_a_text_file_is_served_as_opaque_bytes(org):
    contact = make_contact(org.manager)
    upload = SimpleUploadedFile(
        "notes.txt", "<html>привет</html>".encode(), content_type="text/html"
    )
    customer_timeline_add(actor=org.manager, record=contact, kind="file", upload=upload)
    attachment = Attachment.objects.get()
    download = client_for(org.manager).get(
        reverse("activities:attachment_download", args=[attachment.pk])
    )
    assert download.status_code == 200
    assert download["Content-Type"] == "application/octet-stream"
    assert download["Content-Disposition"].startswith("attachment;")


def test_a_file_is_404_for_users_who_see_no_timeline_holding_it(org):
    # given a file on the manager's contact
    contact = make_contact(org.manager)
    upload = SimpleUploadedFile("a.pdf", PDF, content_type="application/pdf")
    customer_timeline_add(actor=org.manager, record=contact, kind="file", upload=upload)
    url = reverse("activities:attachment_download", args=[Attachment.objects.get().pk])
    # then the outsider gets 404, anonymous goes to sign in, an unknown id is 404
    assert client_for(org.outsider).get(url).status_code == 404
    assert client_for(None).get(url).status_code == 302
    missing = reverse("activities:attachment_download", args=[999999])
    assert client_for(org.admin).get(missing).status_code == 404
    assert client_for(org.viewer).get(url).status_code == 200
    assert client_for(org.admin).get(url).status_code == 200


def test_a_file_on_a_company_is_downloadable_by_whoever_sees_the_company(org):
    # given a file on the outsider's company, shared with the manager
    from crm.customers.services import customer_share

    company = make_company(org.outsider, legal_name="Внешняя")
    customer_share(actor=org.outsider, record=company, user_ids=[org.manager.pk])
    upload = SimpleUploadedFile("a.pdf", PDF, content_type="application/pdf")
    customer_timeline_add(actor=org.outsider, record=company, kind="file", upload=upload)
    url = reverse("activities:attachment_download", args=[Attachment.objects.get().pk])
    # then the manager may download it and a colleague may not
    assert client_for(org.manager).get(url).status_code == 200
    assert client_for(org.colleague).get(url).status_code == 404


# --- reading ----------------------------------------------------------------------------------


def test_field_changes_show_old_and_new_values(org):
    # given a contact whose first name and phone changed
    contact = make_contact(org.manager, first_name="Пётр", phones=["+7 912 000-00-01"])
    contact_update(
        actor=org.manager,
        contact=contact,
        data={"first_name": "Павел", "phones": ["+7 912 000-00-02"]},
        partial=True,
    )
    # when the timeline is read
    html = client_for(org.manager).get(_page_url(contact), **HTMX).content.decode()
    # then each change shows the old value struck through and the new one
    assert '<del class="change-old">Пётр</del>' in html
    assert '<span class="change-new">Павел</span>' in html
    assert '<del class="change-old">+79120000001</del>' in html


def test_a_duplicate_override_shows_the_other_record(org):
    # given two contacts with the same phone, the second saved anyway
    first = make_contact(org.manager, last_name="Сидоров", phones=["+79120000009"])
    second = make_contact(org.manager, last_name="Сидоров", phones=["+79120000009"])
    # when the second one's timeline is read
    html = client_for(org.manager).get(_page_url(second), **HTMX).content.decode()
    # then the system entry names the first one with a link
    assert "Saved despite a possible duplicate" in html or "несмотря" in html
    assert reverse("customers:contact_detail", args=[first.pk]) in html


def test_paging_with_a_cursor_loads_older_entries(org, settings):
    # given a page and five more notes
    total = PAGE_SIZE + 5
    contact = make_contact(org.manager)
    TimelineEntry.objects.filter(subject_id=contact.pk).delete()
    start = timezone.now() - dt.timedelta(days=1)
    for index in range(total):
        timeline_record(
            subject=contact,
            kind="note",
            author=org.manager,
            body=f"note-{index:02d}.",
            occurred_at=start + dt.timedelta(minutes=index),
        )
    client = client_for(org.manager)
    # when the first page is read
    first = client.get(_page_url(contact), **HTMX).content.decode()
    # then it holds the newest page and a "Show older" link with a cursor
    assert f"note-{total - 1:02d}." in first and "note-05." in first
    assert "note-04." not in first
    marker = "?cursor="
    cursor = first[first.index(marker) + len(marker) :].split('"', 1)[0]
    # when the older page is loaded
    older = client.get(_page_url(contact), {"cursor": cursor}, **HTMX).content.decode()
    # then it holds the rest and no further link; it is rows only (no filter)
    assert "note-04." in older and "note-00." in older and "note-05." not in older
    assert marker not in older
    assert "tl-filter" not in older
    # a forged cursor is refused
    assert client.get(_page_url(contact), {"cursor": "garbage"}, **HTMX).status_code == 400


def test_kind_filter_shows_only_that_kind(org):
    # given a note, a call and a field change
    contact = make_contact(org.manager, first_name="Анна")
    customer_timeline_add(actor=org.manager, record=contact, kind="note", body="заметка-1")
    customer_timeline_add(actor=org.manager, record=contact, kind="call", body="звонок-1")
    contact_update(
        actor=org.manager, contact=contact, data={"first_name": "Анна-Мария"}, partial=True
    )
    client = client_for(org.manager)
    # when filtered by calls
    calls = client.get(_page_url(contact), {"kind": "call"}, **HTMX).content.decode()
    # then only the call is listed and the filter is marked active
    assert "звонок-1" in calls and "заметка-1" not in calls
    assert 'active" aria-current="true"' in calls
    # and "changes" lists the field change and creation only
    changes = client.get(_page_url(contact), {"kind": "changes"}, **HTMX).content.decode()
    assert "Анна-Мария" in changes and "звонок-1" not in changes and "заметка-1" not in changes
    # an unknown filter shows everything
    everything = client.get(_page_url(contact), {"kind": "bogus"}, **HTMX).content.decode()
    assert "звонок-1" in everything and "заметка-1" in everything


def test_without_javascript_the_timeline_page_is_a_full_page(org):
    contact = make_contact(org.manager, last_name="Полный")
    response = client_for(org.manager).get(_page_url(contact), {"kind": "note"})
    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" in html and "Полный" in html
    assert reverse("customers:contact_detail", args=[contact.pk]) in html


def test_a_company_timeline_shows_whose_entry_it_is(org):
    # given a company with an employee who has a note
    company = make_company(org.manager)
    contact = make_contact(
        org.manager, last_name="Работников", employments=[{"company_id": company.pk}]
    )
    customer_timeline_add(actor=org.manager, record=contact, kind="note", body="через сотрудника")
    # when the company's timeline is read
    html = client_for(org.manager).get(_page_url(company, "company"), **HTMX).content.decode()
    # then the entry links to the person
    assert "через сотрудника" in html
    assert reverse("customers:contact_detail", args=[contact.pk]) in html
    assert "Работников" in html


def test_the_timeline_never_shows_a_hidden_record(org):
    contact = make_contact(org.manager)
    assert client_for(org.outsider).get(_page_url(contact), **HTMX).status_code == 404


def _timeline_queries(client, url) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, **HTMX)
    assert response.status_code == 200
    return len(queries)


def test_query_count_does_not_grow_with_entries(org):
    # given a company whose timeline has one entry of each shape
    company = make_company(org.manager)
    people = [
        make_contact(org.manager, last_name=f"Человек{i}", employments=[{"company_id": company.pk}])
        for i in range(3)
    ]
    TimelineEntry.objects.all().delete()
    client = client_for(org.manager)
    url = _page_url(company, "company")

    def add_entries(count: int) -> None:
        for index in range(count):
            subject = people[index % 3] if index % 2 == 0 else company
            upload = SimpleUploadedFile(f"f{index}.pdf", PDF, content_type="application/pdf")
            customer_timeline_add(actor=org.manager, record=subject, kind="file", upload=upload)

    add_entries(1)
    one = _timeline_queries(client, url)
    # when there are twenty
    add_entries(19)
    twenty = _timeline_queries(client, url)
    # then reading costs the same number of queries
    assert one == twenty


def test_a_merge_entry_shows_the_merged_record_and_the_taken_values(org):
    # given a merge entry as the merge service writes it
    contact = make_contact(org.manager)
    timeline_record(
        subject=contact,
        kind="merge",
        author=org.manager,
        title="Merged with «Петров Пётр»",
        data={
            "merge_id": 7,
            "merged": {"entity": "contact", "id": 99, "name": "Петров <b>Пётр</b>"},
            "fields_taken": ["middle_name"],
            "changes": [{"field": "middle_name", "label": "Отчество", "old": "", "new": "Ильич"}],
        },
    )
    # when the timeline is read
    html = client_for(org.manager).get(_page_url(contact), **HTMX).content.decode()
    # then the merged record's name (escaped) and the taken value show
    assert "Петров &lt;b&gt;Пётр&lt;/b&gt;" in html
    assert '<span class="change-new">Ильич</span>' in html


def test_the_card_pages_include_the_timeline(org):
    contact = make_contact(org.manager)
    company = make_company(org.manager)
    client = client_for(org.manager)
    contact_card = client.get(reverse("customers:contact_detail", args=[contact.pk]))
    company_card = client.get(reverse("customers:company_detail", args=[company.pk]))
    assert f'id="tl-contact-{contact.pk}"' in contact_card.content.decode()
    assert f'id="tl-company-{company.pk}"' in company_card.content.decode()


def test_a_company_timeline_leaves_out_people_the_user_may_not_see(org):
    # given the outsider's company employing the manager's contact, who has a note
    company = make_company(org.outsider, legal_name="Внешняя")
    contact = make_contact(org.manager, employments=[{"company_id": company.pk}], actor=org.admin)
    customer_timeline_add(actor=org.manager, record=contact, kind="note", body="личное")
    # when the outsider reads the company's timeline
    html = client_for(org.outsider).get(_page_url(company, "company"), **HTMX).content.decode()
    # then the hidden person's note is not there
    assert "личное" not in html
    assert (
        "личное"
        in client_for(org.admin).get(_page_url(company, "company"), **HTMX).content.decode()
    )


def test_without_javascript_a_refused_post_shows_the_page_with_the_errors(org):
    contact = make_contact(org.manager)
    response = client_for(org.manager).post(
        _add_url(contact), {"kind": "email", "title": "x" * 301, "body": "Текст письма"}
    )
    html = response.content.decode()
    assert response.status_code == 422
    assert "<html" in html and "is-invalid" in html
    assert "Текст письма" in html  # what was typed is kept
    assert f'id="tl-contact-{contact.pk}-kind-email" autocomplete="off" checked' in html
