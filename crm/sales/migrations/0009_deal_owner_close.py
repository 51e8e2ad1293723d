"""The forecast for a head or a manager: the viewer's deals by expected close, index only."""

from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('customers', '0012_last_touch'),
        ('sales', '0008_sales_report_covering_indexes'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddIndex(
            model_name='deal',
            index=models.Index(fields=['owner', 'expected_close'], include=('id', 'status', 'stage', 'currency', 'amount'), name='deal_owner_close'),
        ),
    ]
