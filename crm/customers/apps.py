from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CustomersConfig(AppConfig):
    name = "crm.customers"
    label = "customers"
    verbose_name = _("Customers")

    def ready(self) -> None:
        from django.urls import reverse

        from crm.customers.models import Company, Contact
        from crm.customers.selectors import company_timeline, contact_timeline
        from crm.planner.subjects import SubjectKind, register

        register(
            SubjectKind(
                Contact,
                Contact.objects.visible_to,
                lambda record: reverse("customers:contact_detail", args=[record.pk]),
                shareable=True,
                history=lambda record, user, limit: (
                    contact_timeline(contact=record, limit=limit).items
                ),
            )
        )
        register(
            SubjectKind(
                Company,
                Company.objects.visible_to,
                lambda record: reverse("customers:company_detail", args=[record.pk]),
                shareable=True,
                history=lambda record, user, limit: (
                    company_timeline(company=record, user=user, limit=limit).items
                ),
            )
        )
