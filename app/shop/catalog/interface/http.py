"""The products endpoints of the reference service, v1 and v2, from the CRUD router factory."""

from __future__ import annotations

from collections.abc import Mapping
from typing import cast

from fastapi import APIRouter
from pydantic import BaseModel

from apibase.application.ports.service import Service
from apibase.interface.http.crud import (
    CrudOperation,
    CrudResource,
    Pagination,
    Provider,
    create_crud_router,
)
from apibase.interface.http.query_filters import field_types
from apibase.interface.http.security.authorization import require
from shop.catalog.application.dto import (
    ProductCreate,
    ProductCreateV2,
    ProductOut,
    ProductOutV1,
    ProductOutV2,
    ProductUpdate,
    ProductUpdateV2,
)
from shop.catalog.application.service import PRODUCT_FIELDS
from shop.catalog.domain.permissions import PRODUCTS_DELETE, PRODUCTS_READ, PRODUCTS_WRITE
from shop.catalog.domain.product import Product, ProductId

__all__ = ["PRODUCT_PERMISSIONS", "products_router_v1", "products_router_v2"]

_EXAMPLE_V1 = {"sku": "GEAR-001", "name": "Gear", "price": "9.99", "currency": "EUR", "stock": 25, "active": True}
_EXAMPLE_V2 = {
    "sku": "GEAR-001",
    "name": "Gear",
    "description": "<p>A <strong>sturdy</strong> gear.</p>",
    "price": {"amount": "9.99", "currency": "EUR"},
    "stock": 25,
    "active": True,
}
#: Typed from the create model where it has constraints (a filter never holds what a product could not).
_FILTERS = PRODUCT_FIELDS - {"id"}
_FILTER_TYPES = {**field_types(ProductOut, _FILTERS), **field_types(ProductCreate, _FILTERS)}
_READ = [require(PRODUCTS_READ)]
_WRITE = [require(PRODUCTS_WRITE)]
PRODUCT_PERMISSIONS = {
    CrudOperation.CREATE: _WRITE,
    CrudOperation.LIST: _READ,
    CrudOperation.READ: _READ,
    CrudOperation.REPLACE: _WRITE,
    CrudOperation.UPDATE: _WRITE,
    CrudOperation.DELETE: [require(PRODUCTS_DELETE)],
}


def _products[TCreate: BaseModel, TUpdate: BaseModel, TResponse: BaseModel](
    service: Provider[Service[Product, TCreate, TUpdate, TResponse, ProductId]],
    models: tuple[type[TCreate], type[TUpdate], type[TResponse]],
    pagination: Pagination,
    example: Mapping[str, object],
    *,
    frozen: bool = False,
) -> APIRouter:
    create, update, response = models
    resource = CrudResource(
        name="product",
        plural="products",
        service=service,
        id_type=ProductId,
        create_model=create,
        update_model=update,
        response_model=response,
        filter_types=_FILTER_TYPES,
        sortable_fields=PRODUCT_FIELDS,
        permissions=PRODUCT_PERMISSIONS,
        pagination=pagination,
        create_example=example,
        replace_accepts_read_only=not frozen,
    )
    return create_crud_router(resource)


def products_router_v1(
    service: Provider[Service[Product, ProductCreate, ProductUpdate, ProductOut, ProductId]],
) -> APIRouter:
    """``/products`` with offset pagination and the flat v1 representation (deprecated: its contract is frozen).

    The service's ``ProductOut`` is a ``ProductOutV1`` with the fields added since; the response model shows only
    v1's (FastAPI drops the others). The cast is needed only because ``Page`` makes ``Service`` invariant.
    """
    frozen = cast("Provider[Service[Product, ProductCreate, ProductUpdate, ProductOutV1, ProductId]]", service)
    return _products(frozen, (ProductCreate, ProductUpdate, ProductOutV1), Pagination.OFFSET, _EXAMPLE_V1, frozen=True)


def products_router_v2(
    service: Provider[Service[Product, ProductCreateV2, ProductUpdateV2, ProductOutV2, ProductId]],
) -> APIRouter:
    """``/products`` with keyset pagination, money objects in and out, and bodies that round-trip."""
    return _products(service, (ProductCreateV2, ProductUpdateV2, ProductOutV2), Pagination.CURSOR, _EXAMPLE_V2)
