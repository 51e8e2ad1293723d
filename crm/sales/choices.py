"""Choice lists of pipelines, deals, products, payments and documents."""

from decimal import Decimal

from django.db import models
from django.utils.translation import gettext_lazy as _


class StageKind(models.TextChoices):
    OPEN = "open", _("In progress")
    WON = "won", _("Won")
    LOST = "lost", _("Lost")


class DealStatus(models.TextChoices):
    OPEN = "open", _("Open")
    WON = "won", _("Won")
    LOST = "lost", _("Lost")


class Currency(models.TextChoices):
    RUB = "RUB", _("Russian rouble")
    USD = "USD", _("US dollar")
    EUR = "EUR", _("Euro")
    CNY = "CNY", _("Chinese yuan")
    KZT = "KZT", _("Kazakh tenge")
    BYN = "BYN", _("Belarusian rouble")
    UZS = "UZS", _("Uzbek sum")
    AMD = "AMD", _("Armenian dram")
    TRY = "TRY", _("Turkish lira")
    AED = "AED", _("UAE dirham")


class VatRate(models.TextChoices):
    """Russian VAT rates (22% is the general rate from 2026; 20% is kept for older
    contracts); "none" means the seller is not a VAT payer."""

    NONE = "none", _("No VAT")
    ZERO = "0", "0%"
    FIVE = "5", "5%"
    SEVEN = "7", "7%"
    TEN = "10", "10%"
    TWENTY = "20", "20%"
    TWENTY_TWO = "22", "22%"

    @classmethod
    def percent(cls, value: str) -> Decimal:
        return Decimal(0) if value == cls.NONE else Decimal(value)


class Unit(models.TextChoices):
    PIECE = "pcs", _("pcs")
    HOUR = "h", _("h")
    DAY = "day", _("day")
    MONTH = "month", _("month")
    KG = "kg", _("kg")
    TONNE = "t", _("t")
    METRE = "m", _("m")
    SQ_METRE = "m2", _("m²")
    CU_METRE = "m3", _("m³")
    LITRE = "l", _("l")
    SERVICE = "service", _("service")
    SET = "set", _("set")


class PaymentKind(models.TextChoices):
    PREPAYMENT = "prepayment", _("Prepayment")
    PARTIAL = "partial", _("Partial payment")
    FINAL = "final", _("Final payment")


class PaymentStatus(models.TextChoices):
    EXPECTED = "expected", _("Expected")
    RECEIVED = "received", _("Received")
    CANCELLED = "cancelled", _("Cancelled")


class PaymentMethod(models.TextChoices):
    BANK_TRANSFER = "bank_transfer", _("Bank transfer")
    CARD = "card", _("Card")
    ONLINE = "online", _("Online payment")
    SBP = "sbp", _("Fast payment system (SBP)")
    CASH = "cash", _("Cash")
    OTHER = "other", _("Other")


class DocumentKind(models.TextChoices):
    PROPOSAL = "proposal", _("Commercial proposal")
    INVOICE = "invoice", _("Invoice")
    CONTRACT = "contract", _("Contract")


class ActionKind(models.TextChoices):
    """What a stage does when a deal enters it."""

    CREATE_TASK = "create_task", _("Create a task")
    NOTIFY = "notify", _("Notify")
    SET_OWNER = "set_owner", _("Change the responsible")
    WEBHOOK = "webhook", _("Send a webhook")


class DealField(models.TextChoices):
    """Built-in deal fields a stage may require (custom fields are required as
    ``custom.<key>``)."""

    AMOUNT = "amount", _("Amount")
    EXPECTED_CLOSE = "expected_close", _("Expected close date")
    CLIENT = "client", _("Client")
    CONTACT = "contact", _("Contact")
    COMPANY = "company", _("Company")
    INVOICE_NUMBER = "invoice_number", _("Invoice number")
    CONTRACT_NUMBER = "contract_number", _("Contract number")
    LINES = "lines", _("Products")
    PREPAYMENT = "prepayment", _("Prepayment received")
    PAID = "paid", _("Paid in full")
