"""Test kit for services built on API Base: the repository contract, in-memory doubles, factories,
Hypothesis strategies, and round-trip checks of Results and of HTTP resources. Needs the ``testing`` extra
(pytest, hypothesis, polyfactory); the HTTP checks take the ``httpx`` client of the caller's tests."""

from apibase.application.in_memory import (
    InMemoryEventPublisher,
    InMemoryRepository,
    InMemoryStore,
    InMemoryUnitOfWork,
)
from apibase.testing.contract import RepositoryContract, RepositoryHarness, WidgetRepository
from apibase.testing.factories import WidgetCreateFactory, WidgetFactory
from apibase.testing.roundtrip import assert_resources_round_trip, assert_result_round_trips
from apibase.testing.strategies import prices, results, widget_creates, widgets
from apibase.testing.widgets import WIDGET_FIELDS, Widget, WidgetCreate, WidgetRenamed, WidgetUpdate, new_widget

__all__ = [
    "WIDGET_FIELDS",
    "InMemoryEventPublisher",
    "InMemoryRepository",
    "InMemoryStore",
    "InMemoryUnitOfWork",
    "RepositoryContract",
    "RepositoryHarness",
    "Widget",
    "WidgetCreate",
    "WidgetCreateFactory",
    "WidgetFactory",
    "WidgetRenamed",
    "WidgetRepository",
    "WidgetUpdate",
    "assert_resources_round_trip",
    "assert_result_round_trips",
    "new_widget",
    "prices",
    "results",
    "widget_creates",
    "widgets",
]
