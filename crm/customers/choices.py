"""Choice lists of the customer base."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class ClientType(models.TextChoices):
    PRIVATE = "private", _("Private client")
    BUSINESS = "business", _("Business")
    GOVERNMENT = "government", _("Government body")


class Entity(models.TextChoices):
    CONTACT = "contact", _("Contact")
    COMPANY = "company", _("Company")


class FieldEntity(models.TextChoices):
    """Records that carry custom fields."""

    CONTACT = "contact", _("Contacts")
    COMPANY = "company", _("Companies")
    DEAL = "deal", _("Deals")


class LegalForm(models.TextChoices):
    OOO = "ООО", "ООО"
    AO = "АО", "АО"
    PAO = "ПАО", "ПАО"
    ZAO = "ЗАО", "ЗАО"
    OAO = "ОАО", "ОАО"
    IP = "ИП", "ИП"
    NKO = "НКО", "НКО"
    ANO = "АНО", "АНО"
    GUP = "ГУП", "ГУП"
    MUP = "МУП", "МУП"
    GBU = "ГБУ", "ГБУ"
    FGBU = "ФГБУ", "ФГБУ"
    MBU = "МБУ", "МБУ"
    GOV = "ОГВ", _("Government authority")
    LLC = "LLC", "LLC"
    OTHER = "other", _("Other")


class ContactPointKind(models.TextChoices):
    PHONE = "phone", _("Phone")
    EMAIL = "email", _("E-mail")
    MESSENGER = "messenger", _("Messenger")


class Messenger(models.TextChoices):
    TELEGRAM = "telegram", "Telegram"
    WHATSAPP = "whatsapp", "WhatsApp"
    VIBER = "viber", "Viber"
    VK = "vk", _("VK")
    MAX = "max", "MAX"
    SKYPE = "skype", "Skype"
    OTHER = "other", _("Other")


class ContactPointLabel(models.TextChoices):
    WORK = "work", _("Work")
    MOBILE = "mobile", _("Mobile")
    HOME = "home", _("Home")
    OTHER = "other", _("Other")


class AddressKind(models.TextChoices):
    LEGAL = "legal", _("Legal address")
    ACTUAL = "actual", _("Actual address")
    POSTAL = "postal", _("Postal address")
    DELIVERY = "delivery", _("Delivery address")
    HOME = "home", _("Home address")


class Source(models.TextChoices):
    WEBSITE = "website", _("Website")
    PHONE = "phone", _("Phone call")
    EMAIL = "email", _("E-mail")
    REFERRAL = "referral", _("Referral")
    EXHIBITION = "exhibition", _("Exhibition")
    ADVERTISING = "advertising", _("Advertising")
    MESSENGER = "messenger", _("Messenger")
    COLD = "cold", _("Cold outreach")
    IMPORT = "import", _("Import")
    OTHER = "other", _("Other")


class ConsentSource(models.TextChoices):
    """Where a contact's consent to mailings came from."""

    FORM = "form", _("Web form")
    IMPORT = "import", _("Import")
    MANUAL = "manual", _("Entered by a manager")
    API = "api", _("API")
    EMAIL = "email", _("By e-mail")
    OTHER = "other", _("Other")


class CustomFieldType(models.TextChoices):
    TEXT = "text", _("Text")
    NUMBER = "number", _("Number")
    DATE = "date", _("Date")
    CHOICE = "choice", _("Choice")
    MULTI_CHOICE = "multi_choice", _("Multiple choice")
    BOOLEAN = "boolean", _("Yes/no")
    URL = "url", _("Link (URL)")


class DuplicateTier(models.TextChoices):
    """How sure the matcher is that two records are one (``core.person_match.tier_of``)."""

    LIKELY = "likely", _("Likely duplicates")
    POSSIBLE = "possible", _("Possible duplicates")


class DuplicateStatus(models.TextChoices):
    OPEN = "open", _("Open")
    DISMISSED = "dismissed", _("Not a duplicate")
    MERGED = "merged", _("Merged")
