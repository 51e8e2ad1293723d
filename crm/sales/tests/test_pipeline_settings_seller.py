"""Reasons for loss and the seller's details: the pages and ``services/seller.py``."""

from __future__ import annotations

import pytest
from django.urls import reverse

from conftest import client_for
from crm.core.errors import PermissionDenied, ValidationFailed
from crm.sales.models import LostReason, SellerDetails
from crm.sales.services.seller import account_key_matches, seller_details_get, seller_details_save
from crm.sales.tests.pipeline_fixtures import make_deal, make_pipeline, stage

VALID = {
    "name": "ООО «Ромашка»",
    "inn": "7707083893",
    "kpp": "773601001",
    "ogrn": "1027700132195",
    "address": "Москва, ул. Вавилова, 19",
    "phone": "+7 (495) 500-55-50",
    "email": "Sales@Example.RU",
    "director": "Иванов И. И.",
    "accountant": "Петрова А. А.",
    "vat_payer": "on",
    "bank_name": "ПАО Сбербанк",
    "bik": "044525225",
    "account": "40702810838000000004",
    "correspondent_account": "30101810400000000225",
}


@pytest.fixture(autouse=True)
def _english(settings):
    settings.LANGUAGE_CODE = "en"


# --- reasons for loss ---------------------------------------------------------------------------


def test_lost_reasons_list_with_counts_and_escaping(org):
    reason = LostReason.objects.create(name="<i>Дорого</i>", position=50)
    deal = make_deal(stage(make_pipeline(), "Отказ"), org.manager)
    deal.lost_reason = reason
    deal.save(update_fields=["lost_reason"])

    html = client_for(org.admin).get(reverse("sales:lost_reason_list")).content.decode()

    assert "&lt;i&gt;Дорого&lt;/i&gt;" in html and "<i>Дорого" not in html
    row = html[html.index("&lt;i&gt;Дорого") :]
    assert "Deals: </span>1</td>" in row[: row.index("</tr>")]


def test_add_rename_and_archive_a_lost_reason(org):
    client = client_for(org.admin)

    assert client.post(reverse("sales:lost_reason_list"), {"name": " Уехал "}).status_code == 302
    reason = LostReason.objects.get(name="Уехал")
    client.post(reverse("sales:lost_reason_edit", args=[reason.pk]), {"name": "Переехал"})
    client.post(reverse("sales:lost_reason_archive", args=[reason.pk]), {"archived": "1"})
    reason.refresh_from_db()
    assert (reason.name, reason.archived) == ("Переехал", True)

    client.post(reverse("sales:lost_reason_archive", args=[reason.pk]), {"archived": "0"})
    reason.refresh_from_db()
    assert not reason.archived


def test_lost_reason_with_an_empty_name_is_refused(org):
    client = client_for(org.admin)
    reason = LostReason.objects.first()
    count = LostReason.objects.count()

    added = client.post(reverse("sales:lost_reason_list"), {"name": "   "})
    renamed = client.post(reverse("sales:lost_reason_edit", args=[reason.pk]), {"name": ""})

    assert added.status_code == renamed.status_code == 422
    assert 'id="id_new_name"' in added.content.decode()
    assert "is-invalid" in added.content.decode()
    html = renamed.content.decode()
    field = html[html.index(f'id="id_reason_{reason.pk}_name"') - 200 :]
    assert "is-invalid" in field[:400]
    assert LostReason.objects.count() == count
    assert LostReason.objects.get(pk=reason.pk).name == reason.name


@pytest.mark.parametrize("role", ["anonymous", "viewer", "manager", "head"])
def test_lost_reason_writes_are_admin_only(org, role):
    client = client_for(None if role == "anonymous" else getattr(org, role))
    reason = LostReason.objects.first()

    client.post(reverse("sales:lost_reason_list"), {"name": "Чужая"})
    client.post(reverse("sales:lost_reason_edit", args=[reason.pk]), {"name": "Чужая"})
    response = client.post(reverse("sales:lost_reason_archive", args=[reason.pk]))

    assert response.status_code == (302 if role == "anonymous" else 403)
    assert not LostReason.objects.filter(name="Чужая").exists()
    assert not LostReason.objects.get(pk=reason.pk).archived


# --- the seller page ----------------------------------------------------------------------------


def test_seller_page_is_empty_until_saved(org):
    response = client_for(org.admin).get(reverse("sales:seller_details"))

    assert response.status_code == 200
    assert not SellerDetails.objects.exists()


def test_seller_details_are_saved_clean(org):
    client = client_for(org.admin)

    response = client.post(reverse("sales:seller_details"), {**VALID, "inn": "7707 083 893"})

    assert response.status_code == 302
    details = SellerDetails.objects.get(pk=1)
    assert details.inn == "7707083893"
    assert details.email == "sales@example.ru"
    assert details.vat_payer is True
    page = client.get(reverse("sales:seller_details")).content.decode()
    assert 'value="ООО «Ромашка»"' in page
    assert 'value="40702810838000000004"' in page

    client.post(reverse("sales:seller_details"), {**VALID, "vat_payer": ""})
    details.refresh_from_db()
    assert details.vat_payer is False
    assert SellerDetails.objects.count() == 1


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("inn", "7707083894", "checksum"),
        ("inn", "12345", "10 or 12 digits"),
        ("kpp", "77360100", "9 characters"),
        ("ogrn", "1027700132196", "checksum"),
        ("bik", "04452522", "9 digits"),
        ("bik", "04452522X", "9 digits"),
        ("account", "4070281083800000000", "20 digits"),
        ("account", "40702810838000000005", "does not match"),
        ("correspondent_account", "30101810400000000226", "does not match"),
        ("email", "not-an-address", "not a valid"),
        ("name", "Я" * 301, "At most 300"),
    ],
)
def test_seller_details_errors_show_on_their_fields(org, field, value, message):
    response = client_for(org.admin).post(reverse("sales:seller_details"), {**VALID, field: value})

    assert response.status_code == 422
    html = response.content.decode()
    start = html.index(f'name="{field}"')
    tag = html[html.rindex("<", 0, start) : html.index(">", start)]
    assert "is-invalid" in tag
    feedback = html[html.index("invalid-feedback", start) :]
    assert message in feedback[: feedback.index("</div>")]
    assert not SellerDetails.objects.exists()


def test_seller_page_escapes_saved_text(org):
    SellerDetails.objects.create(pk=1, name='"><script>alert(1)</script>')

    html = client_for(org.admin).get(reverse("sales:seller_details")).content.decode()

    assert "<script>alert(1)" not in html
    assert "&quot;&gt;&lt;script&gt;" in html


# --- the seller service -------------------------------------------------------------------------


def _service_data(**overrides):
    data = {k: v for k, v in VALID.items() if k != "vat_payer"}
    data["vat_payer"] = True
    data.update(overrides)
    return data


def test_seller_details_save_creates_the_one_row_and_updates_it(org):
    first = seller_details_save(actor=org.admin, **_service_data())
    second = seller_details_save(actor=org.admin, director="Сидоров С. С.")

    assert first.pk == second.pk == 1
    stored = SellerDetails.objects.get()
    assert stored.director == "Сидоров С. С." and stored.inn == "7707083893"


def test_seller_details_empty_values_clear_fields(org):
    seller_details_save(actor=org.admin, **_service_data())

    seller_details_save(actor=org.admin, inn="", kpp=None, bik="", account="")

    stored = SellerDetails.objects.get()
    assert (stored.inn, stored.kpp, stored.bik, stored.account) == ("", "", "", "")


@pytest.mark.parametrize("role", ["head", "manager", "viewer"])
def test_seller_details_save_is_admin_only(org, role):
    with pytest.raises(PermissionDenied):
        seller_details_save(actor=getattr(org, role), name="Чужая")
    assert not SellerDetails.objects.exists()


def test_seller_details_save_names_every_bad_field_and_writes_nothing(org):
    seller_details_save(actor=org.admin, **_service_data())

    with pytest.raises(ValidationFailed) as info:
        seller_details_save(
            actor=org.admin, name="Новое имя", inn="7707083894", bik="1", account=12, email=["x"]
        )

    assert set(info.value.field_errors) == {"inn", "bik", "account", "email"}
    assert SellerDetails.objects.get().name == "ООО «Ромашка»"


def test_seller_details_save_refuses_unknown_fields(org):
    with pytest.raises(TypeError):
        seller_details_save(actor=org.admin, id=5)


def test_seller_details_get_without_a_row(db):
    details = seller_details_get()
    assert details.pk == 1 and details._state.adding


@pytest.mark.parametrize(
    ("bik", "account", "correspondent"),
    [
        ("044525225", "30101810400000000225", True),  # Sberbank
        ("044525974", "30101810145250000974", True),  # T-Bank
        ("044525187", "30101810700000000187", True),  # VTB
        ("044525225", "40702810838000000004", False),
    ],
)
def test_account_key_matches_real_accounts(bik, account, correspondent):
    assert account_key_matches(bik, account, correspondent=correspondent)
    typo = account[:-1] + str((int(account[-1]) + 1) % 10)
    assert not account_key_matches(bik, typo, correspondent=correspondent)
