"""``manage.py demo_mail``: two shared e-mail templates (Russian and English) for the demo,
added only when there are no templates yet (``manage.py demo`` runs it)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from crm.correspondence.models import EmailTemplate

TEMPLATES = [
    {
        "name": "Счёт по сделке",
        "language": "ru",
        "subject": "Счёт по сделке «{{ deal.title }}»",
        "body": (
            "Здравствуйте{% if client.first_name %}, {{ client.first_name }}{% endif %}!\n\n"
            "Направляем счёт по сделке «{{ deal.title }}» на сумму {{ deal.amount }} "
            "{{ deal.currency }}. Счёт во вложении.\n\n"
            "С уважением,\n{{ manager.full_name }}\n{{ company.name }}, {{ company.phone }}"
        ),
    },
    {
        "name": "Follow-up after a call",
        "language": "en",
        "subject": "Following up on our call",
        "body": (
            "Dear {{ client.name }},\n\n"
            "Thank you for your time today. As promised, I am sending the details.\n\n"
            "Best regards,\n{{ manager.full_name }}\n{{ company.name }}"
        ),
    },
]


class Command(BaseCommand):
    help = "Add two shared demo e-mail templates unless there are templates already."

    def handle(self, *args: Any, **options: Any) -> None:
        if EmailTemplate.objects.exists():
            return
        EmailTemplate.objects.bulk_create([EmailTemplate(**fields) for fields in TEMPLATES])
        self.stdout.write(f"Demo e-mail templates: {len(TEMPLATES)}.")
