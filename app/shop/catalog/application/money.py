"""Money as v2 of the API shows and takes it: one ``{amount, currency}`` object, never a bare number.

An amount without its currency means nothing, and a flat ``price`` beside a separate ``currency`` invites
clients to mix them up; v1 keeps its flat fields (a frozen contract), v2 uses these two models everywhere.
"""

from __future__ import annotations

from decimal import Decimal

from pydantic import BaseModel, ConfigDict

from shop.catalog.domain.product import CurrencyCode, Price

__all__ = ["MoneyIn", "MoneyOut"]


class MoneyOut(BaseModel):
    """An amount as the service reports it (a price, a subtotal, a total)."""

    amount: Decimal
    currency: str


class MoneyIn(BaseModel):
    """A price as a client sets it: what ``MoneyOut`` shows is accepted back unchanged."""

    model_config = ConfigDict(extra="forbid")

    amount: Price
    currency: CurrencyCode
