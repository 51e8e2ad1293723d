"""The pipelines, reasons for loss and document templates a new installation starts with.

Names are Russian (the product's first language); the administrator renames them in the UI.
"""

from django.db import migrations

RETAIL = [
    ("Новая", "open", 10, "#0d6efd"),
    ("Счёт выставлен", "open", 50, "#6f42c1"),
    ("Оплачено", "open", 90, "#20c997"),
    ("Отгружено", "won", 100, "#198754"),
    ("Отказ", "lost", 0, "#dc3545"),
]
WHOLESALE = [
    ("Новая", "open", 5, "#0d6efd"),
    ("Выявление потребностей", "open", 10, "#0dcaf0"),
    ("Замер на объекте", "open", 20, "#6610f2"),
    ("Смета", "open", 30, "#6f42c1"),
    ("КП отправлено", "open", 40, "#d63384"),
    ("Договор", "open", 60, "#fd7e14"),
    ("Предоплата", "open", 75, "#ffc107"),
    ("В производстве", "open", 85, "#20c997"),
    ("Доставка", "open", 95, "#198754"),
    ("Закрыта", "won", 100, "#157347"),
    ("Отказ", "lost", 0, "#dc3545"),
]
REASONS = ["Дорого", "Выбрали конкурента", "Нет потребности", "Не дозвонились", "Сроки не подошли"]
TEMPLATES = [
    ("proposal", "Коммерческое предложение"),
    ("invoice", "Счёт на оплату"),
    ("contract", "Договор поставки"),
]


def create(apps, schema_editor):
    Pipeline = apps.get_model("sales", "Pipeline")
    Stage = apps.get_model("sales", "Stage")
    LostReason = apps.get_model("sales", "LostReason")
    DocumentTemplate = apps.get_model("sales", "DocumentTemplate")
    if Pipeline.objects.exists():
        return
    for position, (name, client_types, stages) in enumerate(
        [("Розница", ["private"], RETAIL), ("Опт", ["business", "government"], WHOLESALE)]
    ):
        pipeline = Pipeline.objects.create(name=name, position=position, client_types=client_types)
        Stage.objects.bulk_create(
            Stage(pipeline=pipeline, name=n, kind=k, probability=p, color=c, position=i)
            for i, (n, k, p, c) in enumerate(stages)
        )
    LostReason.objects.bulk_create(
        LostReason(name=name, position=i) for i, name in enumerate(REASONS)
    )
    DocumentTemplate.objects.bulk_create(
        DocumentTemplate(kind=kind, name=name, builtin=True, is_default=True)
        for kind, name in TEMPLATES
    )


class Migration(migrations.Migration):
    dependencies = [("sales", "0001_initial")]
    operations = [migrations.RunPython(create, migrations.RunPython.noop)]
