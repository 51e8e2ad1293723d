"""SMS gateways: the adapter interface (``gateway``), SMS.ru (``smsru``) and the parts
counter (``text``). ``gateway_get`` answers the configured one."""

from __future__ import annotations

from django.conf import settings

from crm.correspondence.sms.gateway import Gateway
from crm.correspondence.sms.smsru import SmsRu


def gateway_get() -> Gateway | None:
    """The gateway ``CRM_SMS_PROVIDER`` names, None when SMS is not configured (no provider
    or no key)."""
    if settings.CRM_SMS_PROVIDER == "smsru" and settings.CRM_SMS_API_ID:
        return SmsRu(api_id=settings.CRM_SMS_API_ID, base_url=settings.CRM_SMS_BASE_URL)
    return None
