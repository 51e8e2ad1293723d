"""The clients' stored last touch (``Customer.last_touch_at``), filled for the existing rows
from its definition by one set-based ``UPDATE`` per table before the indexes are built."""

from typing import Any

from django.conf import settings
from django.db import migrations, models

import crm.customers.models
from crm.customers.services.touch import last_touch_expression


def fill(apps: Any, schema_editor: Any) -> None:
    content_types = apps.get_model("contenttypes", "ContentType")
    entries = apps.get_model("activities", "TimelineEntry")
    for name in ("contact", "company"):
        model = apps.get_model("customers", name)
        subject_type = (
            content_types.objects.filter(app_label="customers", model=name)
            .values_list("pk", flat=True)
            .first()
        )
        model.objects.update(last_touch_at=last_touch_expression(model, entries, subject_type))


class Migration(migrations.Migration):
    dependencies = [
        ("customers", "0011_name_words_indexes"),
        ("activities", "0003_timeline_author_subject_time_index"),
        ("sales", "0006_deal_closed_visit_stage_payment_paid_indexes"),
        ("contenttypes", "0002_remove_content_type_name"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="company",
            name="last_touch_at",
            field=crm.customers.models.LastTouchField(
                editable=False, null=True, verbose_name="last touch"
            ),
        ),
        migrations.AddField(
            model_name="contact",
            name="last_touch_at",
            field=crm.customers.models.LastTouchField(
                editable=False, null=True, verbose_name="last touch"
            ),
        ),
        migrations.RunPython(fill, migrations.RunPython.noop, elidable=True),
        migrations.AddIndex(
            model_name="company",
            index=models.Index(fields=["last_touch_at", "id"], name="company_touch"),
        ),
        migrations.AddIndex(
            model_name="company",
            index=models.Index(fields=["owner", "last_touch_at"], name="company_owner_touch"),
        ),
        migrations.AddIndex(
            model_name="contact",
            index=models.Index(fields=["last_touch_at", "id"], name="contact_touch"),
        ),
        migrations.AddIndex(
            model_name="contact",
            index=models.Index(fields=["owner", "last_touch_at"], name="contact_owner_touch"),
        ),
    ]
