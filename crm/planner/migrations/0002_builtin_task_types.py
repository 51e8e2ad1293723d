from django.db import migrations

BUILTIN = [("call", "Звонок", 10), ("meeting", "Встреча", 20), ("email", "Письмо", 30), ("todo", "Дело", 40)]


def create(apps, schema_editor):
    TaskType = apps.get_model("planner", "TaskType")
    for code, name, position in BUILTIN:
        TaskType.objects.get_or_create(code=code, defaults={"name": name, "position": position})


class Migration(migrations.Migration):
    dependencies = [("planner", "0001_initial")]
    operations = [migrations.RunPython(create, migrations.RunPython.noop)]
