"""Importing contacts and companies: policies, duplicates, companies, owners, the journal,
the failed-rows file, undo, cancel and resume."""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from typing import Any

import pytest
from django.core.files.base import ContentFile
from django.utils import timezone, translation
from openpyxl import Workbook

from crm.activities.models import TimelineEntry
from crm.core.errors import PermissionDenied, ValidationFailed
from crm.customers.models import Company, Contact, ContactPoint
from crm.customers.services import contact_create, contact_update
from crm.transfer.importing import (
    import_cancel,
    import_execute,
    import_failed_rows,
    import_possible_duplicates,
    import_start,
    import_sweep,
    import_undo,
    import_upload,
)
from crm.transfer.models import ImportEntry, ImportJob

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


def _csv(*lines: str) -> ContentFile[bytes]:
    return ContentFile("\n".join(lines).encode("utf-8"), name="clients.csv")


def _run(actor: Any, lines: list[str], **options: Any) -> ImportJob:
    options.setdefault("kind", "contact")
    job = import_start(actor=actor, file=_csv(*lines), filename="clients.csv", **options)
    import_execute(job_id=job.pk)
    job.refresh_from_db()
    return job


CONTACTS = [
    "ФИО,Телефон,E-mail,Компания,Должность",
    "Иванов Пётр Сергеевич,8 (916) 123-45-67,petr@example.ru,ООО Вектор,Директор",
    "Смирнова Анна,+7 903 555 00 11,anna@example.ru,ООО Вектор,",
    "Кузнецов Олег,,,,",
]
MAPPING = ["full_name", "phone", "email", "company", "position"]


def test_contacts_are_created_with_points_companies_and_timeline(org):
    job = _run(org.admin, CONTACTS, mapping=MAPPING)
    assert job.status == ImportJob.Status.DONE
    assert (job.rows_done, job.created, job.updated, job.skipped, job.failed) == (3, 3, 0, 0, 0)
    petr = Contact.objects.get(last_name="Иванов")
    assert (petr.first_name, petr.middle_name, petr.owner_id) == ("Пётр", "Сергеевич", org.admin.pk)
    assert set(petr.points.values_list("value", flat=True)) == {"+79161234567", "petr@example.ru"}
    vector = Company.objects.get()
    assert vector.legal_name == "ООО Вектор" or vector.display_name.endswith("Вектор")
    assert set(vector.employments.values_list("contact__last_name", "position")) == {
        ("Иванов", "Директор"),
        ("Смирнова", ""),
    }
    titles = TimelineEntry.objects.filter(subject_id=petr.pk).values_list("title", flat=True)
    assert f"Imported from clients.csv, import #{job.pk}" in titles
    assert petr.search_text and petr.name_words
    assert ImportEntry.objects.filter(job=job, kind="company", action="created").count() == 1


def test_rows_matching_within_the_file_are_one_record(org):
    job = _run(
        org.admin,
        ["ФИО,Телефон", "Иванов Пётр,89161234567", "Иванов Пётр,+7 916 123 45 67"],
        mapping=["full_name", "phone"],
    )
    assert (job.created, job.skipped) == (1, 1)
    assert Contact.objects.count() == 1


@pytest.mark.parametrize(
    ("policy", "expected_note", "counts"),
    [
        ("skip", "old", (0, 0, 1)),
        ("fill", "new note", (0, 1, 0)),
        ("overwrite", "new note", (0, 1, 0)),
        ("create", "", (1, 0, 0)),
    ],
)
def test_duplicate_policy(org, policy, expected_note, counts):
    existing = contact_create(
        actor=org.admin,
        data={
            "last_name": "Иванов",
            "first_name": "Пётр",
            "phones": ["+79161234567"],
            "notes": "" if policy == "fill" else "old",
        },
    )
    job = _run(
        org.admin,
        ["Фамилия,Имя,Телефон,Заметки", "Иванов,Пётр,8 916 123-45-67,new note"],
        mapping=["last_name", "first_name", "phone", "notes"],
        policy=policy,
    )
    assert (job.created, job.updated, job.skipped) == counts
    existing.refresh_from_db()
    if policy != "create":
        assert existing.notes == expected_note
    else:
        assert Contact.objects.count() == 2


def test_bad_rows_fail_with_reasons_and_the_failed_rows_file(org):
    job = _run(
        org.admin,
        [
            "Фамилия;Имя;Телефон;День рождения".replace(";", ","),
            "Иванов,Пётр,12,",
            ",,,",
            ",,+79161234567,",
            "Петров,Олег,,32.13.2020",
        ],
        mapping=["last_name", "first_name", "phone", "birthday"],
    )
    assert (job.created, job.failed) == (0, 3)
    reasons = dict(job.entries.filter(action="failed").values_list("row", "reason"))
    assert set(reasons) == {2, 4, 5}
    assert "phones" in reasons[2]
    assert "32.13.2020" in reasons[5]
    content = b"".join(import_failed_rows(job)).decode("utf-8")
    assert content.startswith("\ufeff")
    lines = content.lstrip("\ufeff").splitlines()
    assert lines[0] == "Фамилия,Имя,Телефон,День рождения,Reason"
    assert lines[1].startswith("Иванов,Пётр,12,,")
    assert len(lines) == 4


def test_the_failed_rows_file_neutralises_formulas(org):
    job = _run(
        org.admin,
        ["Фамилия,Телефон", "=HYPERLINK(1),+7 916 12", "@cmd,-1"],
        mapping=["notes", "phone"],
    )
    assert job.failed == 2
    lines = b"".join(import_failed_rows(job)).decode("utf-8-sig").splitlines()
    assert lines[1].startswith("'=HYPERLINK(1),+7 916 12,")
    assert lines[2].startswith("'@cmd,-1,")


def test_company_linked_by_inn_in_the_base(org):
    company = Company.objects.create(
        legal_name="Ромашка", inn="7707083893", owner=org.admin, created_by=org.admin
    )
    job = _run(
        org.admin,
        ["ФИО,ИНН компании", "Иванов Пётр,7707083893", "Петров Олег,500100732259"],
        mapping=["full_name", "company_inn"],
    )
    assert (job.created, job.failed) == (1, 1)
    assert Contact.objects.get().employments.get().company == company
    assert "500100732259" in job.entries.get(action="failed").reason


def test_companies_import_matches_by_inn(org):
    Company.objects.create(
        legal_name="Ромашка", inn="7707083893", owner=org.admin, created_by=org.admin
    )
    job = _run(
        org.admin,
        [
            "Название,ИНН,Телефон",
            "ООО Ромашка,7707083893,",
            "Лютик,,+7 495 123 45 67",
            "Лютик 2,,84951234567",
        ],
        kind="company",
        mapping=["name", "inn", "phone"],
    )
    assert (job.created, job.skipped) == (1, 2)
    assert Company.objects.count() == 2


def test_owner_column_and_scope(org):
    job = _run(
        org.head,
        [
            "ФИО,Ответственный",
            "Иванов Пётр,manager",
            "Петров Олег,outsider",
            "Сидоров Иван,nobody@example.com",
            f"Орлов Лев,{org.colleague.email}",
        ],
        mapping=["full_name", "owner"],
        owner_rule="column",
    )
    assert (job.created, job.failed) == (2, 2)
    owners = dict(Contact.objects.values_list("last_name", "owner__username"))
    assert owners == {"Иванов": "manager", "Орлов": "colleague"}


def test_chosen_manager_must_be_in_scope(org):
    with pytest.raises(ValidationFailed) as error:
        import_start(
            actor=org.head,
            file=_csv(*CONTACTS),
            filename="a.csv",
            kind="contact",
            owner_rule="chosen",
            owner_id=org.outsider.pk,
        )
    assert "owner" in error.value.field_errors


def test_manager_may_not_import(org):
    with pytest.raises(PermissionDenied):
        import_start(actor=org.manager, file=_csv(*CONTACTS), filename="a.csv", kind="contact")


def test_undo_removes_created_restores_updated_and_leaves_changed(org):
    kept = contact_create(actor=org.admin, data={"last_name": "Орлов", "phones": ["+79030000001"]})
    job = _run(
        org.admin,
        [
            "ФИО,Телефон,Заметки",
            "Орлов Лев,+79030000001,note",
            "Иванов Пётр,+79161234567,",
            "Петров Олег,+79161234568,",
        ],
        mapping=["full_name", "phone", "notes"],
        policy="fill",
    )
    assert (job.created, job.updated) == (2, 1)
    kept.refresh_from_db()
    assert kept.first_name == "Лев" and kept.notes == "note"
    changed = Contact.objects.get(last_name="Петров")
    contact_update(contact=changed, actor=org.admin, data={"notes": "called"}, partial=True)
    job = import_undo(actor=org.admin, job=job)
    assert job.status == ImportJob.Status.UNDONE
    kept.refresh_from_db()
    assert (kept.first_name, kept.notes) == ("", "")
    assert set(Contact.objects.values_list("last_name", flat=True)) == {"Орлов", "Петров"}
    assert job.undo_result["left"] == [
        {"kind": "contact", "id": changed.pk, "reason": "Changed after the import."}
    ]


def test_cancel_between_batches_keeps_what_is_done(org, settings):
    settings.CRM_IMPORT_BATCH_ROWS = 2
    lines = ["ФИО,Телефон"] + [f"Иванов{i} Пётр,+7916000{i:04d}" for i in range(6)]
    job = import_start(
        actor=org.admin,
        file=_csv(*lines),
        filename="a.csv",
        kind="contact",
        mapping=["full_name", "phone"],
    )
    import_execute(job_id=job.pk, max_batches=1)
    import_cancel(actor=org.admin, job=job)
    ImportJob.objects.filter(pk=job.pk).update(heartbeat_at=timezone.now() - dt.timedelta(hours=1))
    import_execute(job_id=job.pk)
    job.refresh_from_db()
    assert job.status == ImportJob.Status.CANCELLED
    assert Contact.objects.count() == job.created == 2


def test_resume_after_a_crash_writes_every_row_once(org, settings):
    settings.CRM_IMPORT_BATCH_ROWS = 3
    lines = ["ФИО,Телефон"] + [f"Иванов{i} Пётр,+7916000{i:04d}" for i in range(10)]
    job = import_start(
        actor=org.admin,
        file=_csv(*lines),
        filename="a.csv",
        kind="contact",
        mapping=["full_name", "phone"],
    )
    import_execute(job_id=job.pk, max_batches=2)  # the worker dies after two batches
    assert Contact.objects.count() == 6
    assert import_execute(job_id=job.pk) is None  # its heartbeat is fresh: not taken over
    ImportJob.objects.filter(pk=job.pk).update(heartbeat_at=timezone.now() - dt.timedelta(hours=1))
    import_execute(job_id=job.pk)
    job.refresh_from_db()
    assert job.status == ImportJob.Status.DONE
    assert (job.rows_done, job.created) == (10, 10)
    assert ContactPoint.objects.values("value").distinct().count() == 10
    assert Contact.objects.count() == 10
    assert sorted(job.entries.values_list("row", flat=True)) == list(range(2, 12))


def test_headers_only_and_empty_files_are_refused(org):
    for content in (b"", b"\xef\xbb\xbf"):
        with pytest.raises(ValidationFailed) as error:
            import_start(
                actor=org.admin,
                file=ContentFile(content, name="a.csv"),
                filename="a.csv",
                kind="contact",
            )
        assert "file" in error.value.field_errors


def test_possible_duplicates_are_created_and_listed(org):
    existing = contact_create(
        actor=org.admin, data={"last_name": "Иванов", "first_name": "Пётр", "middle_name": "Ильич"}
    )
    job = _run(
        org.admin,
        ["ФИО,Телефон", "Иванов Петр Сергеевич,+79161234567"],
        mapping=["full_name", "phone"],
    )
    assert job.created == 1
    entry = job.entries.get()
    assert f"#{existing.pk}" in entry.reason
    assert list(import_possible_duplicates(job)) == [entry]


def test_a_company_that_cannot_be_created_fails_its_rows_only(org):
    job = _run(
        org.admin,
        [
            "ФИО,Компания,ИНН компании",
            "Иванов Пётр,Вектор,1234567890",
            "Петров Олег,Ромашка,",
            "Сидоров Иван,,",
            ",Вектор,",
        ],
        mapping=["full_name", "company", "company_inn"],
    )
    assert (job.created, job.failed) == (2, 2)
    failed = job.entries.filter(action="failed").order_by("row")[0]
    assert failed.row == 2 and failed.reason.startswith("Company: inn:")
    assert job.entries.get(row=5).cells == ["", "Вектор", ""]
    assert Company.objects.get().legal_name == "Ромашка"
    assert Contact.objects.filter(last_name="Сидоров").exists()


def test_a_position_too_long_fails_the_row(org):
    job = _run(
        org.admin,
        ["ФИО,Компания,Должность", f"Иванов Пётр,Вектор,{'Директор' * 30}", "Петров Олег,Вектор,"],
        mapping=["full_name", "company", "position"],
    )
    assert (job.created, job.failed) == (1, 1)
    assert job.entries.get(action="failed").reason.startswith("position:")


def test_the_sweep_enqueues_stale_imports_and_deletes_old_drafts(org, monkeypatch):
    enqueued: list[int] = []
    monkeypatch.setattr("crm.transfer.importing._enqueue", enqueued.append)
    stale = import_start(actor=org.admin, file=_csv(*CONTACTS), filename="a.csv", kind="contact")
    live = import_start(actor=org.admin, file=_csv(*CONTACTS), filename="b.csv", kind="contact")
    old = timezone.now() - dt.timedelta(days=2)
    ImportJob.objects.filter(pk=stale.pk).update(status="running", heartbeat_at=old)
    ImportJob.objects.filter(pk=live.pk).update(status="running", heartbeat_at=timezone.now())
    draft = import_upload(actor=org.admin, file=_csv(*CONTACTS), filename="c.csv", kind="contact")
    ImportJob.objects.filter(pk=draft.pk).update(created_at=old)
    assert import_sweep() == 1
    assert enqueued == [stale.pk]
    assert not ImportJob.objects.filter(pk=draft.pk).exists()


def test_a_match_the_importer_may_not_see_is_skipped_without_naming_it(org):
    hidden = contact_create(
        actor=org.outsider,
        data={"last_name": "Иванов", "first_name": "Пётр", "phones": ["+79161234567"]},
    )
    job = _run(
        org.head,
        ["ФИО,Телефон", "Иванов Пётр,89161234567"],
        mapping=["full_name", "phone"],
        policy="overwrite",
    )
    assert (job.created, job.updated, job.skipped) == (0, 0, 1)
    entry = job.entries.get()
    assert entry.record_id is None and str(hidden.pk) not in entry.reason
    assert entry.reason == "Same as a record you may not see."


def test_a_workbook_broken_after_its_first_rows_fails_with_the_readers_message(org, settings):
    # given a workbook whose sheet is cut off in the middle of its rows (a broken download)
    book = Workbook()
    sheet = book.active
    sheet.append(["Фамилия", "Имя"])
    for index in range(30):
        sheet.append([f"Иванов{index}", "Пётр"])
    whole = io.BytesIO()
    book.save(whole)
    cut = io.BytesIO()
    with zipfile.ZipFile(whole) as source, zipfile.ZipFile(cut, "w") as target:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                data = data[: data.index(b'<row r="20"')] + b'<row r="20"><c r="A20" t='
            target.writestr(item, data)
    settings.CRM_IMPORT_BATCH_ROWS = 10
    job = import_start(
        actor=org.admin,
        file=ContentFile(cut.getvalue(), name="clients.xlsx"),
        filename="clients.xlsx",
        kind="contact",
        mapping=["last_name", "first_name"],
    )
    # when it runs
    import_execute(job_id=job.pk)
    # then it fails with the reader's words, not an exception's name, before writing anything
    # (the rows are counted first, which reads the whole sheet)
    job.refresh_from_db()
    assert job.status == "failed"
    assert job.error and "FileRejected" not in job.error
    assert job.created == 0


def test_consent_and_unsubscribes_are_read_for_new_clients(org):
    existing = contact_create(
        actor=org.admin,
        data={"last_name": "Старый", "first_name": "Иван", "phones": ["+79160000009"]},
    )
    job = _run(
        org.admin,
        [
            "ФИО,E-mail,E-mail,Телефон,Согласие на рассылку,Отписан",
            "Дата Иван,a@example.ru,b@example.ru,,01.03.2026,B@example.ru",
            "Да Пётр,c@example.ru,d@example.ru,,да,да",
            "Нет Олег,e@example.ru,,,нет,нет",
            "Будущее Анна,f@example.ru,,,01.03.2099,",
            "Старый Иван,,,+79160000009,да,да",
        ],
        mapping=["full_name", "email", "email", "phone", "consent", "unsubscribed"],
        policy="fill",
    )
    assert (job.created, job.skipped, job.failed) == (3, 1, 1)
    dated = Contact.objects.get(last_name="Дата")
    assert timezone.localtime(dated.consent_at).date() == dt.date(2026, 3, 1)
    assert dated.consent_source == "import"
    stopped = dict(dated.points.values_list("value", "unsubscribed_at"))
    assert stopped["a@example.ru"] is None and stopped["b@example.ru"] is not None
    yes = Contact.objects.get(last_name="Да")
    assert yes.consent_at is not None and yes.consent_at <= timezone.now()
    assert not yes.points.filter(unsubscribed_at__isnull=True).exists()
    no = Contact.objects.get(last_name="Нет")
    assert (no.consent_at, no.consent_source) == (None, "")
    assert not no.points.filter(unsubscribed_at__isnull=False).exists()
    assert "future" in ImportEntry.objects.get(job=job, action="failed").reason
    # an existing client's consent is changed on its card, not by a file: the row says so
    existing.refresh_from_db()
    assert existing.consent_at is None
    assert "new clients only" in ImportEntry.objects.get(job=job, action="skipped").reason


def test_exact_only_matches_by_contact_points_and_the_scan_after_it_pairs_the_names(
    org, django_capture_on_commit_callbacks
):
    from crm.customers.choices import DuplicateStatus
    from crm.customers.models import DuplicatePair

    by_phone = contact_create(
        actor=org.admin,
        data={"last_name": "Иванов", "first_name": "Пётр", "phones": ["+79161234567"]},
    )
    by_name = contact_create(
        actor=org.admin,
        data={"last_name": "Смирнова", "first_name": "Анна", "birthday": "1980-05-06"},
    )
    lines = [
        "Фамилия,Имя,Телефон,Дата рождения",
        "ИВАНОВ,Пётр,8 (916) 123-45-67,",
        "Смирнова,Анна,,06.05.1980",
    ]
    mapping = ["last_name", "first_name", "phone", "birthday"]
    # the name is looked up row by row by default: both rows are the clients there
    assert (_run(org.admin, lines, mapping=mapping).skipped, Contact.objects.count()) == (2, 2)
    # when only the contact points are matched
    with django_capture_on_commit_callbacks(execute=True):
        job = _run(org.admin, lines, mapping=mapping, options={"exact_only": True})
    # then the phone still finds its client, the name does not (a new record) …
    assert (job.created, job.skipped) == (1, 1)
    new = Contact.objects.exclude(pk__in=[by_phone.pk, by_name.pk]).get()
    assert new.last_name == "Смирнова"
    # … and the scan the import queued when it ended lists the pair as likely
    pair = DuplicatePair.objects.get(status=DuplicateStatus.OPEN)
    assert {pair.contact_a_id, pair.contact_b_id} == {by_name.pk, new.pk}
    assert pair.tier == "likely"
