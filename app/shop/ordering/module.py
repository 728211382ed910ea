"""The ordering module: orders placed against the catalog's products, as commands and queries on the kernel's buses."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from apibase.application.cqrs.bus import CommandBus, QueryBus
from apibase.domain.events import DomainEvent
from apibase.domain.identity.permissions import Permission
from apibase.infrastructure.crypto.field_encryption import FieldEncryptor
from apibase.infrastructure.crypto.reencryption import ReencryptionReport
from apibase.kernel import Kernel
from apibase.module import Features, Migrations
from shop.ordering.application.registration import register_ordering_handlers
from shop.ordering.domain.events import OrderCancelled, OrderPaid, OrderPlaced, OrderReturned, OrderShipped
from shop.ordering.domain.permissions import ORDERING_PERMISSIONS
from shop.ordering.infrastructure.reencrypt import reencrypt_orders
from shop.ordering.infrastructure.tables import OrderLineRow, OrderRow
from shop.ordering.infrastructure.wiring import ordering_dependencies
from shop.ordering.interface.http import orders_router_v1, orders_router_v2
from shop.ordering.interface.reports import reports_router

__all__ = ["ORDERING_EVENTS", "ORDERING_MIGRATIONS", "OrderingModule"]

#: Every fact an order records, in the order of its life: they leave the service through the outbox.
ORDERING_EVENTS: tuple[type[DomainEvent], ...] = (OrderPlaced, OrderPaid, OrderShipped, OrderCancelled, OrderReturned)

#: No ``after``: order lines keep no foreign key to the catalog's products (they are a snapshot of the sale).
#: ``legacy``: the revisions of the old single history (before each module had its branch) with the same orders.
ORDERING_MIGRATIONS = Migrations(
    name="ordering",
    versions=Path(__file__).resolve().parent / "infrastructure" / "migrations",
    tables=frozenset({OrderRow.__tablename__, OrderLineRow.__tablename__}),
    legacy={
        "0001": "ordering_0001",
        "0002": "ordering_0001",
        "0003": "ordering_0002",
        "0004": "ordering_0003",
        "0005": "ordering_0003",
        "0006": "ordering_0004",
        "0007": "ordering_0004",
    },
)


@dataclass(frozen=True)
class OrderingModule:
    name: str = "ordering"
    migrations: Migrations | None = ORDERING_MIGRATIONS

    @property
    def permissions(self) -> Mapping[Permission, str]:
        return ORDERING_PERMISSIONS

    def build(self, kernel: Kernel) -> Features:
        register_ordering_handlers(
            kernel.commands,
            kernel.queries,
            ordering_dependencies(cursor_codec=kernel.cursor_codec, encryptor=kernel.encryptor),
        )

        async def commands() -> CommandBus:
            return kernel.commands

        async def queries() -> QueryBus:
            return kernel.queries

        placed = kernel.metrics.counter("orders_placed", "Orders placed")

        async def count_placed(event: DomainEvent) -> None:
            placed()

        return Features(
            routers={
                "v1": [orders_router_v1(commands, queries)],
                "v2": [orders_router_v2(commands, queries), reports_router(queries)],
            },
            event_handlers={OrderPlaced: [count_placed]},
            published_events=ORDERING_EVENTS,
        )

    async def reencrypt(
        self, session_factory: async_sessionmaker[AsyncSession], encryptor: FieldEncryptor, *, batch_size: int
    ) -> ReencryptionReport:
        """The shipping address is encrypted at rest (``apibase security reencrypt`` after a key rotation)."""
        return await reencrypt_orders(session_factory, encryptor, batch_size=batch_size)
