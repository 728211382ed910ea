"""The catalog's sales counters on SQLite: the order-event handlers, their SQL storage and the query that reads it."""

from __future__ import annotations

import pytest

from shop.testing.sales_counters import SalesCountersContract

pytestmark = pytest.mark.unit


class TestSalesCountersOnSqlite(SalesCountersContract):
    pass
