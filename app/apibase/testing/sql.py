"""The widget table and a harness that runs the repository contract on any SQLAlchemy database.

The table lives in its own metadata, so it never leaks into the service's migrations. It is a ``GlobalTable``:
the contract is about the repository's own promises; tenant isolation has its own contract (``tenancy.py``).
"""

from __future__ import annotations

import uuid
from decimal import Decimal

from sqlalchemy import MetaData, String, Uuid
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from apibase.application.cursor import CursorCodec
from apibase.application.mapper import GenericMapper
from apibase.application.ports.unit_of_work import UnitOfWork
from apibase.infrastructure.persistence.column_types import ExactDecimal
from apibase.infrastructure.persistence.orm import AuditColumns, GlobalTable, VersionedColumns
from apibase.infrastructure.persistence.repository import SQLAlchemyRepository
from apibase.infrastructure.persistence.unit_of_work import SQLAlchemyUnitOfWork
from apibase.testing.contract import WidgetRepository
from apibase.testing.widgets import WIDGET_FIELDS, Widget, WidgetCreate, WidgetUpdate

__all__ = ["SqlWidgetHarness", "WidgetRow", "WidgetSqlRepository", "widget_metadata"]


class _WidgetBase(DeclarativeBase):
    metadata = MetaData()


widget_metadata = _WidgetBase.metadata


class WidgetRow(GlobalTable, VersionedColumns, AuditColumns, _WidgetBase):
    __tablename__ = "contract_widgets"

    id: Mapped[uuid.UUID] = mapped_column(Uuid(), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    price: Mapped[Decimal] = mapped_column(ExactDecimal(12, 2))
    quantity: Mapped[int]
    category: Mapped[str | None] = mapped_column(String(50))


class WidgetSqlRepository(SQLAlchemyRepository[Widget, WidgetRow, WidgetCreate, WidgetUpdate, uuid.UUID]):
    mapper = GenericMapper(entity=Widget, model=WidgetRow, response=Widget)
    filterable_fields = WIDGET_FIELDS
    sortable_fields = WIDGET_FIELDS


class SqlWidgetHarness:
    """``RepositoryHarness`` for the contract suite; create the tables with ``widget_metadata`` first."""

    def __init__(self, engine: AsyncEngine, session_factory: async_sessionmaker[AsyncSession]) -> None:
        self.engine = engine
        self._session_factory = session_factory
        self._codec = CursorCodec("contract-suite-cursor-secret")

    def unit_of_work(self) -> UnitOfWork:
        return SQLAlchemyUnitOfWork(self._session_factory)

    def repository(self, unit_of_work: UnitOfWork) -> WidgetRepository:
        if not isinstance(unit_of_work, SQLAlchemyUnitOfWork):
            raise TypeError("the SQL harness needs the SQLAlchemy unit of work it created")
        return WidgetSqlRepository(unit_of_work, cursor_codec=self._codec)
