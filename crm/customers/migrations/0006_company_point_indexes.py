"""Partial indexes for searching companies by e-mail prefix and phone ending (PostgreSQL).

Company contact points are a small share of the table; without these, a company search
walks every contact's e-mail with the same prefix to find the few companies among them.
"""

from django.db import migrations

INDEXES = {
    "customers_contactpoint_company_value_like": (
        "(kind, value varchar_pattern_ops) WHERE company_id IS NOT NULL"
    ),
    "customers_contactpoint_company_digits": "(digits_reversed) WHERE company_id IS NOT NULL",
}


def create_indexes(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for name, definition in INDEXES.items():
            schema_editor.execute(
                f"CREATE INDEX IF NOT EXISTS {name} ON customers_contactpoint {definition}"
            )


def drop_indexes(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for name in INDEXES:
            schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [("customers", "0005_matchkey_covering_index")]

    operations = [migrations.RunPython(create_indexes, drop_indexes)]
