"""``{% record_url %}`` and ``{% page_url %}`` give what ``{% url %}`` gives, whatever the id and the script prefix,
and refuses as it does a name that takes no id."""

from __future__ import annotations

import pytest
from django.template import Context, Template
from django.urls import NoReverseMatch, reverse, set_script_prefix


@pytest.fixture
def script_prefix():
    yield set_script_prefix
    set_script_prefix("/")


def render(name: str, pk: int) -> str:
    return Template("{% load record_links %}{% record_url name pk %}").render(
        Context({"name": name, "pk": pk})
    )


@pytest.mark.parametrize("name", ["customers:contact_detail", "customers:company_detail"])
@pytest.mark.parametrize("pk", [1, 7, 918, 2**40])
def test_the_link_is_the_one_reverse_gives(name, pk):
    assert render(name, pk) == reverse(name, args=[pk])


def test_the_link_follows_the_script_prefix(script_prefix):
    assert render("customers:contact_detail", 5) == "/customers/contacts/5/"
    script_prefix("/crm/")
    assert render("customers:contact_detail", 5) == "/crm/customers/contacts/5/"
    assert render("customers:contact_detail", 5) == reverse("customers:contact_detail", args=[5])


def test_a_url_without_one_id_is_refused():
    with pytest.raises(NoReverseMatch):
        render("customers:contact_list", 5)


def test_a_page_link_is_the_one_reverse_gives(script_prefix):
    page = Template("{% load record_links %}{% page_url 'customers:contact_list' %}")
    assert page.render(Context()) == reverse("customers:contact_list")
    script_prefix("/crm/")
    assert page.render(Context()) == "/crm/customers/contacts/"
