"""Index ``name_words`` for the search of several words: a pg_trgm GIN index on PostgreSQL,
an FTS5 trigram table kept in step by triggers on SQLite (as ``search_text`` in 0002).

On SQLite, adding a NOT NULL column (0009) rebuilds the table, which drops its triggers: the
``search_text`` FTS5 table and its triggers are made again here too.
"""

from django.db import migrations

from crm.core.search import sqlite_fts_sql

TABLES = ["customers_contact", "customers_company"]
COLUMN = "name_words"


def create_indexes(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    for table in TABLES:
        if vendor == "postgresql":
            schema_editor.execute(
                f"CREATE INDEX IF NOT EXISTS {table}_words_trgm ON {table} "
                f"USING gin ({COLUMN} gin_trgm_ops)"
            )
        elif vendor == "sqlite":
            search_text_create, search_text_drop = sqlite_fts_sql(table)
            for statement in [*search_text_drop, *search_text_create]:
                schema_editor.execute(statement)
            for statement in sqlite_fts_sql(table, COLUMN)[0]:
                schema_editor.execute(statement)


def drop_indexes(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    for table in TABLES:
        if vendor == "postgresql":
            schema_editor.execute(f"DROP INDEX IF EXISTS {table}_words_trgm")
        elif vendor == "sqlite":
            for statement in sqlite_fts_sql(table, COLUMN)[1]:
                schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [("customers", "0010_fill_name_words")]

    operations = [migrations.RunPython(create_indexes, drop_indexes)]
