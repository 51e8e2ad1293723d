"""A reassignment (or a handover) keeps how many records of each kind it moved."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("customers", "0014_contact_first_name_optional"),
    ]

    operations = [
        migrations.AddField(
            model_name="bulkreassignment",
            name="counts",
            field=models.JSONField(blank=True, default=dict),
        ),
    ]
