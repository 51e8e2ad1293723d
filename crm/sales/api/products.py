"""The product catalogue: everyone signed in reads it; administrators and heads of sales
edit it (the services refuse others with 403). Products are archived, never deleted."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Query, Router, Status

from crm.core.api import READ_ERRORS, WRITE_ERRORS, DatabaseId, request_user
from crm.sales import selectors_money
from crm.sales.api.schemas import ProductIn, ProductListParams, ProductOut, ProductPageOut
from crm.sales.services import products as product_services

products_router = Router(tags=["Products"])


# --- products ---------------------------------------------------------------------------------


@products_router.get("", response={200: ProductPageOut, **READ_ERRORS}, summary="The catalogue")
def product_list(request: HttpRequest, params: Query[ProductListParams]) -> Any:
    """Live products by name (``archived``: the archived ones, for editors)."""
    return selectors_money.product_page(
        user=request_user(request),
        query=params.q,
        archived=params.archived,
        cursor=params.cursor,
        limit=params.limit,
    )


@products_router.post(
    "",
    response={201: ProductOut, **WRITE_ERRORS},
    summary="Add a product (administrators, heads of sales)",
)
def product_create(request: HttpRequest, payload: ProductIn) -> Any:
    product = product_services.product_create(
        actor=request_user(request), **payload.model_dump(exclude_unset=True)
    )
    return Status(201, product)


@products_router.get(
    "/{product_id}", response={200: ProductOut, **READ_ERRORS}, summary="One product"
)
def product_detail(request: HttpRequest, product_id: DatabaseId) -> Any:
    return selectors_money.product_get(user=request_user(request), pk=product_id)


@products_router.patch(
    "/{product_id}",
    response={200: ProductOut, **WRITE_ERRORS},
    summary="Change a product (administrators, heads of sales)",
)
def product_update(request: HttpRequest, product_id: DatabaseId, payload: ProductIn) -> Any:
    """Lines already on deals keep their own name and price."""
    actor = request_user(request)
    product = selectors_money.product_get(user=actor, pk=product_id)
    return product_services.product_update(
        actor=actor, product=product, **payload.model_dump(exclude_unset=True)
    )


@products_router.post(
    "/{product_id}/archive",
    response={200: ProductOut, **WRITE_ERRORS},
    summary="Archive a product (administrators, heads of sales)",
)
def product_archive(request: HttpRequest, product_id: DatabaseId) -> Any:
    """Hide a product from the catalogue and the picker; deals that use it keep their lines."""
    actor = request_user(request)
    product = selectors_money.product_get(user=actor, pk=product_id)
    return product_services.product_archive(actor=actor, product=product)


@products_router.post(
    "/{product_id}/restore",
    response={200: ProductOut, **WRITE_ERRORS},
    summary="Bring an archived product back (administrators, heads of sales)",
)
def product_restore(request: HttpRequest, product_id: DatabaseId) -> Any:
    actor = request_user(request)
    product = selectors_money.product_get(user=actor, pk=product_id)
    return product_services.product_restore(actor=actor, product=product)
