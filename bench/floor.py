"""The bare-Django floor of a list page: what any Django page over the contacts table costs.

A WSGI application of one view, configured here (no project, no middleware, no sessions, no
authentication, no apps): it reads the newest 50 live contacts with their owner's name in one
query (the contact list's default order and page size) and renders them as an HTML table with
a Django template. ``bench/lists_concurrent.py`` serves it with gunicorn next to the CRM's
contact list, on the same database, so the CRM's page can be read as a share of this floor::

    gunicorn --pythonpath bench floor:application

The database is the CRM's: ``DATABASE_URL`` (PostgreSQL) or the SQLite file under
``CRM_VAR_DIR`` (``var/`` by default), read the way ``crm/config/settings.py`` reads them,
with the same ``CRM_DB_CONN_MAX_AGE``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import dj_database_url
from django.conf import settings

ROOT = Path(__file__).resolve().parent.parent

PAGE = """<!doctype html>
<html lang="ru"><head><meta charset="utf-8"><title>Контакты</title></head>
<body><h1>Контакты</h1>
<table>
<thead><tr><th>Имя</th><th>Тип</th><th>Ответственный</th><th>Создан</th></tr></thead>
<tbody>{% for row in rows %}
<tr><td><a href="/customers/contacts/{{ row.0 }}/">{{ row.1 }} {{ row.2 }} {{ row.3 }}</a></td>
<td>{{ row.4 }}</td><td>{{ row.5 }} {{ row.6 }}</td><td>{{ row.7|date:"d.m.Y" }}</td></tr>
{% endfor %}</tbody></table></body></html>"""

QUERY = """
SELECT c.id, c.last_name, c.first_name, c.middle_name, c.client_type,
       u.first_name, u.last_name, c.created_at
FROM customers_contact c LEFT JOIN accounts_user u ON u.id = c.owner_id
WHERE c.merged_into_id IS NULL
ORDER BY c.created_at DESC, c.id DESC
LIMIT 50
"""


def _database() -> dict[str, Any]:
    url = os.environ.get("DATABASE_URL")
    if url:
        keep = int(os.environ.get("CRM_DB_CONN_MAX_AGE", "0"))
        return dj_database_url.parse(url, conn_max_age=keep, conn_health_checks=True)
    var = Path(os.environ.get("CRM_VAR_DIR", str(ROOT / "var")))
    return {"ENGINE": "django.db.backends.sqlite3", "NAME": str(var / "crm.sqlite3")}


settings.configure(
    DEBUG=False,
    SECRET_KEY="floor-has-no-secrets-" + "0" * 40,
    ALLOWED_HOSTS=["127.0.0.1", "localhost"],
    ROOT_URLCONF=__name__,
    DATABASES={"default": _database()},
    USE_TZ=True,
    TIME_ZONE="Europe/Moscow",
    TEMPLATES=[{"BACKEND": "django.template.backends.django.DjangoTemplates"}],
    MIDDLEWARE=[],
    INSTALLED_APPS=[],
)

import django  # noqa: E402

django.setup()

from django.core.wsgi import get_wsgi_application  # noqa: E402
from django.db import connection  # noqa: E402
from django.http import HttpRequest, HttpResponse  # noqa: E402
from django.template import engines  # noqa: E402
from django.urls import path  # noqa: E402

TEMPLATE = engines["django"].from_string(PAGE)


def contacts(request: HttpRequest) -> HttpResponse:
    with connection.cursor() as cursor:
        cursor.execute(QUERY)
        rows = cursor.fetchall()
    return HttpResponse(TEMPLATE.render({"rows": rows}, request))


urlpatterns = [path("customers/contacts/", contacts)]

application = get_wsgi_application()
