"""A possible-duplicate pair has a tier: "likely" (act on it) or "possible"; pairs stored
before it are "possible" until the next scan scores them."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('customers', '0015_bulkreassignment_counts'),
    ]

    operations = [
        migrations.AddField(
            model_name='duplicatepair',
            name='tier',
            field=models.CharField(choices=[('likely', 'Likely duplicates'), ('possible', 'Possible duplicates')], default='possible', max_length=10, verbose_name='tier'),
        ),
    ]
