import io

import pytest
from django.core.management import call_command

from crm.customers.models import DuplicatePair
from crm.customers.tests.factories import make_contact

pytestmark = pytest.mark.django_db


def test_command_scans_and_reports(org):
    make_contact(org.manager, last_name="Иванов", first_name="Пётр", phones=["89123456789"])
    make_contact(org.manager, last_name="Ivanov", first_name="Petr", phones=["+7 912 345 67 89"])
    out = io.StringIO()
    call_command("scan_duplicates", stdout=out)
    assert DuplicatePair.objects.filter(entity="contact").count() == 1
    assert "contact (all): " in out.getvalue() and "1 possible duplicates" in out.getvalue()


def test_command_scans_the_changes_since_the_last_scan_unless_told_full(org):
    make_contact(org.manager, last_name="Иванов", first_name="Пётр", phones=["89123456789"])
    call_command("scan_duplicates", "--entity", "contact", stdout=io.StringIO())
    make_contact(org.manager, last_name="Ivanov", first_name="Petr", phones=["+7 912 345 67 89"])
    changes, full = io.StringIO(), io.StringIO()
    call_command("scan_duplicates", "--entity", "contact", stdout=changes)
    call_command("scan_duplicates", "--entity", "contact", "--full", stdout=full)
    assert "contact (1 changed since the last scan): 1 candidate pairs" in changes.getvalue()
    assert "contact (all): 1 candidate pairs, 1 possible duplicates" in full.getvalue()
