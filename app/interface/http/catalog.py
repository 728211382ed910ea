"""The products endpoints of the reference service, v1 and v2, from the CRUD router factory."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

from app.application.catalog.dto import ProductCreate, ProductOut, ProductOutV2, ProductUpdate
from app.application.catalog.service import PRODUCT_FIELDS
from app.application.ports.service import Service
from app.domain.catalog.product import Product, ProductId
from app.domain.identity.permissions import Permission
from app.interface.http.crud import (
    CrudOperation,
    CrudResource,
    Pagination,
    Provider,
    create_crud_router,
    field_types,
)
from app.interface.http.security.authorization import require

__all__ = ["PRODUCT_PERMISSIONS", "products_router_v1", "products_router_v2"]

_EXAMPLE = {"sku": "GEAR-001", "name": "Gear", "price": "9.99", "currency": "EUR", "stock": 25, "active": True}
#: Typed from the create model where it has constraints (a filter never holds what a product could not).
_FILTERS = PRODUCT_FIELDS - {"id"}
_FILTER_TYPES = {**field_types(ProductOut, _FILTERS), **field_types(ProductCreate, _FILTERS)}
_READ = [require(Permission.PRODUCTS_READ)]
_WRITE = [require(Permission.PRODUCTS_WRITE)]
PRODUCT_PERMISSIONS = {
    CrudOperation.CREATE: _WRITE,
    CrudOperation.LIST: _READ,
    CrudOperation.READ: _READ,
    CrudOperation.REPLACE: _WRITE,
    CrudOperation.UPDATE: _WRITE,
    CrudOperation.DELETE: [require(Permission.PRODUCTS_DELETE)],
}


def _products[TResponse: BaseModel](
    service: Provider[Service[Product, ProductCreate, ProductUpdate, TResponse, ProductId]],
    response_model: type[TResponse],
    pagination: Pagination,
) -> APIRouter:
    return create_crud_router(
        CrudResource(
            name="product",
            plural="products",
            service=service,
            id_type=ProductId,
            create_model=ProductCreate,
            update_model=ProductUpdate,
            response_model=response_model,
            filter_types=_FILTER_TYPES,
            sortable_fields=PRODUCT_FIELDS,
            pagination=pagination,
            create_example=_EXAMPLE,
            permissions=PRODUCT_PERMISSIONS,
        )
    )


def products_router_v1(
    service: Provider[Service[Product, ProductCreate, ProductUpdate, ProductOut, ProductId]],
) -> APIRouter:
    """``/products`` with offset pagination and the flat v1 representation."""
    return _products(service, ProductOut, Pagination.OFFSET)


def products_router_v2(
    service: Provider[Service[Product, ProductCreate, ProductUpdate, ProductOutV2, ProductId]],
) -> APIRouter:
    """``/products`` with keyset pagination by default and the v2 money object."""
    return _products(service, ProductOutV2, Pagination.CURSOR)
