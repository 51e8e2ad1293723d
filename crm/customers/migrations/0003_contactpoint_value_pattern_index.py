"""Prefix search on e-mails ("ivan.pe…") through an index on PostgreSQL.

PostgreSQL serves ``LIKE 'prefix%'`` from a B-tree only with ``varchar_pattern_ops`` when the
database collation is not C; SQLite answers the same question with a range on the existing
``(kind, value)`` index (see ``customers.selectors``).
"""

from django.db import migrations

INDEX = "customers_contactpoint_kind_value_like"


def create_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {INDEX} ON customers_contactpoint "
            f"(kind, value varchar_pattern_ops)"
        )


def drop_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX IF EXISTS {INDEX}")


class Migration(migrations.Migration):
    dependencies = [("customers", "0002_search_indexes")]

    operations = [migrations.RunPython(create_index, drop_index)]
