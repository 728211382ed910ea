"""The order repository: an order is stored as one orders row plus its order_lines rows, always together.

Reads load every listed order's lines with one extra ``IN`` query (never one per order); writes go through the
generic version-guarded statements for the order row, then replace its lines in the same transaction.
"""

from __future__ import annotations

from collections import defaultdict
from functools import lru_cache
from typing import Never, cast

from sqlalchemy import Select, Table, delete, insert, select

from apibase.application.cursor import CursorCodec
from apibase.infrastructure.crypto.field_encryption import FieldEncryptor
from apibase.infrastructure.persistence.orm import TENANT_COLUMN
from apibase.infrastructure.persistence.query_hints import QueryHints, columns_except
from apibase.infrastructure.persistence.repository import SQLAlchemyRepository
from apibase.infrastructure.persistence.unit_of_work import SQLAlchemyUnitOfWork
from shop.ordering.domain.order import Order, OrderId
from shop.ordering.infrastructure.mapper import OrderMapper
from shop.ordering.infrastructure.tables import OrderLineRow, OrderRow

__all__ = ["ORDER_FIELDS", "OrderRepository"]

ORDER_FIELDS = frozenset({"id", "status", "customer_email", "currency", "total", "created_at", "updated_at"})

# Declarative classes type ``__table__`` as any FromClause; a mapped class's table is always a Table.
_LINES = cast("Table", OrderLineRow.__table__)


@lru_cache(maxsize=8)
def _mapper(encryptor: FieldEncryptor) -> OrderMapper:
    """One mapper per encryptor, not one per unit of work: building a mapper inspects three classes."""
    return OrderMapper(encryptor)


class OrderRepository(SQLAlchemyRepository[Order, OrderRow, Never, Never, OrderId]):
    """Orders are created by ``Order.place`` and changed by their methods: use ``add`` and ``save``.

    ``create``/``update`` take ``Never``, so the type checker refuses every call to them.
    """

    mapper = OrderMapper()
    filterable_fields = ORDER_FIELDS
    sortable_fields = ORDER_FIELDS
    #: Every column but the tenant's: each statement already fixes it, and an order has no field for it.
    query_hints = QueryHints(columns=columns_except(OrderRow, TENANT_COLUMN))

    def __init__(
        self, unit_of_work: SQLAlchemyUnitOfWork, *, cursor_codec: CursorCodec, encryptor: FieldEncryptor | None = None
    ) -> None:
        """``encryptor`` encrypts the shipping address; None keeps the class's mapper (the development key)."""
        if encryptor is not None:
            self.mapper = _mapper(encryptor)
        super().__init__(unit_of_work, cursor_codec=cursor_codec)

    async def _entities(
        self, statement: Select[tuple[object, ...]], parameters: dict[str, object] | None = None
    ) -> list[Order]:
        rows = (await self._uow.execute(statement, parameters)).all()
        if not rows:
            return []
        lines: defaultdict[object, list[object]] = defaultdict(list)
        query = (
            select(_LINES)
            .where(_LINES.c.order_id.in_([row.id for row in rows]))
            .order_by(_LINES.c.order_id, _LINES.c.position)
        )
        for line in (await self._uow.execute(query)).all():
            lines[line.order_id].append(line)
        return [self.mapper.to_order(row, lines[row.id]) for row in rows]

    async def _replace_lines(self, order: Order, *, existing: bool) -> None:
        session = self._uow.session
        if existing:
            await session.execute(delete(_LINES).where(_LINES.c.order_id == order.id))
        await session.execute(insert(_LINES), self.mapper.line_rows(order))

    async def add(self, entity: Order) -> Order:
        await super().add(entity)
        await self._replace_lines(entity, existing=False)
        return entity

    async def save(self, entity: Order) -> Order:
        await super().save(entity)
        await self._replace_lines(entity, existing=True)
        return entity
