"""polyfactory factories for the sample widget: valid random data with one call."""

from __future__ import annotations

from decimal import Decimal

from polyfactory.factories.pydantic_factory import ModelFactory

from apibase.testing.widgets import Widget, WidgetCreate

__all__ = ["WidgetCreateFactory", "WidgetFactory"]


class WidgetCreateFactory(ModelFactory[WidgetCreate]):
    __check_model__ = False

    @classmethod
    def price(cls) -> Decimal:
        return Decimal(cls.__random__.randint(0, 1_000_000)) / 100


class WidgetFactory(ModelFactory[Widget]):
    __check_model__ = False

    @classmethod
    def price(cls) -> Decimal:
        return Decimal(cls.__random__.randint(0, 1_000_000)) / 100

    @classmethod
    def deleted_at(cls) -> None:
        return None
