"""The reference service's app factory: the kernel plus the shop's modules (``apibase serve`` runs this).

A team's own service looks the same: its modules in a list, its API versions, one call to ``create_app``.
"""

from __future__ import annotations

from datetime import date

from fastapi import FastAPI

from apibase.core.settings import Settings
from apibase.infrastructure.observability.tracing import TracingHandle
from apibase.interface.http.versioning import ApiVersion, DeprecationPolicy
from apibase.main import ServiceApi
from apibase.module import Module
from apibase.service import ServiceDefinition
from shop.access import role_policy
from shop.catalog.module import CatalogModule
from shop.ordering.module import OrderingModule

__all__ = ["API", "SERVICE", "V1_DEPRECATED", "V1_SUNSET", "create_app", "modules"]

#: v1 was superseded by v2 on this date and keeps working until the sunset; both show in v1 response headers.
V1_DEPRECATED = date(2026, 11, 1)
V1_SUNSET = date(2027, 6, 30)
TITLE = "API Base reference service"

API = ServiceApi(
    title=TITLE,
    versions=(
        ApiVersion(
            "v1",
            deprecated=DeprecationPolicy(deprecated_at=V1_DEPRECATED, sunset=V1_SUNSET, successor="/api/v2"),
            title=TITLE,
            description="Products (offset pages, flat prices) and orders. Deprecated: use v2.",
        ),
        ApiVersion(
            "v2",
            title=TITLE,
            description=(
                "Products with keyset pagination, orders and sales reports, every amount a money object; "
                "what you GET you can PUT back."
            ),
        ),
    ),
    audit_versions=("v2",),
)


def modules() -> list[Module]:
    """The shop's feature modules, in dependency order (ordering's lines refer to catalog's products)."""
    return [CatalogModule(), OrderingModule()]


SERVICE = ServiceDefinition(api=API, modules=modules, roles=role_policy)


def create_app(settings: Settings | None = None, *, tracing: TracingHandle | None = None) -> FastAPI:
    return SERVICE.create_app(settings, tracing=tracing)
