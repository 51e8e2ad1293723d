"""The won deals' ids per owner, for the leads report's revenue of converted leads."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("sales", "0006_deal_closed_visit_stage_payment_paid_indexes"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="deal",
            index=models.Index(
                condition=models.Q(("status", "won")),
                fields=["owner", "id"],
                name="deal_won_owner",
            ),
        ),
    ]
