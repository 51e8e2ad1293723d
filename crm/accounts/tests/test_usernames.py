"""User names are one account regardless of case, in any alphabet and on any database."""

import pytest

from crm.accounts.models import User
from crm.accounts.services import user_create
from crm.core.errors import ValidationFailed

pytestmark = pytest.mark.django_db


def test_cyrillic_user_name_is_unique_regardless_of_case(org):
    user_create(actor=org.admin, username="Петров", password="Zx-long-pass-2026", role="manager")
    with pytest.raises(ValidationFailed) as refused:
        user_create(actor=org.admin, username="пЕТРОВ", role="manager")
    assert "username" in refused.value.field_errors
    assert User.objects.filter(username="петров").count() == 1


def test_sign_in_ignores_the_case_of_the_user_name(org, client):
    user_create(actor=org.admin, username="Сидоров", password="Zx-long-pass-2026", role="manager")
    response = client.post(
        "/accounts/login/", {"username": "СИДОРОВ", "password": "Zx-long-pass-2026"}
    )
    assert response.status_code == 302


@pytest.mark.parametrize("bad", ["", "with space", "<script>", "x" * 151])
def test_malformed_user_names_are_refused(org, bad):
    with pytest.raises(ValidationFailed) as refused:
        user_create(actor=org.admin, username=bad, role="manager")
    assert "username" in refused.value.field_errors


def test_createsuperuser_makes_an_administrator(db):
    from django.core.management import call_command

    call_command("createsuperuser", username="Root", email="root@example.com", interactive=False)
    user = User.objects.get(username="root")
    assert user.role == "admin" and user.is_superuser and user.is_admin
