"""How each intake channel's stored row becomes a lead's input: one mapping, built here.

A parser turns an ``Inbound`` row into a ``LeadInput``, or answers None when it dealt with
the row itself or refused it (spam, an auto-reply: it says why in ``error``). The API and
manual entry store already-clean fields, read by ``clean_lead_input``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType

from crm.leads.choices import Channel
from crm.leads.models import Inbound
from crm.leads.services.email_channel import email_lead_input
from crm.leads.services.intake import LeadInput, clean_lead_input
from crm.leads.services.telephony import call_lead_input
from crm.leads.services.webforms import webform_lead_input

Parser = Callable[[Inbound], LeadInput | None]

PARSERS: Mapping[str, Parser] = MappingProxyType(
    {
        Channel.WEB_FORM: webform_lead_input,
        Channel.EMAIL: email_lead_input,
        Channel.PHONE: call_lead_input,
    }
)


def _clean_payload(inbound: Inbound) -> LeadInput:
    return clean_lead_input(inbound.payload)


def parser_for(channel: str) -> Parser:
    """The parser of ``channel``; the plain field cleaner for the API and manual entry."""
    return PARSERS.get(channel, _clean_payload)
