"""Consent to mailings on contacts (opt-in moment and source) and the unsubscribe moment of
each address (``ContactPoint.unsubscribed_at``).

On SQLite adding the NOT NULL ``consent_source`` rebuilds the contacts table, which drops
its triggers: the FTS5 tables of ``search_text`` and ``name_words`` and their triggers are
made again (as in 0011).
"""

from django.db import migrations, models

from crm.core.search import sqlite_fts_sql

TABLE = "customers_contact"


def fts_again(apps, schema_editor):
    if schema_editor.connection.vendor != "sqlite":
        return
    for column in ("search_text", "name_words"):
        create, drop = sqlite_fts_sql(TABLE, column)
        for statement in [*drop, *create]:
            schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [
        ("customers", "0020_contactpoint_undeliverable"),
    ]

    operations = [
        migrations.AddField(
            model_name="contact",
            name="consent_at",
            field=models.DateTimeField(
                blank=True, null=True, verbose_name="consent to mailings given"
            ),
        ),
        migrations.AddField(
            model_name="contact",
            name="consent_source",
            field=models.CharField(
                blank=True,
                db_default="",
                choices=[
                    ("form", "Web form"),
                    ("import", "Import"),
                    ("manual", "Entered by a manager"),
                    ("api", "API"),
                    ("email", "By e-mail"),
                    ("other", "Other"),
                ],
                max_length=12,
                verbose_name="consent source",
            ),
        ),
        migrations.AddField(
            model_name="contactpoint",
            name="unsubscribed_at",
            field=models.DateTimeField(blank=True, null=True, verbose_name="unsubscribed"),
        ),
        migrations.RunPython(fts_again, migrations.RunPython.noop),
        migrations.AddIndex(
            model_name="contactpoint",
            index=models.Index(
                condition=models.Q(("contact__isnull", False)),
                fields=["kind", "contact"],
                name="point_kind_contact",
            ),
        ),
        migrations.AddIndex(
            model_name="contactpoint",
            index=models.Index(
                condition=models.Q(
                    ("contact__isnull", False), ("kind", "email"), ("unsubscribed_at__isnull", True)
                ),
                fields=["contact"],
                name="point_email_deliverable",
            ),
        ),
    ]
