"""``manage.py demo_leads``: the demo team's routing, a site form, partner codes and a day
of incoming leads (after ``demo_data``; ``make run`` calls it). Every lead comes in
through the real intake, so matching, routing, assignment and notifications are what the
product does. A second run finds leads and changes nothing."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.utils import timezone, translation

from crm.accounts.models import Team
from crm.leads.models import Lead, PartnerCode, RoutingRule
from crm.leads.services import intake
from crm.leads.services.webforms import webform_save

REQUESTS: list[tuple[str, dict[str, Any]]] = [
    (
        "web_form",
        {
            "name": "Ольга Смирнова",
            "phone": "+7 916 555-12-34",
            "message": "Хочу кухню в новую квартиру, 3,5 метра",
            "budget": "до 300 000",
            "utm_source": "yandex",
            "utm_campaign": "kitchens",
        },
    ),
    (
        "web_form",
        {
            "name": "Дмитрий",
            "email": "dmitry.k@example.ru",
            "message": "Сколько стоит шкаф-купе 2,4 м?",
            "utm_source": "vk",
        },
    ),
    (
        "api",
        {
            "name": "Сергей Волков",
            "company": "ООО «СтройИнвест»",
            "inn": "7736207543",
            "email": "zakupki@stroyinvest.example.ru",
            "message": "Кухни для 40 квартир ЖК, нужен расчёт",
            "client_type": "business",
        },
    ),
    (
        "api",
        {
            "name": "Марина",
            "phone": "+7 903 111-22-33",
            "partner": "design-studio",
            "message": "От дизайнера: кухня и гардеробная",
        },
    ),
    (
        "manual",
        {
            "name": "Игорь Павлов",
            "phone": "+7 925 700-80-90",
            "message": "Звонил на личный, просит замер в субботу",
        },
    ),
    (
        "api",
        {
            "name": "ГБОУ Школа № 1234",
            "company": "ГБОУ Школа № 1234",
            "email": "school1234@example.edu.ru",
            "message": "Мебель для кабинетов, госзакупка",
            "client_type": "government",
        },
    ),
]


class Command(BaseCommand):
    help = "Load demo routing, a web form and incoming leads (after demo_data)."

    def handle(self, *args: Any, **options: Any) -> None:
        # History and notifications are written in the installation's language.
        with translation.override(settings.LANGUAGE_CODE):
            self._handle()

    def _handle(self) -> None:
        if Lead.objects.exists():
            self.stdout.write("Demo leads exist; nothing to do.")
            return
        users = {user.username: user for user in get_user_model().objects.all()}
        if "admin" not in users:
            self.stdout.write("Run demo_data first.")
            return
        moscow = Team.objects.filter(name__icontains="Москва").first()
        RoutingRule.objects.filter(conditions__client_types=["private"]).update(
            team=moscow, strategy="round_robin", response_minutes=30
        )
        RoutingRule.objects.exclude(conditions__client_types=["private"]).filter(
            is_default=False
        ).update(
            team=moscow, strategy="least_loaded", response_minutes=120, reassign_on_escalation=True
        )
        RoutingRule.objects.filter(is_default=True).update(team=moscow, strategy="round_robin")
        PartnerCode.objects.get_or_create(
            code="design-studio", defaults={"name": "Студия дизайна «Интерьер»"}
        )
        form = webform_save(
            actor=users["admin"],
            name="Заявка с сайта",
            fields=[
                {"name": "name", "label": "Ваше имя", "type": "text", "required": True},
                {"name": "phone", "label": "Телефон", "type": "tel"},
                {"name": "email", "label": "E-mail", "type": "email"},
                {"name": "message", "label": "Что вас интересует?", "type": "textarea"},
                {
                    "name": "budget",
                    "label": "Бюджет",
                    "type": "select",
                    "options": ["до 100 000", "до 300 000", "больше 300 000"],
                },
            ],
            allowed_origins=["http://127.0.0.1:8000", "http://localhost:8000"],
            thank_you_text="Спасибо! Менеджер перезвонит в течение получаса в рабочее время.",
            min_fill_seconds=2,
        )
        for channel, payload in REQUESTS:
            inbound, _ = intake.inbound_store(
                channel=channel,
                payload=payload,
                form=form if channel == "web_form" else None,
                process=False,
                actor=users.get("ivanova") if channel == "manual" else None,
            )
            intake.inbound_process(inbound.pk)
        # One lead nobody answered yesterday, to show the overdue response and escalation.
        late = Lead.objects.order_by("id").first()
        if late is not None:
            Lead.objects.filter(pk=late.pk).update(
                respond_by=timezone.now() - dt.timedelta(hours=3),
                created_at=timezone.now() - dt.timedelta(hours=20),
            )
        self.stdout.write(f"Demo leads: {Lead.objects.count()} leads, web form /f/{form.key}")
