"""Order ↔ rows: the order row maps generically; its lines travel as rows of their own table."""

from __future__ import annotations

from collections.abc import Sequence

from app.application.mapper import GenericMapper
from app.application.ordering.dto import OrderOut
from app.domain.ordering.line import OrderLine
from app.domain.ordering.order import Order
from app.infrastructure.persistence.ordering.tables import OrderRow

__all__ = ["OrderMapper"]


class _OrderSource:
    """An order row with its lines attached, read by pydantic's ``from_attributes`` like one object."""

    __slots__ = ("_row", "lines")

    def __init__(self, row: object, lines: Sequence[OrderLine]) -> None:
        self._row = row
        self.lines = tuple(lines)

    def __getattr__(self, name: str) -> object:
        return getattr(self._row, name)


class OrderMapper(GenericMapper[Order, OrderRow, OrderOut]):
    model_transforms = {"total": lambda order: order.total, "status": lambda order: order.status.value}  # noqa: RUF012

    def to_order(self, row: object, line_rows: Sequence[object]) -> Order:
        """Rebuild the aggregate from its row and its line rows, re-validating every invariant on the way in."""
        lines = [OrderLine.model_validate(line, from_attributes=True) for line in line_rows]
        return Order.model_validate(_OrderSource(row, lines), from_attributes=True)

    @staticmethod
    def line_rows(order: Order) -> list[dict[str, object]]:
        return [
            {
                "order_id": order.id,
                "position": position,
                "product_id": line.product_id,
                "sku": line.sku,
                "unit_price": line.unit_price,
                "currency": line.currency,
                "quantity": line.quantity,
            }
            for position, line in enumerate(order.lines, start=1)
        ]
