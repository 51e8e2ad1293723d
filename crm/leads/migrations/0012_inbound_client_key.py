"""An arrival keeps who sent it (``client_key``), so that a client's arrivals are processed
in order, one after another, by however many workers (arrivals stored before it have none)."""

from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('leads', '0011_lead_body_points'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name='inbound',
            name='client_key',
            field=models.CharField(blank=True, default='', max_length=200),
        ),
        migrations.AddIndex(
            model_name='inbound',
            index=models.Index(condition=models.Q(('status', 'pending'), models.Q(('client_key', ''), _negated=True)), fields=['client_key', 'received_at', 'id'], name='inbound_pending_client'),
        ),
    ]
