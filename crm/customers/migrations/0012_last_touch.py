"""The clients' stored last touch (``Customer.last_touch_at``), filled for the existing rows
from its definition by one set-based ``UPDATE`` per table before the indexes are built."""

from typing import Any

from django.conf import settings
from django.db import migrations, models
from django.db.models import Max, OuterRef, Subquery
from django.db.models.functions import Coalesce, Greatest

import crm.customers.models


def last_touch_expression(model: Any, entries: Any, subject_type: Any) -> Any:
    """The definition of the last touch as it was when this migration was written (a copy of
    ``crm.customers.services.touch.last_touch_expression``, frozen here so that a later change
    of the definition does not change what this migration did)."""
    last_entry = (
        entries.objects.filter(subject_type_id=subject_type, subject_id=OuterRef("pk"))
        .order_by()
        .values("subject_id")
        .annotate(last=Max("occurred_at"))
        .values("last")
    )
    last_deal = (
        model.objects.filter(pk=OuterRef("pk"))
        .order_by()
        .values("pk")
        .annotate(last=Max("deals__last_activity_at"))
        .values("last")
    )
    return Greatest(
        "created_at",
        Coalesce(Subquery(last_entry), "created_at"),
        Coalesce(Subquery(last_deal), "created_at"),
    )


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
