"""Carry the owner ids in the ``MatchKey.key`` index (``INCLUDE`` on PostgreSQL).

The duplicate check counts how many keys each candidate shares with the new name; with the
owners in the index PostgreSQL answers that with an index-only scan instead of reading
thousands of scattered heap pages at 1M contacts. SQLite has no covering indexes and gets a
plain index on ``key``, as before.
"""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("customers", "0004_rebuild_match_keys")]

    operations = [
        migrations.RemoveIndex(model_name="matchkey", name="match_key_key"),
        migrations.AddIndex(
            model_name="matchkey",
            index=models.Index(
                fields=["key"], include=("contact", "company"), name="match_key_key_owners"
            ),
        ),
    ]
