import pytest

from crm.core.normalize import (
    normalize_email,
    normalize_inn,
    normalize_kpp,
    normalize_ogrn,
    normalize_phone,
    phone_digits_key,
    phone_digits_reversed,
)


@pytest.mark.parametrize(
    "raw", ["8 912 345-67-89", "+7 (912) 345 67 89", "79123456789", "8(912)3456789", "+79123456789"]
)
def test_russian_phone_spellings_are_one_number(raw):
    assert normalize_phone(raw) == "+79123456789"


@pytest.mark.parametrize("raw", ["", "abc", "123", "+7 912", "8 912 345-67-89-00-11", "9" * 50])
def test_malformed_phones_are_refused(raw):
    with pytest.raises(ValueError):
        normalize_phone(raw)


def test_foreign_number_keeps_its_country():
    assert normalize_phone("+49 30 901820") == "+4930901820"


def test_digits_reversed_turn_suffix_into_prefix():
    assert phone_digits_reversed("+79123456789").startswith("9876")


def test_email_is_lower_cased():
    assert normalize_email("  Ivan.Petrov@Mail.RU ") == "ivan.petrov@mail.ru"


@pytest.mark.parametrize("raw", ["ivan", "ivan@", "@mail.ru", "a b@mail.ru", "x" * 250 + "@a.ru"])
def test_malformed_emails_are_refused(raw):
    with pytest.raises(ValueError):
        normalize_email(raw)


def test_inn_with_valid_checksum_is_kept_as_digits():
    assert normalize_inn("7707 083 893") == "7707083893"
    assert normalize_inn("500100732259") == "500100732259"


@pytest.mark.parametrize("raw", ["7707083894", "12345", "77070838931", "абвгдежзик"])
def test_inn_with_bad_checksum_or_length_is_refused(raw):
    with pytest.raises(ValueError):
        normalize_inn(raw)


def test_kpp_and_ogrn():
    assert normalize_kpp("773601001") == "773601001"
    assert normalize_ogrn("1027700132195") == "1027700132195"
    with pytest.raises(ValueError):
        normalize_ogrn("1027700132196")
    with pytest.raises(ValueError):
        normalize_kpp("77360100")


@pytest.mark.parametrize(
    ("raw", "key"),
    [
        ("44 20 7946 0958", "+442079460958"),
        ("+1 (555) 010-0 ext 7", "+155501007"),
        ("+999 123 456 789", "+999123456789"),
        ("1234", ""),  # too few digits to be a phone at all
        ("нет", ""),
        ("١٢٣٤٥٦٧", ""),  # digits of other scripts are not phone digits
        ("1" * 30, "+" + "1" * 19),
    ],
)
def test_phone_digits_key_of_a_number_that_is_not_valid(raw, key):
    assert phone_digits_key(raw) == key
