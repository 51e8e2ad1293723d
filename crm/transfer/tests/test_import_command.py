"""``manage.py import_file``: the same import in the foreground, progress on stderr."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import CommandError, call_command
from django.utils import translation

from crm.customers.models import Contact
from crm.transfer.models import ImportJob

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


def test_imports_a_file_with_a_mapping_and_a_chosen_owner(org, tmp_path, settings):
    settings.CRM_IMPORT_BATCH_ROWS = 2
    path = tmp_path / "clients.csv"
    path.write_text(
        "Кто,Тел\nИванов Пётр,89161234567\nПетров Олег,89161234568\nСидоров Иван,12\n",
        encoding="utf-8",
    )
    out, err = io.StringIO(), io.StringIO()
    call_command(
        "import_file",
        str(path),
        "--kind=contact",
        "--user=head",
        "--owner=manager",
        f"--mapping={json.dumps(['full_name', 'phone'])}",
        stdout=out,
        stderr=err,
    )
    job = ImportJob.objects.get()
    assert (job.status, job.created, job.failed) == ("done", 2, 1)
    assert set(Contact.objects.values_list("owner__username", flat=True)) == {"manager"}
    assert "created 2" in out.getvalue() and "failed 1" in out.getvalue()
    assert "3/3 rows" in err.getvalue()


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--user=nobody"], "No active user"),
        (["--user=manager"], "may not import"),
        (["--user=head", "--owner=outsider"], "yourself or your teams"),
        (["--user=head", "--mapping=[1]"], "JSON list"),
        (["--user=head", "--kind=planet"], "kind"),
    ],
)
def test_refusals_are_command_errors(org, tmp_path, arguments, message):
    path = tmp_path / "clients.csv"
    path.write_text("full_name\nИванов Пётр\n", encoding="utf-8")
    with pytest.raises(CommandError, match=message):
        call_command(
            "import_file", str(path), *arguments, stdout=io.StringIO(), stderr=io.StringIO()
        )
    assert not ImportJob.objects.exists()
