"""Reports per owner, index only: open deals per stage (the dashboard) and won deals in a
period with the client columns (the clients report; the won deals' ids of the leads report)."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('sales', '0006_deal_closed_visit_stage_payment_paid_indexes'),
    ]

    operations = [
        migrations.AddIndex(
            model_name='deal',
            index=models.Index(condition=models.Q(('status', 'open')), fields=['owner', 'stage', 'currency'], include=('id', 'amount'), name='deal_open_owner_stage'),
        ),
        migrations.AddIndex(
            model_name='deal',
            index=models.Index(condition=models.Q(('status', 'won')), fields=['owner', 'closed_at'], include=('id', 'currency', 'amount', 'company', 'contact'), name='deal_won_owner_closed'),
        ),
    ]
