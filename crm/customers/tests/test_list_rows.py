"""The list rows rendered in Python (``templatetags/customer_rows.py``) are the markup the
template fragments rendered: the same HTML for awkward data (markup in names, tags and
e-mails, no name, several places of work, a government body, a short name), in Russian and
English, in the user's time zone."""

from __future__ import annotations

import datetime as dt
import re
from html import escape

import pytest
from django.template import engines
from django.utils import timezone, translation

from crm.customers.models import Company, Contact
from crm.customers.selectors import company_table, contact_table
from crm.customers.tests.factories import make_company, make_contact

pytestmark = pytest.mark.django_db

# The fragments as they were before the rows moved to Python (customers/partials/*_rows.html).
CONTACT_ROWS = """{% load i18n record_links %}
    {% translate "(no name)" as no_name %}{% translate "Private client" as type_private %}{% translate "Business" as type_business %}{% translate "Government body" as type_government %}
    {% for contact in page.items %}
      <tr>
        <td><a class="fw-semibold" href="{% record_url 'customers:contact_detail' contact.pk %}"><bdi>{{ contact.full_name|default:no_name }}</bdi></a>
          <div class="small text-muted">{% if contact.client_type == "private" %}{{ type_private }}{% elif contact.client_type == "business" %}{{ type_business }}{% elif contact.client_type == "government" %}{{ type_government }}{% else %}{{ contact.get_client_type_display }}{% endif %}</div></td>
        <td>{% for employment in contact.employment_list %}<a href="{% record_url 'customers:company_detail' employment.company_id %}"><bdi>{{ employment.name }}</bdi></a>{% if not forloop.last %}, {% endif %}{% endfor %}</td>
        <td>{% for phone in contact.phone_list %}<a class="text-nowrap text-decoration-none" href="tel:{{ phone.value }}">{{ phone.display }}</a>{% endfor %}</td>
        <td class="text-break">{% for email in contact.email_list %}<a class="text-decoration-none" href="mailto:{{ email }}">{{ email }}</a>{% endfor %}</td>
        <td>{% for tag in contact.tag_list %}<span class="badge rounded-pill text-bg-light border me-1">{{ tag }}</span>{% endfor %}</td>
        <td class="text-nowrap">{{ contact.owner }}</td>
        <td class="text-nowrap small text-muted">{{ contact.created_at|date:"SHORT_DATE_FORMAT" }}</td>
      </tr>
    {% endfor %}"""

COMPANY_ROWS = """{% load i18n record_links %}
    {% translate "Business" as type_business %}{% translate "Government body" as type_government %}
    {% for company in page.items %}
      <tr>
        <td><a class="fw-semibold" href="{% record_url 'customers:company_detail' company.pk %}"><bdi>{{ company.display_name }}</bdi></a>
          {% if company.short_name and company.short_name != company.legal_name %}<div class="small text-muted"><bdi>{{ company.legal_name }}</bdi></div>{% endif %}</td>
        <td class="font-monospace">{{ company.inn }}</td>
        <td>{% if company.kind == "government" %}<span class="badge text-bg-info">{{ type_government }}</span>{% elif company.kind == "business" %}{{ type_business }}{% else %}{{ company.get_kind_display }}{% endif %}</td>
        <td>{% for point in company.phone_list %}<a class="text-nowrap text-decoration-none" href="tel:{{ point.value }}">{{ point.display }}</a>{% endfor %}</td>
        <td>{% for tag in company.tag_list %}<span class="badge rounded-pill text-bg-light border me-1">{{ tag }}</span>{% endfor %}</td>
        <td class="text-nowrap">{{ company.owner }}</td>
        <td class="text-nowrap small text-muted">{{ company.created_at|date:"SHORT_DATE_FORMAT" }}</td>
      </tr>
    {% endfor %}"""

NOW_TAG = "{% load customer_rows %}{% contact_rows page.items %}"
NOW_COMPANY_TAG = "{% load customer_rows %}{% company_rows page.items %}"


def _render(source: str, page) -> str:
    html = engines["django"].from_string(source).render({"page": page})
    return re.sub(r"\s+", " ", html).replace("> <", "><").strip()


@pytest.fixture
def awkward(org):
    org.head.first_name, org.head.last_name = "<b>Глава</b>", "O'Neil & Co"
    org.head.save()
    org.manager.first_name = org.manager.last_name = ""  # shown by the login
    org.manager.save()
    alpha = make_company(
        org.head, legal_name="Альфа <script>", short_name="Альфа", inn="7707083893"
    )
    state = make_company(org.head, legal_name="Мэрия", kind="government", phones=["+74951234567"])
    make_company(org.head, legal_name="Бета", short_name="Бета", tags=["<i>опт</i>", "а&б"])
    make_contact(
        org.head,
        last_name='Иванов "Ваня"',
        first_name="<Иван>",
        middle_name="",
        client_type="business",
        phones=["+7 912 345-67-89", "+1 650 253 0000"],
        emails=["o'neil+1@example.ru"],
        tags=["vip", "<x>", "ж&з"],
        employments=[{"company_id": alpha.pk}, {"company_id": state.pk}],
    )
    nameless = make_contact(org.head, last_name="Безымянный", phones=["+79160000000"])
    Contact.objects.filter(pk=nameless.pk).update(last_name="", first_name="")  # older data
    make_contact(org.manager, last_name="Госслужащий", client_type="government")
    # A day boundary: 22:30 UTC is already tomorrow in Moscow.
    late = timezone.make_aware(dt.datetime(2025, 3, 1, 22, 30), dt.UTC)
    Contact.objects.filter(last_name="Госслужащий").update(created_at=late)
    Company.objects.filter(legal_name="Мэрия").update(created_at=late)
    return org


@pytest.mark.parametrize("language", ["ru", "en"])
@pytest.mark.parametrize("zone", ["Europe/Moscow", "America/New_York"])
def test_contact_rows_are_the_markup_of_the_former_template(awkward, language, zone):
    with translation.override(language), timezone.override(zone):
        page = contact_table(user=awkward.head)
        assert len(page.items) == 3
        expected, rendered = _render(CONTACT_ROWS, page), _render(NOW_TAG, page)
    assert rendered == expected
    assert "&lt;Иван&gt;" in rendered and "<Иван>" not in rendered
    assert "&lt;x&gt;" in rendered and "ж&amp;з" in rendered
    assert "Альфа»</bdi></a>, <a href=" in rendered  # two places of work, comma-separated
    for owner in (awkward.head, awkward.manager):  # the owner as ``str(user)``
        assert f'<td class="text-nowrap">{escape(str(owner))}</td>' in rendered
    assert '<td class="text-nowrap">manager</td>' in rendered


@pytest.mark.parametrize("language", ["ru", "en"])
@pytest.mark.parametrize("zone", ["Europe/Moscow", "America/New_York"])
def test_company_rows_are_the_markup_of_the_former_template(awkward, language, zone):
    with translation.override(language), timezone.override(zone):
        page = company_table(user=awkward.head)
        assert len(page.items) == 3
        expected, rendered = _render(COMPANY_ROWS, page), _render(NOW_COMPANY_TAG, page)
    assert rendered == expected
    assert 'class="badge text-bg-info"' in rendered  # the government body
    assert "Альфа &lt;script&gt;" in rendered  # the legal name under a short one


def test_an_empty_page_has_no_rows(org):
    page = contact_table(user=org.manager)
    assert page.items == []
    assert _render(NOW_TAG, page) == ""
