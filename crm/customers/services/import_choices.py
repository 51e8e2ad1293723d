"""Choices as other systems write them: an imported file's source or client type read by
the choice's value, its label in Russian or English, or a word other CRMs use for it
("Звонок", "Web", "Partner Referral", "Физ. лицо"). A value none of these know is no choice:
the import leaves the field empty and says so, rather than failing the row."""

from __future__ import annotations

import re
from functools import cache

from django.db import models
from django.utils import translation

from crm.customers.choices import ClientType, Source

_SYNONYMS: dict[type[models.TextChoices], dict[str, tuple[str, ...]]] = {
    Source: {
        Source.WEBSITE: (
            "сайт",
            "веб-сайт",
            "вебсайт",
            "с сайта",
            "форма на сайте",
            "заявка с сайта",
            "интернет",
            "web",
            "site",
            "web site",
            "web form",
            "website form",
            "online",
            "organic search",
            "органический поиск",
        ),
        Source.PHONE: (
            "звонок",
            "входящий звонок",
            "телефон",
            "телефонный звонок",
            "call",
            "phone",
            "inbound call",
            "incoming call",
        ),
        Source.EMAIL: ("почта", "электронная почта", "e-mail", "email", "mail", "письмо"),
        Source.REFERRAL: (
            "рекомендация",
            "по рекомендации",
            "партнер",
            "партнёр",
            "от партнера",
            "от партнёра",
            "сарафанное радио",
            "partner",
            "partner referral",
            "employee referral",
            "external referral",
            "word of mouth",
        ),
        Source.EXHIBITION: (
            "выставка",
            "мероприятие",
            "конференция",
            "семинар",
            "trade show",
            "tradeshow",
            "event",
            "conference",
            "seminar",
        ),
        Source.ADVERTISING: (
            "реклама",
            "контекстная реклама",
            "яндекс директ",
            "яндекс.директ",
            "таргет",
            "advertisement",
            "ads",
            "ad",
            "paid search",
            "google ads",
            "paid social",
        ),
        Source.MESSENGER: ("мессенджер", "telegram", "телеграм", "whatsapp", "viber", "чат"),
        Source.COLD: ("холодный звонок", "холодные продажи", "cold call", "cold calling"),
        Source.OTHER: ("другое", "прочее", "иное"),
    },
    ClientType: {
        ClientType.PRIVATE: (
            "физ. лицо",
            "физлицо",
            "физическое лицо",
            "частное лицо",
            "частный клиент",
            "person",
            "individual",
            "consumer",
            "b2c",
        ),
        ClientType.BUSINESS: (
            "юр. лицо",
            "юрлицо",
            "юридическое лицо",
            "компания",
            "организация",
            "бизнес",
            "company",
            "b2b",
            "corporate",
        ),
        ClientType.GOVERNMENT: (
            "госорган",
            "государственный орган",
            "государственная организация",
            "бюджетная организация",
            "госзаказчик",
            "public sector",
            "b2g",
        ),
    },
}

_NOT_WORD = re.compile(r"[\W_]+")


def _norm(text: str) -> str:
    return _NOT_WORD.sub(" ", text.casefold().replace("ё", "е")).strip()


@cache
def _names(choices: type[models.TextChoices]) -> dict[str, str]:
    names: dict[str, str] = {}
    for choice in choices:
        names[_norm(str(choice.value))] = str(choice.value)
        for language in ("ru", "en"):
            with translation.override(language):
                names[_norm(str(choice.label))] = str(choice.value)
    for value, words in _SYNONYMS.get(choices, {}).items():
        for word in words:
            names.setdefault(_norm(word), str(value))
    return names


def choice_of(text: str, choices: type[models.TextChoices]) -> str | None:
    """The value of ``choices`` that ``text`` names, or None when none does."""
    return _names(choices).get(_norm(text))
