"""The in-memory repository and unit of work pass the shared repository contract."""

from __future__ import annotations

import uuid

import pytest

from apibase.application.cursor import CursorCodec
from apibase.application.in_memory import InMemoryRepository, InMemoryUnitOfWork
from apibase.application.ports.unit_of_work import UnitOfWork
from apibase.testing.contract import RepositoryContract, WidgetRepository
from apibase.testing.widgets import WIDGET_FIELDS, Widget, WidgetCreate, WidgetUpdate, new_widget

pytestmark = pytest.mark.unit


class WidgetMemoryRepository(InMemoryRepository[Widget, WidgetCreate, WidgetUpdate, uuid.UUID]):
    filterable_fields = WIDGET_FIELDS
    sortable_fields = WIDGET_FIELDS


class MemoryHarness:
    def __init__(self) -> None:
        self.widgets = WidgetMemoryRepository(Widget, new_widget, cursor_codec=CursorCodec("contract-test-secret"))

    def unit_of_work(self) -> UnitOfWork:
        return InMemoryUnitOfWork(self.widgets)

    def repository(self, unit_of_work: UnitOfWork) -> WidgetRepository:
        return self.widgets


class TestInMemoryRepository(RepositoryContract):
    @pytest.fixture
    def harness(self) -> MemoryHarness:
        return MemoryHarness()
