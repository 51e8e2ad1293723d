from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CustomersConfig(AppConfig):
    name = "crm.customers"
    label = "customers"
    verbose_name = _("Customers")

    def ready(self) -> None:
        from django.urls import reverse

        from crm.customers.models import Company, Contact
        from crm.planner.subjects import SubjectKind, register

        register(
            SubjectKind(
                Contact,
                Contact.objects.visible_to,
                lambda record: reverse("customers:contact_detail", args=[record.pk]),
                shareable=True,
            )
        )
        register(
            SubjectKind(
                Company,
                Company.objects.visible_to,
                lambda record: reverse("customers:company_detail", args=[record.pk]),
                shareable=True,
            )
        )
