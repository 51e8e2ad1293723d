"""``manage.py demo_sales``: products, stage rules and deals for the demo team.

Runs after ``demo_data`` (``make run`` calls both). Everything goes through the services,
so stage history, tasks, timeline entries and amounts are what the product itself makes.
Deterministic (``random.Random(2026)``); a second run finds deals and changes nothing.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import random
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone, translation

from crm.core.errors import ValidationFailed
from crm.customers.models import Company, Contact
from crm.sales.models import Deal, LostReason, Pipeline, Product, StageAction
from crm.sales.services import deals as deal_services
from crm.sales.services.lines import deal_line_add
from crm.sales.services.payments import payment_add

SEED = 2026

PRODUCTS = [
    # name, sku, unit, price, VAT
    ("Кухонный гарнитур «Прованс», погонный метр", "KT-PRV", "m", "48500.00", "22"),
    ("Кухонный гарнитур «Модерн», погонный метр", "KT-MDR", "m", "39900.00", "22"),
    ("Шкаф-купе 2400×600×2600", "SK-2400", "pcs", "74000.00", "22"),
    ("Столешница из искусственного камня, п. м.", "ST-KMN", "m", "18900.00", "22"),
    ("Окно ПВХ двухстворчатое 1300×1400", "OK-1314", "pcs", "21500.00", "22"),
    ("Дверь межкомнатная «Классика»", "DV-KLS", "pcs", "16800.00", "22"),
    ("Встраиваемая техника: варочная панель", "BT-VP", "pcs", "32990.00", "22"),
    ("Замер на объекте", "SRV-ZMR", "service", "1500.00", "22"),
    ("Доставка по Москве", "SRV-DST", "service", "3500.00", "22"),
    ("Сборка и монтаж", "SRV-MNT", "h", "1800.00", "22"),
    ("Дизайн-проект кухни", "SRV-DZN", "service", "12000.00", "22"),
]

TITLES_RETAIL = [
    "Кухня",
    "Шкаф-купе",
    "Окна в квартиру",
    "Межкомнатные двери",
    "Гардеробная",
    "Кухня с техникой",
]
TITLES_WHOLESALE = [
    "Кухни для ЖК «Северный»",
    "Мебель для офиса",
    "Окна для школы",
    "Двери для гостиницы",
    "Шкафы для общежития",
    "Мебель для детского сада",
    "Кухни для апарт-отеля",
]


class Command(BaseCommand):
    help = "Load demo products, stage rules and deals (after demo_data)."

    def handle(self, *args: Any, **options: Any) -> None:
        # History and notifications are written in the installation's language.
        with translation.override(settings.LANGUAGE_CODE):
            self._handle()

    def _handle(self) -> None:
        if Deal.objects.exists():
            self.stdout.write("Demo deals exist; nothing to do.")
            return
        users = {user.username: user for user in get_user_model().objects.filter(is_active=True)}
        if "admin" not in users:
            self.stdout.write("Run demo_data first.")
            return
        with transaction.atomic():
            self._products()
            self._rules(users)
            count = self._deals(users)
        self.stdout.write(f"Demo sales: {Product.objects.count()} products, {count} deals.")

    def _products(self) -> None:
        Product.objects.bulk_create(
            Product(name=name, sku=sku, unit=unit, price=Decimal(price), vat_rate=vat)
            for name, sku, unit, price, vat in PRODUCTS
        )

    def _rules(self, users: dict[str, Any]) -> None:
        retail, wholesale = Pipeline.objects.get(name="Розница"), Pipeline.objects.get(name="Опт")
        invoice = retail.stages.get(name="Счёт выставлен")
        invoice.required_fields = ["amount", "invoice_number"]
        invoice.stale_after_days = 5
        invoice.save()
        StageAction.objects.create(
            stage=invoice,
            kind="create_task",
            config={
                "title": "Проконтролировать оплату счёта",
                "type": "call",
                "due_in": 2,
                "due_unit": "work_days",
                "assignee": "responsible",
            },
        )
        paid = retail.stages.get(name="Оплачено")
        paid.required_fields = ["paid"]
        paid.save()
        StageAction.objects.create(
            stage=paid, kind="notify", config={"recipients": ["head"], "message": "Оплата получена"}
        )
        new_retail = retail.stages.get(name="Новая")
        new_retail.stale_after_days = 2
        new_retail.save()
        StageAction.objects.create(
            stage=new_retail,
            kind="create_task",
            config={
                "title": "Связаться с клиентом",
                "type": "call",
                "due_in": 2,
                "due_unit": "work_hours",
                "assignee": "responsible",
            },
        )
        measure = wholesale.stages.get(name="Замер на объекте")
        measure.required_fields = ["client", "expected_close"]
        measure.save()
        StageAction.objects.create(
            stage=measure,
            kind="create_task",
            config={
                "title": "Выехать на замер",
                "type": "meeting",
                "due_in": 2,
                "due_unit": "work_days",
                "assignee": "responsible",
            },
        )
        estimate = wholesale.stages.get(name="Смета")
        estimate.required_fields = ["lines"]
        estimate.stale_after_days = 7
        estimate.save()
        contract = wholesale.stages.get(name="Договор")
        contract.required_fields = ["amount", "contract_number"]
        contract.save()
        StageAction.objects.create(
            stage=contract,
            kind="notify",
            config={"recipients": ["head"], "message": "Подписываем договор"},
        )
        prepayment = wholesale.stages.get(name="Предоплата")
        prepayment.required_fields = ["prepayment"]
        prepayment.save()

    def _deals(self, users: dict[str, Any]) -> int:
        rng = random.Random(SEED)  # noqa: S311 - deterministic demo data, not security
        products = list(Product.objects.all())
        reasons = list(LostReason.objects.all())
        managers = [
            users[name] for name in ("ivanova", "petrov", "smirnov", "head") if name in users
        ]
        contacts = list(
            Contact.objects.filter(client_type="private", merged_into__isnull=True).order_by("id")[
                :40
            ]
        )
        companies = list(Company.objects.filter(merged_into__isnull=True).order_by("id")[:30])
        count = 0
        for index, client in enumerate([*contacts[:24], *companies[:24]]):
            owner = (
                client.owner if client.owner.role != "readonly" else managers[index % len(managers)]
            )
            is_company = isinstance(client, Company)
            title = rng.choice(TITLES_WHOLESALE if is_company else TITLES_RETAIL)
            data: dict[str, Any] = {
                "title": f"{title} — {client}"[:200],
                "company_id" if is_company else "contact_id": client.pk,
                "expected_close": (
                    timezone.localdate() + dt.timedelta(days=rng.randint(-10, 60))
                ).isoformat(),
                "owner_id": owner.pk,
                "amount_from_lines": True,
            }
            deal = deal_services.deal_create(actor=owner, data=data)
            count += 1
            for product in rng.sample(products, rng.randint(1, 3)):
                quantity = Decimal(rng.randint(1, 12 if is_company else 4))
                deal_line_add(
                    actor=owner,
                    deal=deal,
                    product=product,
                    quantity=quantity,
                    discount_percent=Decimal(rng.choice([0, 0, 5, 10])),
                )
            self._advance(deal, owner, rng, reasons)
        return count

    def _advance(
        self, deal: Deal, owner: Any, rng: random.Random, reasons: list[LostReason]
    ) -> None:
        """Walk the deal forward through a random number of stages, filling in what each
        stage demands as a manager would."""
        stages = [s for s in deal.pipeline.stages.order_by("position") if s.kind == "open"]
        target = rng.randint(0, len(stages) - 1)
        deal.refresh_from_db()
        for stage in stages[1 : target + 1]:
            updates: dict[str, Any] = {}
            if "invoice_number" in stage.required_fields:
                updates["invoice_number"] = f"СЧ-{deal.pk:04d}"
            if "contract_number" in stage.required_fields:
                updates["contract_number"] = f"Д-{deal.pk:04d}/26"
            if "prepayment" in stage.required_fields or "paid" in stage.required_fields:
                deal.refresh_from_db()
                share = Decimal("0.5") if "prepayment" in stage.required_fields else Decimal(1)
                amount = (deal.amount or Decimal(0)) * share
                if amount > 0:
                    payment_add(
                        actor=owner,
                        deal=deal,
                        kind="prepayment" if share < 1 else "final",
                        amount=amount.quantize(Decimal("0.01")),
                        status="received",
                        paid_on=timezone.localdate(),
                        method="bank_transfer",
                    )
            try:
                deal_services.deal_move(
                    actor=owner, pk=deal.pk, stage_id=stage.pk, updates=updates or None
                )
            except ValidationFailed:
                return
        roll = rng.random()
        if roll < 0.15:
            with contextlib.suppress(ValidationFailed):
                deal_services.deal_win(actor=owner, pk=deal.pk)
        elif roll < 0.27 and reasons:
            deal_services.deal_lose(actor=owner, pk=deal.pk, lost_reason_id=rng.choice(reasons).pk)
