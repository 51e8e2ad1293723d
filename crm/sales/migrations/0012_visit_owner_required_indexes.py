"""Every visit has its deal's owner now (0011): the owner becomes required and a foreign key
(checked once over the table), and the reports' two indexes that start with it are built."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("sales", "0011_visit_owner_decided"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AlterField(
            model_name="stagevisit",
            name="owner",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.AddIndex(
            model_name="stagevisit",
            index=models.Index(
                fields=["owner", "entered_at", "stage", "deal"],
                include=("left_at",),
                name="visit_owner_entered",
            ),
        ),
        migrations.AddIndex(
            model_name="stagevisit",
            index=models.Index(
                condition=models.Q(decided_at__isnull=False),
                fields=["owner", "decided_at"],
                include=("entered_at", "prior_entered_at", "won_at", "stage", "deal"),
                name="visit_owner_decided",
            ),
        ),
    ]
