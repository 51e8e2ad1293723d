"""The funnel's indexes: a viewer's deals of a pipeline that moved since a moment (owner
first, what the funnel groups by included on PostgreSQL), and a deal's visits by moment
covering the stage and the stay's end; the latter replaces ``visit_deal`` and the foreign
key's own index on the deal, both its prefixes. The new index is built before the old ones
go, so a deal's visits never lack an index."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("customers", "0012_last_touch"),
        ("sales", "0009_deal_owner_close"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddIndex(
            model_name="deal",
            index=models.Index(
                fields=["owner", "pipeline", "stage_entered_at"],
                include=("id", "currency", "amount", "lost_reason", "created_at"),
                name="deal_owner_pipeline_entered",
            ),
        ),
        migrations.AddIndex(
            model_name="stagevisit",
            index=models.Index(
                fields=["deal", "entered_at", "stage", "left_at"], name="visit_deal_entered"
            ),
        ),
        migrations.RemoveIndex(model_name="stagevisit", name="visit_deal"),
        migrations.AlterField(
            model_name="stagevisit",
            name="deal",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="visits",
                to="sales.deal",
            ),
        ),
    ]
