"""The audit log is append-only in the database too: triggers refuse changing its rows.

PostgreSQL refuses ``UPDATE`` and ``DELETE`` of a row. ``TRUNCATE`` is a separate
statement that row triggers do not see: the test runner empties tables with it, and an
operator who must purge the log (by a retention rule) does it deliberately, outside the
application.

SQLite refuses ``UPDATE``. It has no ``TRUNCATE``: Django empties tables (``flush``, the
test runner between browser tests) with ``DELETE``, so a delete trigger there would break
them; on SQLite the application's refusal (the model and its queryset) guards deletes.
"""

from __future__ import annotations

from typing import Any

from django.db import migrations

TABLE = "accounts_securityevent"
MESSAGE = "the audit log is append-only"

POSTGRES_CREATE = [
    f"""
    CREATE OR REPLACE FUNCTION crm_audit_log_refuse() RETURNS trigger AS $$
    BEGIN
        RAISE EXCEPTION '{MESSAGE}' USING ERRCODE = 'insufficient_privilege';
    END;
    $$ LANGUAGE plpgsql
    """,
    f"""
    CREATE TRIGGER crm_audit_log_append_only
        BEFORE UPDATE OR DELETE ON {TABLE}
        FOR EACH ROW EXECUTE FUNCTION crm_audit_log_refuse()
    """,
]
POSTGRES_DROP = [
    f"DROP TRIGGER IF EXISTS crm_audit_log_append_only ON {TABLE}",
    "DROP FUNCTION IF EXISTS crm_audit_log_refuse()",
]
SQLITE_CREATE = [
    f"""
    CREATE TRIGGER crm_audit_log_no_update BEFORE UPDATE ON {TABLE}
    BEGIN
        SELECT RAISE(ABORT, '{MESSAGE}');
    END
    """
]
SQLITE_DROP = ["DROP TRIGGER IF EXISTS crm_audit_log_no_update"]


def _run(schema_editor: Any, postgres: list[str], sqlite: list[str]) -> None:
    statements = {"postgresql": postgres, "sqlite": sqlite}.get(
        schema_editor.connection.vendor, []
    )
    for statement in statements:
        schema_editor.execute(statement, params=None)


def create_triggers(apps: Any, schema_editor: Any) -> None:
    _run(schema_editor, POSTGRES_CREATE, SQLITE_CREATE)


def drop_triggers(apps: Any, schema_editor: Any) -> None:
    _run(schema_editor, POSTGRES_DROP, SQLITE_DROP)


class Migration(migrations.Migration):
    dependencies = [("accounts", "0004_audit_log_and_two_factor")]

    operations = [migrations.RunPython(create_triggers, drop_triggers)]
