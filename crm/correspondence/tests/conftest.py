"""Fixtures of the correspondence tests: the real mail servers (an SMTP server recording what
the CRM sends; the SMTP-to-IMAP pair the leads poller reads) and a deal with a client."""

from __future__ import annotations

import pytest

from crm.correspondence.tests import smsru_standin
from crm.correspondence.tests.builders import deal_with_client
from crm.leads.tests.mail_servers import certificate, servers  # noqa: F401 (fixtures)
from crm.notifications.tests.conftest import smtp_server  # noqa: F401 (fixture)


@pytest.fixture
def deal(org):
    """A deal of ``org.manager`` with line items, for the contact Анна Смирнова
    (anna@client.ru) of the company ООО «Ромашка»."""
    return deal_with_client(org.manager)


@pytest.fixture
def smsru(settings):
    """A local SMS.ru stand-in (``tests.smsru_standin``) the CRM is configured to use, with
    the callback token ``cb-token``."""
    state, server = smsru_standin.start()
    smsru_standin.configure(settings, state)
    yield state
    server.shutdown()
    server.server_close()
