"""A stage visit carries its deal's owner, when the deal was next decided (entered a won or
lost stage) and next won after it began, and when it last entered the same stage before, so
that the reports read a viewer's visits from
indexes that start with the owner (``crm.sales.services.visits`` keeps them exact).

The existing visits are filled by one statement in SQL both databases run (frozen here,
not imported from the service); 0012 makes the owner required and builds the indexes.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

# One pass: each visit's deal's owner; the first won or lost (won) entry of its deal after
# it, a window over the deal's visits newest first; the deal's last entry into the same stage
# before it, a window over the deal's visits of the stage oldest first; in both the visits
# that began at the same moment left out (``EXCLUDE GROUP``: strictly after, before).
FILL = """
UPDATE sales_stagevisit SET owner_id = filled.owner_id, decided_at = filled.decided_at,
    won_at = filled.won_at, prior_entered_at = filled.prior_entered_at
FROM (
    SELECT visit.id, deal.owner_id,
        MIN(CASE WHEN stage.kind IN ('won', 'lost') THEN visit.entered_at END)
            OVER later AS decided_at,
        MIN(CASE WHEN stage.kind = 'won' THEN visit.entered_at END) OVER later AS won_at,
        MAX(visit.entered_at) OVER earlier_here AS prior_entered_at
    FROM sales_stagevisit visit
    JOIN sales_deal deal ON deal.id = visit.deal_id
    JOIN sales_stage stage ON stage.id = visit.stage_id
    WINDOW later AS (
        PARTITION BY visit.deal_id ORDER BY visit.entered_at DESC
        RANGE BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW EXCLUDE GROUP
    ), earlier_here AS (
        PARTITION BY visit.deal_id, visit.stage_id ORDER BY visit.entered_at
        RANGE BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW EXCLUDE GROUP
    )
) filled
WHERE filled.id = sales_stagevisit.id
"""


class Migration(migrations.Migration):
    dependencies = [
        ("sales", "0010_funnel_deal_owner_pipeline_visit_deal_covering"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="stagevisit",
            name="owner",
            # No constraint while the rows are filled: PostgreSQL would queue a check per
            # row; 0012 adds it, checked once over the table.
            field=models.ForeignKey(
                db_constraint=False,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.AddField(
            model_name="stagevisit",
            name="decided_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="stagevisit",
            name="won_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="stagevisit",
            name="prior_entered_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.RunSQL(FILL, migrations.RunSQL.noop),
    ]
