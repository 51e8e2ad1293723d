"""The REST API: one NinjaAPI mounting each app's router under /api/v1."""

from ninja import NinjaAPI

api = NinjaAPI(title="CRM API", version="1", urls_namespace="api")
