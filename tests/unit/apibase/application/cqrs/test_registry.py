from __future__ import annotations

import pytest

from apibase.application.cqrs.handlers import CommandHandler, QueryHandler
from apibase.application.cqrs.messages import BaseCommand, BaseQuery
from apibase.application.cqrs.registry import (
    DuplicateHandlerError,
    HandlerNotFoundError,
    HandlerRegistry,
    HandlerRegistryError,
    HandlerTypeError,
    message_type_of_function,
    message_type_of_handler,
)
from apibase.core.errors import AnyAppError
from apibase.core.result import Ok, Result

pytestmark = pytest.mark.unit


class CreateOrder(BaseCommand[int]):
    sku: str


class CancelOrder(BaseCommand[None]):
    order_id: int


class GetOrder(BaseQuery[str]):
    order_id: int


class CreateOrderHandler(CommandHandler[CreateOrder, int]):
    async def handle(self, command: CreateOrder) -> Result[int, AnyAppError]:
        return Ok(1)


class Mixin:
    pass


class AuditedCreateOrderHandler(Mixin, CreateOrderHandler):
    """A plain subclass: the message type comes from its parent's declaration."""


class BaseCrudHandler[C: BaseCommand[object]](CommandHandler[C, int]):
    async def handle(self, command: C) -> Result[int, AnyAppError]:
        return Ok(0)


class CancelOrderHandler(BaseCrudHandler[CancelOrder]):
    """The message type goes through an intermediate generic class."""


class Unparametrised(CommandHandler):  # type: ignore[type-arg]
    async def handle(self, command: BaseCommand[object]) -> Result[object, AnyAppError]:
        return Ok(None)


class GetOrderHandler(QueryHandler[GetOrder, str]):
    async def handle(self, query: GetOrder) -> Result[str, AnyAppError]:
        return Ok("order")


async def create_order(command: CreateOrder) -> Result[int, AnyAppError]:
    return Ok(1)


def sync_create_order(command: CreateOrder) -> Result[int, AnyAppError]:
    return Ok(1)


async def no_parameters() -> Result[int, AnyAppError]:
    return Ok(1)


async def unannotated(command) -> Result[int, AnyAppError]:  # type: ignore[no-untyped-def]
    return Ok(1)


async def not_a_class(command: CreateOrder | None) -> Result[int, AnyAppError]:
    return Ok(1)


class TestMessageTypeOfHandler:
    def test_reads_the_generic_base(self) -> None:
        assert message_type_of_handler(CreateOrderHandler(), CommandHandler) is CreateOrder
        assert message_type_of_handler(GetOrderHandler(), QueryHandler) is GetOrder

    def test_follows_plain_subclasses(self) -> None:
        assert message_type_of_handler(AuditedCreateOrderHandler(), CommandHandler) is CreateOrder

    def test_substitutes_type_variables_of_intermediate_generic_classes(self) -> None:
        assert message_type_of_handler(CancelOrderHandler(), CommandHandler) is CancelOrder

    def test_rejects_a_handler_of_another_kind(self) -> None:
        with pytest.raises(HandlerTypeError, match=r"GetOrderHandler does not subclass CommandHandler"):
            message_type_of_handler(GetOrderHandler(), CommandHandler)

    def test_rejects_an_unbound_type_variable(self) -> None:
        with pytest.raises(HandlerTypeError, match="declare it with a concrete class"):
            message_type_of_handler(BaseCrudHandler(), CommandHandler)

    def test_rejects_a_bare_generic_base(self) -> None:
        with pytest.raises(HandlerTypeError, match="cannot read the message type of Unparametrised"):
            message_type_of_handler(Unparametrised(), CommandHandler)


class TestMessageTypeOfFunction:
    def test_reads_the_first_parameter_annotation(self) -> None:
        assert message_type_of_function(create_order) is CreateOrder

    def test_requires_a_coroutine_function(self) -> None:
        with pytest.raises(HandlerTypeError, match="must be an async function"):
            message_type_of_function(sync_create_order)

    def test_requires_a_parameter(self) -> None:
        with pytest.raises(HandlerTypeError, match="must take the message"):
            message_type_of_function(no_parameters)

    def test_requires_an_annotation(self) -> None:
        with pytest.raises(HandlerTypeError, match="annotate the first parameter"):
            message_type_of_function(unannotated)

    def test_requires_a_class_annotation(self) -> None:
        with pytest.raises(HandlerTypeError, match="annotate the first parameter"):
            message_type_of_function(not_a_class)

    def test_reports_annotations_that_cannot_be_resolved(self) -> None:
        class LocalCommand(BaseCommand[None]):
            pass

        async def local_handler(command: LocalCommand) -> Result[None, AnyAppError]:
            return Ok(None)

        with pytest.raises(HandlerTypeError, match="define the message class at module level") as caught:
            message_type_of_function(local_handler)
        assert isinstance(caught.value.__cause__, NameError)


class TestHandlerRegistry:
    def test_routes_by_exact_message_type(self) -> None:
        registry = HandlerRegistry(BaseCommand)

        registry.add(CreateOrder, create_order)

        assert registry.get(CreateOrder) is create_order
        assert CreateOrder in registry
        assert CancelOrder not in registry
        assert registry.message_types() == frozenset({CreateOrder})

    def test_a_second_handler_for_a_type_is_an_error(self) -> None:
        registry = HandlerRegistry(BaseCommand)
        registry.add(CreateOrder, create_order)

        with pytest.raises(DuplicateHandlerError, match="CreateOrder already has a handler"):
            registry.add(CreateOrder, CreateOrderHandler().handle)
        assert registry.get(CreateOrder) is create_order

    def test_a_missing_handler_is_an_error(self) -> None:
        registry = HandlerRegistry(BaseCommand)

        with pytest.raises(HandlerNotFoundError, match="no handler registered for CreateOrder"):
            registry.get(CreateOrder)

    def test_only_accepts_messages_of_its_kind(self) -> None:
        registry = HandlerRegistry(BaseCommand)

        with pytest.raises(HandlerTypeError, match="GetOrder is not a BaseCommand"):
            registry.add(GetOrder, GetOrderHandler().handle)
        assert GetOrder not in registry

    def test_wiring_errors_share_a_base_and_the_builtin_kinds(self) -> None:
        assert issubclass(HandlerNotFoundError, HandlerRegistryError)
        assert issubclass(HandlerNotFoundError, LookupError)
        assert issubclass(DuplicateHandlerError, HandlerRegistryError)
        assert issubclass(DuplicateHandlerError, ValueError)
        assert issubclass(HandlerTypeError, HandlerRegistryError)
        assert issubclass(HandlerTypeError, TypeError)
