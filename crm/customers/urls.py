"""URLs of the customer base."""

from typing import Any

from django.urls import URLPattern, path

from crm.customers.views import (
    custom_fields,
    duplicates,
    export,
    handover,
    reassign,
    search,
)
from crm.customers.views import customer_pages as views
from crm.customers.views.kinds import PAGES

app_name = "customers"


def _customer_urls(pages: views.Pages[Any]) -> list[URLPattern]:
    """The pages of one kind of customer: ``<entity>_list``, ``_create``, ``_detail`` …"""
    prefix, entity, kwargs = pages.path, pages.entity, {"pages": pages}
    return [
        path(f"{prefix}/", views.customer_list, kwargs, name=f"{entity}_list"),
        path(f"{prefix}/new/", views.customer_form, kwargs, name=f"{entity}_create"),
        path(
            f"{prefix}/check/",
            views.customer_duplicate_check,
            kwargs,
            name=f"{entity}_duplicate_check",
        ),
        path(f"{prefix}/<int:pk>/", views.customer_detail, kwargs, name=f"{entity}_detail"),
        path(f"{prefix}/<int:pk>/edit/", views.customer_form, kwargs, name=f"{entity}_edit"),
        path(f"{prefix}/<int:pk>/share/", views.customer_share, kwargs, name=f"{entity}_share"),
        path(
            f"{prefix}/export.csv",
            export.customer_export,
            {"entity": entity},
            name=f"{entity}_export",
        ),
    ]


urlpatterns = [
    *(pattern for pages in PAGES for pattern in _customer_urls(pages)),
    path("search/", search.search, name="search"),
    path("search/suggest/", search.search_suggest, name="search_suggest"),
    path("duplicates/", duplicates.duplicate_list, name="duplicates"),
    path("duplicates/scan/", duplicates.duplicate_scan, name="duplicate_scan"),
    path("duplicates/merge/", duplicates.duplicate_merge_pairs, name="duplicate_merge_pairs"),
    path("duplicates/<int:pk>/dismiss/", duplicates.duplicate_dismiss, name="duplicate_dismiss"),
    path("merge/<str:entity>/<int:first>/<int:second>/", duplicates.merge, name="merge"),
    path("merges/<int:pk>/undo/", duplicates.merge_undo, name="merge_undo"),
    path("fields/", custom_fields.custom_field_list, name="custom_field_list"),
    path("fields/new/", custom_fields.custom_field_create, name="custom_field_create"),
    path("fields/<int:pk>/edit/", custom_fields.custom_field_edit, name="custom_field_edit"),
    path("reassign/", reassign.reassign, name="reassign"),
    path("reassign/handover/", handover.handover, name="handover"),
    path("reassign/<int:pk>/", reassign.reassign_status, name="reassign_status"),
]
