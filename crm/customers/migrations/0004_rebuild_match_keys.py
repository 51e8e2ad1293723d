"""Rebuild the name blocking keys (``MatchKey``) after their redesign in ``core.matching``.

Person keys changed from pairs of 3-letter prefixes (``p:ale|pet``) to a whole word with
the prefix of another (``p:aleksandr|pet``); company keys lost the 4-letter word prefixes.
Old keys would never meet new ones, so every record's keys are written again, in batches
by primary key. ``crm.core`` holds only pure functions, so the migration imports them; the
same rebuild is ``manage.py rebuild_match_keys``.
"""

from django.db import migrations, transaction

from crm.core.matching import MAX_KEY_LENGTH, company_block_keys, person_block_keys

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
                    for pk, merged_into_id, *names in rows
                    if merged_into_id is None
                    for key in keys_of(*names)
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
        ["last_name", "first_name", "middle_name"],
        person_block_keys,
    )
    _rebuild(apps, alias, "Company", "company", ["legal_name", "short_name"], company_block_keys)


class Migration(migrations.Migration):
    atomic = False

    dependencies = [("customers", "0003_contactpoint_value_pattern_index")]

    operations = [migrations.RunPython(rebuild_match_keys, migrations.RunPython.noop)]
