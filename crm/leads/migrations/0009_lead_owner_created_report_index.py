"""A viewer's leads of a period per owner, covering the leads report's columns."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("leads", "0008_lead_created_report_index"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="lead",
            index=models.Index(
                fields=[
                    "owner",
                    "created_at",
                    "team",
                    "channel",
                    "kind",
                    "form",
                    "deal",
                    "assigned_at",
                    "respond_by",
                    "responded_at",
                ],
                include=("id",),
                name="lead_owner_created_report",
            ),
        ),
    ]
