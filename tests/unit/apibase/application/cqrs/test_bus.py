from __future__ import annotations

import logging
from types import TracebackType
from typing import Self

import pytest

from apibase.application.cqrs.behaviours import LoggingBehaviour, TransactionBehaviour
from apibase.application.cqrs.bus import CommandBus, QueryBus
from apibase.application.cqrs.handlers import CommandHandler, QueryHandler
from apibase.application.cqrs.messages import BaseCommand, BaseQuery
from apibase.application.cqrs.pipeline import Next
from apibase.application.cqrs.registry import DuplicateHandlerError, HandlerNotFoundError, HandlerTypeError
from apibase.core.context import correlation_id, principal, tenant
from apibase.core.errors import AnyAppError, NotFoundError
from apibase.core.principal import AuthMethod, Principal
from apibase.core.result import Err, Ok, Result
from apibase.domain.events import DomainEvent

pytestmark = pytest.mark.unit


class CreateOrder(BaseCommand[int]):
    sku: str
    quantity: int = 1


class CreateRushOrder(CreateOrder):
    pass


class CancelOrder(BaseCommand[None]):
    order_id: int


class GetOrder(BaseQuery[str]):
    order_id: int


class ListOrders(BaseQuery[list[int]]):
    pass


class CreateOrderHandler(CommandHandler[CreateOrder, int]):
    def __init__(self) -> None:
        self.seen: list[CreateOrder] = []

    async def handle(self, command: CreateOrder) -> Result[int, AnyAppError]:
        self.seen.append(command)
        return Ok(41 + command.quantity)


class GetOrderHandler(QueryHandler[GetOrder, str]):
    async def handle(self, query: GetOrder) -> Result[str, AnyAppError]:
        if query.order_id == 0:
            return Err(NotFoundError("no such order"))
        return Ok(f"order {query.order_id}")


class Trace:
    def __init__(self, name: str, log: list[str]) -> None:
        self.name = name
        self.log = log

    async def __call__[R](self, message: object, call_next: Next[R]) -> Result[R, AnyAppError]:
        self.log.append(f"{self.name}>")
        result = await call_next()
        self.log.append(f"<{self.name}")
        return result


class RecordingUnitOfWork:
    def __init__(self, log: list[str]) -> None:
        self.log = log

    async def __aenter__(self) -> Self:
        self.log.append("begin")
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.log.append("end")

    async def commit(self) -> None:
        self.log.append("commit")

    async def rollback(self) -> None:
        self.log.append("rollback")

    def nested(self) -> Self:
        raise NotImplementedError

    def collect_events(self) -> list[DomainEvent]:
        return []


class TestCommandBus:
    async def test_registers_a_handler_object_by_its_generic_base(self) -> None:
        bus = CommandBus()
        handler = CreateOrderHandler()

        assert bus.register(handler) is handler
        command = CreateOrder(sku="book", quantity=2)

        assert await bus.dispatch(command) == Ok(43)
        assert handler.seen == [command]
        assert bus.handles(CreateOrder)
        assert bus.message_types() == frozenset({CreateOrder})

    async def test_registers_a_function_by_its_annotation(self) -> None:
        bus = CommandBus()
        cancelled: list[int] = []

        @bus.handler
        async def cancel_order(command: CancelOrder) -> Result[None, AnyAppError]:
            cancelled.append(command.order_id)
            return Ok(None)

        assert await bus.dispatch(CancelOrder(order_id=7)) == Ok(None)
        assert cancelled == [7]
        assert await cancel_order(CancelOrder(order_id=8)) == Ok(None), "the decorator returns the function"

    async def test_a_second_handler_for_a_command_is_refused(self) -> None:
        bus = CommandBus()
        bus.register(CreateOrderHandler())

        with pytest.raises(DuplicateHandlerError, match="CreateOrder"):

            @bus.handler
            async def create_order(command: CreateOrder) -> Result[int, AnyAppError]:
                return Ok(0)

        with pytest.raises(DuplicateHandlerError, match="CreateOrder"):
            bus.register(CreateOrderHandler())

    async def test_a_command_without_handler_raises(self) -> None:
        bus = CommandBus([Trace("outer", [])])

        with pytest.raises(HandlerNotFoundError, match="no handler registered for CancelOrder"):
            await bus.dispatch(CancelOrder(order_id=1))
        assert not bus.handles(CancelOrder)

    async def test_routes_by_exact_type_not_by_subclass(self) -> None:
        bus = CommandBus()
        bus.register(CreateOrderHandler())

        with pytest.raises(HandlerNotFoundError, match="CreateRushOrder"):
            await bus.dispatch(CreateRushOrder(sku="book"))

    async def test_refuses_query_handlers(self) -> None:
        bus = CommandBus()

        with pytest.raises(HandlerTypeError, match="does not subclass CommandHandler"):
            bus.register(GetOrderHandler())  # type: ignore[arg-type]
        with pytest.raises(HandlerTypeError, match="GetOrder is not a BaseCommand"):

            @bus.handler  # type: ignore[type-var]
            async def get_order(query: GetOrder) -> Result[str, AnyAppError]:
                return Ok("")

    async def test_runs_behaviours_outermost_first(self) -> None:
        log: list[str] = []
        bus = CommandBus([Trace("a", log), Trace("b", log)])
        bus.register(CreateOrderHandler())

        await bus.dispatch(CreateOrder(sku="book"))

        assert log == ["a>", "b>", "<b", "<a"]
        assert len(bus.behaviours) == 2

    async def test_standard_pipeline_logs_around_the_transaction(self, caplog: pytest.LogCaptureFixture) -> None:
        caplog.set_level(logging.INFO, logger="apibase.application.cqrs")
        log: list[str] = []
        bus = CommandBus([LoggingBehaviour(), TransactionBehaviour(lambda: RecordingUnitOfWork(log))])
        bus.register(CreateOrderHandler())

        assert await bus.dispatch(CreateOrder(sku="book")) == Ok(42)

        assert log == ["begin", "commit", "end"]
        assert [record.__dict__["outcome"] for record in caplog.records if "outcome" in record.__dict__] == ["ok"]

    async def test_dispatch_stamps_the_command_with_the_caller_and_the_correlation_id(self) -> None:
        bus = CommandBus()
        handler = CreateOrderHandler()
        bus.register(handler)
        alice = Principal("alice", "acme", frozenset(), frozenset(), AuthMethod.API_KEY)
        tokens = (principal.set(alice), tenant.set("acme"), correlation_id.set("checkout-42"))
        try:
            await bus.dispatch(CreateOrder(sku="book"))
        finally:
            correlation_id.reset(tokens[2])
            tenant.reset(tokens[1])
            principal.reset(tokens[0])

        (seen,) = handler.seen
        assert (seen.user_id, seen.tenant_id, seen.correlation_id) == ("alice", "acme", "checkout-42")


class TestQueryBus:
    async def test_registers_a_handler_object_by_its_generic_base(self) -> None:
        bus = QueryBus()
        handler = GetOrderHandler()

        assert bus.register(handler) is handler
        assert await bus.ask(GetOrder(order_id=3)) == Ok("order 3")
        assert await bus.ask(GetOrder(order_id=0)) == Err(NotFoundError("no such order"))

    async def test_registers_a_function_by_its_annotation(self) -> None:
        bus = QueryBus()

        @bus.handler
        async def list_orders(query: ListOrders) -> Result[list[int], AnyAppError]:
            return Ok([1, 2])

        assert await bus.ask(ListOrders()) == Ok([1, 2])
        assert bus.message_types() == frozenset({ListOrders})
        assert list_orders.__name__ == "list_orders"

    async def test_a_second_handler_for_a_query_is_refused(self) -> None:
        bus = QueryBus()
        bus.register(GetOrderHandler())

        with pytest.raises(DuplicateHandlerError, match="GetOrder already has a handler"):
            bus.register(GetOrderHandler())

    async def test_a_query_without_handler_raises(self) -> None:
        with pytest.raises(HandlerNotFoundError, match="no handler registered for ListOrders"):
            await QueryBus().ask(ListOrders())

    async def test_refuses_command_handlers(self) -> None:
        bus = QueryBus()

        with pytest.raises(HandlerTypeError, match="does not subclass QueryHandler"):
            bus.register(CreateOrderHandler())  # type: ignore[arg-type]
        with pytest.raises(HandlerTypeError, match="CancelOrder is not a BaseQuery"):

            @bus.handler  # type: ignore[type-var]
            async def cancel(command: CancelOrder) -> Result[None, AnyAppError]:
                return Ok(None)

    async def test_runs_behaviours_outermost_first(self) -> None:
        log: list[str] = []
        bus = QueryBus([Trace("a", log), Trace("b", log), Trace("c", log)])
        bus.register(GetOrderHandler())

        await bus.ask(GetOrder(order_id=1))

        assert log == ["a>", "b>", "c>", "<c", "<b", "<a"]
