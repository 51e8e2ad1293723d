"""The routing a new installation starts with: private clients to «Розница», businesses
and government bodies to «Опт», everything else to «Розница». The administrator sets the
teams and strategies in the UI (the demo data does it for the demo teams)."""

from django.db import migrations


def create(apps, schema_editor):
    Pipeline = apps.get_model("sales", "Pipeline")
    RoutingRule = apps.get_model("leads", "RoutingRule")
    if RoutingRule.objects.exists():
        return
    retail = Pipeline.objects.filter(name="Розница").first()
    wholesale = Pipeline.objects.filter(name="Опт").first()
    if retail is None or wholesale is None:
        return
    RoutingRule.objects.create(
        name="Частные клиенты — в розницу", position=0, conditions={"client_types": ["private"]}, pipeline=retail
    )
    RoutingRule.objects.create(
        name="Компании и госзаказчики — в опт",
        position=1,
        conditions={"client_types": ["business", "government"]},
        pipeline=wholesale,
        response_minutes=120,
    )
    RoutingRule.objects.create(name="Все остальные", position=99, is_default=True, pipeline=retail)


class Migration(migrations.Migration):
    dependencies = [("leads", "0001_initial"), ("sales", "0002_defaults")]
    operations = [migrations.RunPython(create, migrations.RunPython.noop)]
