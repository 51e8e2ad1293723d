"""Fixtures of the leads tests: the mail servers (shared with correspondence's tests)."""

from crm.leads.tests.mail_servers import certificate, servers  # noqa: F401 (fixtures)
