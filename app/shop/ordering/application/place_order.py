"""Placing an order: price the lines from the catalog, check the order, take the stock, store both at once."""

from __future__ import annotations

from apibase.application.cqrs.handlers import CommandHandler
from apibase.application.cqrs.unit_of_work import current_unit_of_work
from apibase.core.errors import AnyAppError
from apibase.core.result import Ok, Result
from apibase.domain.specification import field
from shop.ordering.application.dto import OrderOut
from shop.ordering.application.errors import UnknownProductError
from shop.ordering.application.messages import PlaceOrder
from shop.ordering.application.ports import OrderingDependencies
from shop.ordering.domain.line import OrderLine
from shop.ordering.domain.order import Order, check_line_count

__all__ = ["PlaceOrderHandler"]


class PlaceOrderHandler(CommandHandler[PlaceOrder, OrderOut]):
    """Prices and skus are read from the products in the same transaction that decrements their stock.

    Each product is saved with its version guard, so two orders racing for the last units cannot both win:
    the later one gets a ``ConcurrencyConflict`` and may simply be retried.
    """

    def __init__(self, dependencies: OrderingDependencies) -> None:
        self._dependencies = dependencies

    async def handle(self, command: PlaceOrder) -> Result[OrderOut, AnyAppError]:
        check_line_count(len(command.lines))  # before any per-line work, so a huge request costs nothing
        unit = current_unit_of_work()
        products = self._dependencies.products(unit)
        wanted = list(dict.fromkeys(line.product_id for line in command.lines))
        found = {product.id: product for product in await products.find(field("id").is_in(wanted))}
        missing = [str(product_id) for product_id in wanted if product_id not in found]
        if missing:
            raise UnknownProductError(
                f"no such product: {', '.join(missing)}", extensions={"product_ids": list(missing)}
            )
        lines = [
            OrderLine.of(
                product_id=found[request.product_id].id,
                sku=found[request.product_id].sku,
                unit_price=found[request.product_id].price,
                currency=found[request.product_id].currency,
                quantity=request.quantity,
            )
            for request in command.lines
        ]
        currency = command.currency or lines[0].currency
        order = Order.place(
            customer_email=command.customer_email,
            currency=currency,
            lines=lines,
            shipping_address=command.shipping_address,
        )
        for line in order.lines:
            found[line.product_id].withdraw_stock(line.quantity)
        for product_id in sorted(found, key=str):  # one lock order for every transaction
            await products.save(found[product_id])
        await self._dependencies.orders(unit).add(order)
        return Ok(OrderOut.from_order(order))
