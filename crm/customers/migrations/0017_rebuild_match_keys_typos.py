"""Rebuild the blocking keys (``MatchKey``) for the matcher of issue 14.

Person keys gained one-letter deletions (``d:``), whole words (``w:``, ``o:``) and the
birthday (``b:``), and first names are keyed by the full names they may stand for; old keys
would miss every new kind, so every live record's keys are written again, in batches by
primary key (as in 0004). The same rebuild is ``manage.py rebuild_match_keys``.
"""

from django.db import migrations, transaction

from crm.core.matching import MAX_KEY_LENGTH, person_block_keys

BATCH = 2000


def _rebuild(apps, alias, model_name, owner, fields, keys_of):
    model = apps.get_model("customers", model_name)
    match_key = apps.get_model("customers", "MatchKey")
    last = 0
    while True:
        rows = list(
            model.objects.using(alias)
            .filter(pk__gt=last)
            .order_by("pk")
            .values_list("pk", "merged_into_id", *fields)[:BATCH]
        )
        if not rows:
            return
        top = rows[-1][0]
        with transaction.atomic(using=alias):
            match_key.objects.using(alias).filter(
                **{f"{owner}_id__gt": last, f"{owner}_id__lte": top}
            ).delete()
            match_key.objects.using(alias).bulk_create(
                [
                    match_key(key=key[:MAX_KEY_LENGTH], **{f"{owner}_id": pk})
                    for pk, merged_into_id, *values in rows
                    if merged_into_id is None
                    for key in keys_of(*values)
                ],
                batch_size=BATCH,
            )
        last = top


def rebuild_match_keys(apps, schema_editor):
    alias = schema_editor.connection.alias
    _rebuild(
        apps,
        alias,
        "Contact",
        "contact",
        ["last_name", "first_name", "middle_name", "birthday"],
        person_block_keys,
    )


class Migration(migrations.Migration):
    atomic = False

    dependencies = [("customers", "0016_duplicatepair_tier")]

    operations = [migrations.RunPython(rebuild_match_keys, migrations.RunPython.noop)]
