"""Fill ``name_words`` (the Latin words of the name) of every contact and company.

In batches by primary key, one transaction each, with the same pure functions the services
use (``crm.core.text.name_words``; a company's legal form as its card shows it).
"""

from django.db import migrations, transaction

from crm.core.text import name_words

BATCH = 5000
OTHER_FORM = "other"


def _contact_words(last_name, first_name, middle_name):
    return name_words(last_name, first_name, middle_name)


def _company_words(legal_name, short_name, legal_form):
    return name_words("" if legal_form == OTHER_FORM else legal_form, legal_name, short_name)


def _fill(apps, connection, model_name, fields, words_of):
    alias = connection.alias
    model = apps.get_model("customers", model_name)
    table = model._meta.db_table
    last = 0
    while True:
        rows = list(
            model.objects.using(alias)
            .filter(pk__gt=last)
            .order_by("pk")
            .values_list("pk", *fields)[:BATCH]
        )
        if not rows:
            return
        last = rows[-1][0]
        ids = [pk for pk, *_names in rows]
        values = [words_of(*names) for _pk, *names in rows]
        with transaction.atomic(using=alias), connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                # Table names come from model metadata; the values are bound parameters.
                cursor.execute(
                    f"UPDATE {table} AS t SET name_words = v.words "  # noqa: S608
                    "FROM unnest(%s::bigint[], %s::text[]) AS v(id, words) WHERE t.id = v.id",
                    [ids, values],
                )
            else:
                cursor.executemany(
                    f"UPDATE {table} SET name_words = %s WHERE id = %s",  # noqa: S608
                    list(zip(values, ids, strict=True)),
                )


def fill_name_words(apps, schema_editor):
    connection = schema_editor.connection
    _fill(apps, connection, "Contact", ["last_name", "first_name", "middle_name"], _contact_words)
    _fill(apps, connection, "Company", ["legal_name", "short_name", "legal_form"], _company_words)


def clear_name_words(apps, schema_editor):
    alias = schema_editor.connection.alias
    for model_name in ("Contact", "Company"):
        apps.get_model("customers", model_name).objects.using(alias).update(name_words="")


class Migration(migrations.Migration):
    dependencies = [("customers", "0009_customer_name_words")]

    operations = [migrations.RunPython(fill_name_words, clear_name_words)]
