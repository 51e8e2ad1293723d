"""Choice lists of leads."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Channel(models.TextChoices):
    WEB_FORM = "web_form", _("Web form")
    API = "api", _("API")
    EMAIL = "email", _("E-mail")
    PHONE = "phone", _("Phone")
    MANUAL = "manual", _("Entered by hand")
    MESSENGER = "messenger", _("Messenger")


class LeadStatus(models.TextChoices):
    NEW = "new", _("New")
    IN_PROGRESS = "in_progress", _("In progress")
    QUALIFIED = "qualified", _("Qualified")
    CONVERTED = "converted", _("Converted")
    LOST = "lost", _("Lost")


class LeadKind(models.TextChoices):
    """The classification of an incoming lead."""

    NEW = "new", _("New client")
    REPEAT = "repeat", _("Existing client")
    PARTNER = "partner", _("Partner")
    SPAM = "spam", _("Spam")


class InboundStatus(models.TextChoices):
    PENDING = "pending", _("Waiting")
    PROCESSED = "processed", _("Processed")
    HANDLED = "handled", _("Handled without a new lead")
    REJECTED = "rejected", _("Rejected as spam")
    FAILED = "failed", _("Failed")


class Strategy(models.TextChoices):
    ROUND_ROBIN = "round_robin", _("Round robin in the team")
    LEAST_LOADED = "least_loaded", _("Least loaded in the team")
    FIXED_USER = "fixed_user", _("A fixed user")
    CLIENT_MANAGER = "client_manager", _("The client's manager")


OPEN_STATUSES = (LeadStatus.NEW, LeadStatus.IN_PROGRESS, LeadStatus.QUALIFIED)
