"""Person blocking keys keyed by the full first name (issue 14, the check at 1M contacts).

A surname's keys now pair it with the full names of the first name (``s:``) instead of the
first name's letter-deleted forms with the surname's initial, which at 1M contacts held
thousands of people each; and the key index orders each key's holders by contact, so the
check reads the newest holders of a common key without sorting them all. The old index is
dropped first so the rebuild does not maintain it row by row; the new one is built once at
the end. Contacts' keys are written again as in 0017 (``manage.py rebuild_match_keys`` does
the same on a live base); companies' keys did not change.
"""

from importlib import import_module

from django.db import migrations, models

from crm.core.matching import person_block_keys


def rebuild_person_keys(apps, schema_editor):
    rebuild = import_module("crm.customers.migrations.0017_rebuild_match_keys_typos")._rebuild
    rebuild(
        apps,
        schema_editor.connection.alias,
        "Contact",
        "contact",
        ["last_name", "first_name", "middle_name", "birthday"],
        person_block_keys,
    )


class Migration(migrations.Migration):
    atomic = False

    dependencies = [("customers", "0017_rebuild_match_keys_typos")]

    operations = [
        migrations.RemoveIndex(model_name="matchkey", name="match_key_key_owners"),
        migrations.RunPython(rebuild_person_keys, migrations.RunPython.noop),
        migrations.AddIndex(
            model_name="matchkey",
            index=models.Index(
                fields=["key", "contact"], include=["company"], name="match_key_key_contact"
            ),
        ),
    ]
