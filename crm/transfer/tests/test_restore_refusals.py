"""A restore refuses, before writing anything, an archive that is not a whole, intact full
export (tampered, cut short, a zip bomb, a name outside the files folder, a bad cell, a
reference to a missing row) and an installation that is not empty; and the command."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import zipfile
from collections.abc import Callable

import pytest
from django.contrib.contenttypes.models import ContentType
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.utils import translation

from crm.accounts.models import User
from crm.activities.models import Attachment, TimelineEntry
from crm.activities.services import attachment_store
from crm.customers.models import Contact, Tag
from crm.customers.tests.factories import make_contact
from crm.sales.models import Deal, Pipeline, Stage
from crm.sales.tests.factories import make_deal
from crm.transfer.exports_full import base_write
from crm.transfer.restore import base_restore
from crm.transfer.restore_archive import RestoreRefused, safe_file_name
from crm.transfer.tests.test_restore_round_trip import _empty

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


@pytest.fixture
def exported(org, settings, tmp_path) -> bytes:
    """The full export of a small base (a contact, a deal, an attached file), the base then
    emptied and the storage a new, empty one."""
    contact = make_contact(org.manager, last_name="Иванов", phones=["+79123456789"])
    make_deal(org.manager, title="Кухня", contact=contact)
    upload = SimpleUploadedFile("a.txt", b"hello", content_type="text/plain")
    attachment = attachment_store(upload=upload, author=org.manager)
    TimelineEntry.objects.create(
        subject_type=ContentType.objects.get_for_model(Contact),
        subject_id=contact.pk,
        kind="file",
        attachment=attachment,
        author=org.manager,
    )
    target = io.BytesIO()
    base_write(target, progress=lambda done: None)
    _empty()
    settings.MEDIA_ROOT = tmp_path / "restored"
    return target.getvalue()


def _rewrite(
    data: bytes,
    change: Callable[[dict[str, bytes]], None],
    *,
    checksums: bool = True,
) -> bytes:
    """The archive with its entries changed by ``change`` (a dict of name → bytes), the
    manifest's checksums written again for them unless ``checksums`` is False."""
    with zipfile.ZipFile(io.BytesIO(data)) as source:
        entries = {name: source.read(name) for name in source.namelist()}
    before = dict(entries)
    change(entries)
    manifest = json.loads(entries["manifest.json"])
    if checksums:
        for name, body in entries.items():
            if name in ("manifest.json", "export.json"):
                continue
            if name not in before or before[name] != body:
                manifest["checksums"][name] = {
                    "sha256": hashlib.sha256(body).hexdigest(),
                    "bytes": len(body),
                }
        for name in set(before) - set(entries):
            manifest["checksums"].pop(name, None)
        entries["manifest.json"] = json.dumps(manifest).encode()
    target = io.BytesIO()
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, body in entries.items():
            archive.writestr(name, body)
    return target.getvalue()


def _edit_cell(table: str, column: str, value: str) -> Callable[[dict[str, bytes]], None]:
    def change(entries: dict[str, bytes]) -> None:
        lines = entries[f"{table}.csv"].decode().split("\r\n")
        header = lines[0].split(",")
        cells = lines[1].split(",")
        cells[header.index(column)] = value
        lines[1] = ",".join(cells)
        entries[f"{table}.csv"] = "\r\n".join(lines).encode()

    return change


def _refused(data: bytes, *words: str) -> None:
    users = User.objects.count()
    with pytest.raises(RestoreRefused) as refusal:
        base_restore(io.BytesIO(data))
    for word in words:
        assert word in refusal.value.message
    # nothing written: no row, no file
    assert not Contact.objects.exists() and not Deal.objects.exists()
    assert not Attachment.objects.exists() and User.objects.count() == users
    assert not default_storage.exists("attachments")


def test_the_untouched_archive_is_restored(exported):
    result = base_restore(io.BytesIO(exported))
    assert result.counts["contacts"] == 1 and result.files == 1
    assert Contact.objects.get().last_name == "Иванов"


def test_a_changed_byte_fails_the_checksum_naming_the_file(exported):
    tampered = _rewrite(
        exported,
        lambda entries: entries.update(
            {"contacts.csv": entries["contacts.csv"].replace(b"\xd0\x98", b"\xd0\x99")}
        ),
        checksums=False,
    )
    _refused(tampered, "contacts.csv", "checksum")


@pytest.mark.parametrize("cut", [100, 2000])
def test_a_cut_short_archive_is_refused(exported, cut):
    _refused(exported[: len(exported) - cut])


def test_a_missing_entry_is_refused_naming_it(exported):
    _refused(
        _rewrite(exported, lambda entries: entries.pop("deals.csv"), checksums=False),
        "deals.csv",
        "missing",
    )


def test_an_entry_the_manifest_does_not_list_is_refused(exported):
    _refused(
        _rewrite(exported, lambda e: e.update({"extra.csv": b"x"}), checksums=False),
        "extra.csv",
    )


def test_another_format_or_version_is_refused(exported):
    def version(entries: dict[str, bytes]) -> None:
        manifest = json.loads(entries["manifest.json"])
        manifest["version"] = 2
        entries["manifest.json"] = json.dumps(manifest).encode()

    _refused(_rewrite(exported, version, checksums=False), "version 2")
    _refused(b"PK\x03\x04 not really", "not a ZIP")


def test_a_zip_bomb_is_refused_before_it_is_unpacked(exported):
    bomb = b"\0" * (20 * 1024 * 1024)
    _refused(_rewrite(exported, lambda e: e.update({"files/bomb.bin": bomb})), "zip bomb")


def test_an_archive_larger_than_the_limit_is_refused(exported, settings):
    settings.CRM_RESTORE_MAX_MB = 0
    _refused(exported, "CRM_RESTORE_MAX_MB")


@pytest.mark.parametrize("name", ["files/../evil.txt", "files//etc/evil", "files/a\\..\\b"])
def test_a_file_named_outside_the_files_folder_is_refused(exported, name):
    _refused(_rewrite(exported, lambda e: e.update({name: b"x"})), "outside the files folder")


def test_an_attachment_row_naming_a_file_outside_the_folder_is_refused(exported):
    _refused(
        _rewrite(exported, _edit_cell("attachments", "file", "../../etc/passwd")),
        "attachments",
        "row 2",
        "file",
    )


def test_an_unknown_column_is_refused_naming_the_table_and_column(exported):
    def column(entries: dict[str, bytes]) -> None:
        schema = json.loads(entries["export.json"])
        table = next(t for t in schema["tables"] if t["name"] == "contacts")
        table["columns"].append({"name": "shoe_size", "type": "IntegerField", "null": True})
        entries["export.json"] = json.dumps(schema).encode()

    _refused(_rewrite(exported, column), "contacts", "shoe_size")


@pytest.mark.parametrize(
    ("table", "column", "value", "words"),
    [
        ("contacts", "birthday", "31.02.1980", ["contacts", "row 2", "birthday"]),
        ("contacts", "owner_id", "abc", ["contacts", "row 2", "owner_id"]),
        ("contacts", "custom", "{not json", ["contacts", "row 2", "custom"]),
        ("contacts", "last_name", "Я" * 151, ["contacts", "row 2", "last_name", "150"]),
        ("deals", "amount", '"12,5"', ["deals", "row 2", "amount"]),
        ("deals", "contact_id", "999999", ["deals", "row 2", "contact_id", "999999"]),
        ("contacts", "merged_into_id", "999999", ["contacts", "row 2", "merged_into_id"]),
        ("timeline_entries", "subject_type", "planets.planet", ["subject_type"]),
        ("contacts", "id", "x", ["contacts", "row 2", "id"]),
    ],
)
def test_a_bad_cell_is_refused_naming_the_table_row_and_column(
    exported, table, column, value, words
):
    _refused(_rewrite(exported, _edit_cell(table, column, value)), *words)


def test_a_row_of_another_width_is_refused(exported):
    def widen(entries: dict[str, bytes]) -> None:
        entries["deals.csv"] = entries["deals.csv"].rstrip(b"\r\n") + b",extra\r\n"

    _refused(_rewrite(exported, widen), "deals", "row 2")


def test_a_base_that_holds_clients_is_refused(exported):
    # (the fixture emptied the base, its users too)
    make_contact(User.objects.create(username="here", role="admin"), last_name="Уже здесь")
    with pytest.raises(RestoreRefused) as refusal:
        base_restore(io.BytesIO(exported))
    assert "already holds contacts" in refusal.value.message
    assert Contact.objects.count() == 1 and not Deal.objects.exists()


def test_file_names_inside_the_folder_only():
    assert safe_file_name("attachments/2026/12/Договор.pdf")
    for name in ("", "/etc/passwd", "../x", "a/../../x", "a//b", "./a", "C:/x", "a\\b", "a\nb"):
        assert not safe_file_name(name), name


def test_the_command_restores_and_says_passwords_must_be_set(exported, tmp_path):
    path = tmp_path / "base.zip"
    path.write_bytes(exported)
    out, err = io.StringIO(), io.StringIO()
    call_command("import_base", str(path), stdout=out, stderr=err)
    assert "contacts: 1" in out.getvalue()
    assert "without a password" in out.getvalue()
    assert Contact.objects.count() == 1


def test_the_command_refuses_naming_why_and_writes_nothing(exported, tmp_path):
    path = tmp_path / "base.zip"
    path.write_bytes(exported[:-50])
    with pytest.raises(CommandError, match="Nothing was restored"):
        call_command("import_base", str(path), stdout=io.StringIO(), stderr=io.StringIO())
    with pytest.raises(CommandError, match="No file"):
        call_command("import_base", str(tmp_path / "none.zip"))
    assert not Contact.objects.exists()


def test_the_tables_an_installation_starts_with_end_as_the_files(exported):
    # a tag and a pipeline made here, not in the export, go; the file's rows come in
    Tag.objects.create(name="здешний")
    local = Pipeline.objects.create(name="Здешняя", position=9)
    Stage.objects.create(pipeline=local, name="Первая", kind="open", position=0)
    with zipfile.ZipFile(io.BytesIO(exported)) as archive:
        stages = archive.read("stages.csv").decode().count("\r\n") - 1
    result = base_restore(io.BytesIO(exported))
    assert not Tag.objects.filter(name="здешний").exists()
    assert "tags: 0 rows this installation had were replaced" in " ".join(result.notes)
    assert any(note.startswith("pipelines:") and "1 removed" in note for note in result.notes)
    assert not Pipeline.objects.filter(pk=local.pk).exists()
    assert Stage.objects.count() == stages


def test_a_content_type_is_mapped_to_this_installations_id(exported):
    # this installation numbers its content types otherwise: the file's labels decide
    old = ContentType.objects.get_for_model(Contact)
    old.delete()
    ContentType.objects.clear_cache()
    new = ContentType.objects.create(app_label="customers", model="contact")
    assert new.pk != old.pk
    base_restore(io.BytesIO(exported))
    entry = TimelineEntry.objects.get(kind="file")
    assert entry.subject_type_id == new.pk
    assert entry.subject_id == Contact.objects.get().pk


def test_a_cell_too_large_is_refused_naming_the_file_and_row(exported):
    # random text: it does not pack like a bomb, it is only too long for a cell
    huge = base64.b64encode(os.urandom(13 * 1024 * 1024)).decode()
    _refused(_rewrite(exported, _edit_cell("contacts", "notes", huge)), "contacts.csv", "row 2")


def test_an_older_export_without_a_table_is_restored(exported):
    # an export made before a table existed: the keys to it are checked against the rows here
    def older(entries: dict[str, bytes]) -> None:
        schema = json.loads(entries["export.json"])
        schema["tables"] = [t for t in schema["tables"] if t["name"] != "products"]
        entries["export.json"] = json.dumps(schema).encode()
        entries.pop("products.csv")

    result = base_restore(io.BytesIO(_rewrite(exported, older)))
    assert "products" not in result.counts and result.counts["deal_lines"] == 0
    assert Deal.objects.count() == 1
