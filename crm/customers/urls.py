"""URLs of the customer base."""

from django.urls import path

from crm.customers.views import (
    companies,
    contacts,
    custom_fields,
    duplicates,
    export,
    reassign,
    search,
)

app_name = "customers"

urlpatterns = [
    path("contacts/", contacts.contact_list, name="contact_list"),
    path("contacts/new/", contacts.contact_create, name="contact_create"),
    path("contacts/check/", contacts.contact_duplicate_check, name="contact_duplicate_check"),
    path("contacts/<int:pk>/", contacts.contact_detail, name="contact_detail"),
    path("contacts/<int:pk>/edit/", contacts.contact_edit, name="contact_edit"),
    path("contacts/<int:pk>/share/", contacts.contact_share, name="contact_share"),
    path("contacts/export.csv", export.contact_export, name="contact_export"),
    path("companies/export.csv", export.company_export, name="company_export"),
    path("companies/", companies.company_list, name="company_list"),
    path("companies/new/", companies.company_create, name="company_create"),
    path("companies/check/", companies.company_duplicate_check, name="company_duplicate_check"),
    path("companies/<int:pk>/", companies.company_detail, name="company_detail"),
    path("companies/<int:pk>/edit/", companies.company_edit, name="company_edit"),
    path("companies/<int:pk>/share/", companies.company_share, name="company_share"),
    path("search/", search.search, name="search"),
    path("search/suggest/", search.search_suggest, name="search_suggest"),
    path("duplicates/", duplicates.duplicate_list, name="duplicates"),
    path("duplicates/scan/", duplicates.duplicate_scan, name="duplicate_scan"),
    path("duplicates/<int:pk>/dismiss/", duplicates.duplicate_dismiss, name="duplicate_dismiss"),
    path("merge/<str:entity>/<int:first>/<int:second>/", duplicates.merge, name="merge"),
    path("merges/<int:pk>/undo/", duplicates.merge_undo, name="merge_undo"),
    path("fields/", custom_fields.custom_field_list, name="custom_field_list"),
    path("fields/new/", custom_fields.custom_field_create, name="custom_field_create"),
    path("fields/<int:pk>/edit/", custom_fields.custom_field_edit, name="custom_field_edit"),
    path("reassign/", reassign.reassign, name="reassign"),
    path("reassign/<int:pk>/", reassign.reassign_status, name="reassign_status"),
]
