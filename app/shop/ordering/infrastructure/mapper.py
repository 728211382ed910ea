"""Order ↔ rows: the order row maps generically; its lines travel as rows of their own table.

The shipping address is personal data: it is encrypted on the way into the row and decrypted on the way out,
bound to its field name and the order's id, so the column only ever holds ciphertext and a value copied into
another order fails to decrypt (``DecryptionFailed``) rather than showing the wrong address.
"""

from __future__ import annotations

from collections.abc import Sequence

from apibase.application.mapper import GenericMapper
from apibase.infrastructure.crypto.field_encryption import FieldEncryptor
from apibase.infrastructure.crypto.key_ring_from_settings import development_encryptor
from shop.ordering.application.dto import OrderOut
from shop.ordering.domain.line import OrderLine
from shop.ordering.domain.order import Order
from shop.ordering.infrastructure.tables import OrderRow

__all__ = ["ENCRYPTED_ORDER_FIELDS", "SHIPPING_ADDRESS", "OrderMapper"]

SHIPPING_ADDRESS = "shipping_address"
#: Columns of ``orders`` that hold ciphertext: never filterable or sortable, and walked by the re-encryption job.
ENCRYPTED_ORDER_FIELDS = frozenset({SHIPPING_ADDRESS})


class _OrderSource:
    """An order row with its lines attached, read by pydantic's ``from_attributes`` like one object."""

    __slots__ = ("_row", "lines", "shipping_address")

    def __init__(self, row: object, lines: Sequence[OrderLine], shipping_address: str | None) -> None:
        self._row = row
        self.lines = tuple(lines)
        self.shipping_address = shipping_address

    def __getattr__(self, name: str) -> object:
        return getattr(self._row, name)


class OrderMapper(GenericMapper[Order, OrderRow, OrderOut]):
    model_transforms = {"total": lambda order: order.total, "status": lambda order: order.status.value}  # noqa: RUF012

    def __init__(self, encryptor: FieldEncryptor | None = None) -> None:
        """``encryptor`` None uses the development key (tests and tools); the service passes its own ring."""
        self._encryptor = encryptor if encryptor is not None else development_encryptor()
        # Only model transforms: an order is never rebuilt from its row alone, always by ``to_order``.
        super().__init__(model_transforms={SHIPPING_ADDRESS: self._encrypted_address})

    @property
    def encryptor(self) -> FieldEncryptor:
        return self._encryptor

    def to_order(self, row: object, line_rows: Sequence[object]) -> Order:
        """Rebuild the aggregate from its row and its line rows, re-validating every invariant on the way in."""
        lines = [OrderLine.model_validate(line, from_attributes=True) for line in line_rows]
        return Order.model_validate(_OrderSource(row, lines, self._decrypted_address(row)), from_attributes=True)

    def _encrypted_address(self, order: Order) -> str | None:
        if order.shipping_address is None:
            return None
        return self._encryptor.encrypt(order.shipping_address, field=SHIPPING_ADDRESS, record_id=str(order.id))

    def _decrypted_address(self, row: object) -> str | None:
        """The plaintext, or ``DecryptionFailed`` (a 500) for a ciphertext that is not this order's own."""
        token: str | None = getattr(row, SHIPPING_ADDRESS)
        if token is None:
            return None
        return self._encryptor.decrypt(token, field=SHIPPING_ADDRESS, record_id=str(getattr(row, "id")))  # noqa: B009

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
