"""Search indexes: pg_trgm GIN on PostgreSQL, FTS5 trigram tables on SQLite."""

from django.db import migrations

from crm.core.search import sqlite_fts_sql

TABLES = ["customers_contact", "customers_company"]


def create_indexes(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        for table in TABLES:
            schema_editor.execute(
                f"CREATE INDEX IF NOT EXISTS {table}_search_trgm ON {table} "
                f"USING gin (search_text gin_trgm_ops)"
            )
        schema_editor.execute(
            "CREATE INDEX IF NOT EXISTS customers_contactpoint_digits_rev_like ON "
            "customers_contactpoint (digits_reversed text_pattern_ops)"
        )
    elif vendor == "sqlite":
        for table in TABLES:
            for statement in sqlite_fts_sql(table)[0]:
                schema_editor.execute(statement)


def drop_indexes(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        for table in TABLES:
            schema_editor.execute(f"DROP INDEX IF EXISTS {table}_search_trgm")
        schema_editor.execute("DROP INDEX IF EXISTS customers_contactpoint_digits_rev_like")
    elif vendor == "sqlite":
        for table in TABLES:
            for statement in sqlite_fts_sql(table)[1]:
                schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [("customers", "0001_initial")]

    operations = [migrations.RunPython(create_indexes, drop_indexes)]
