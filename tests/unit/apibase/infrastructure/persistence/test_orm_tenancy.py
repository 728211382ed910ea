"""Every table is tenant-scoped unless it says it is global, and the generic repository follows the table."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import Integer, MetaData, String, Uuid
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from apibase.application.cursor import CursorCodec
from apibase.application.mapper import GenericMapper
from apibase.core.settings import Settings
from apibase.infrastructure.persistence.database import create_engine, create_session_factory
from apibase.infrastructure.persistence.orm import (
    Base,
    GlobalTable,
    Tenancy,
    TenancyPolicy,
    TenantColumns,
    VersionedColumns,
    tenancy_of,
)
from apibase.infrastructure.persistence.repository import SQLAlchemyRepository
from apibase.infrastructure.persistence.schema import TABLE_MODELS
from apibase.infrastructure.persistence.tenancy import TenantRequired, tenant_scope
from apibase.infrastructure.persistence.unit_of_work import SQLAlchemyUnitOfWork
from apibase.testing.suppliers import (
    CarrierRepository,
    Company,
    CompanyCreate,
    CompanyOut,
    CompanyUpdate,
    SupplierRepository,
    sample_metadata,
)

pytestmark = pytest.mark.unit

CODEC = CursorCodec("orm-tenancy-cursor-secret")
ACME = CompanyCreate(name="Acme Parts", country="DE")


class _Base(TenancyPolicy, DeclarativeBase):
    metadata = MetaData()


# -- the declarative base ------------------------------------------------------------------------------------------
def test_the_service_base_applies_the_policy() -> None:
    assert issubclass(Base, TenancyPolicy)


def test_a_table_that_declares_nothing_is_tenant_scoped_with_an_indexed_tenant_column() -> None:
    class Undeclared(_Base):
        __tablename__ = "undeclared"
        id: Mapped[int] = mapped_column(primary_key=True)

    column = Undeclared.__table__.c.tenant_id
    assert tenancy_of(Undeclared) is Tenancy.TENANT
    assert (column.nullable, column.index, column.type.length) == (False, True, 63)


def test_a_global_table_gets_no_tenant_column() -> None:
    class Shared(GlobalTable, _Base):
        __tablename__ = "shared"
        id: Mapped[int] = mapped_column(primary_key=True)

    assert tenancy_of(Shared) is Tenancy.GLOBAL
    assert "tenant_id" not in Shared.__table__.c


def test_a_table_keeps_its_own_tenant_column() -> None:
    class Explicit(TenantColumns, _Base):
        __tablename__ = "explicit"
        id: Mapped[int] = mapped_column(primary_key=True)

    class OwnColumn(_Base):
        __tablename__ = "own_column"
        id: Mapped[int] = mapped_column(primary_key=True)
        tenant_id: Mapped[int] = mapped_column(Integer())

    assert isinstance(Explicit.__table__.c.tenant_id.type, String)
    assert isinstance(OwnColumn.__table__.c.tenant_id.type, Integer)


def test_contradicting_or_misspelt_declarations_fail_at_import() -> None:
    with pytest.raises(TypeError, match="choose one"):

        class Both(GlobalTable, TenantColumns, _Base):
            __tablename__ = "both"
            id: Mapped[int] = mapped_column(primary_key=True)

    with pytest.raises(ValueError, match="globl"):

        class Misspelt(_Base):
            __tablename__ = "misspelt"
            __tenancy__ = "globl"
            id: Mapped[int] = mapped_column(primary_key=True)


def test_every_kernel_table_declares_what_it_is() -> None:
    """No kernel table is scoped by the generic repository: each says why it is global."""
    tenancies = {model.__tablename__: tenancy_of(model) for model in TABLE_MODELS}
    assert tenancies == {
        "users": Tenancy.GLOBAL,  # identity: its own ``tenant`` column, checked by the identity repositories
        "tenant_registrations": Tenancy.GLOBAL,
        "api_keys": Tenancy.GLOBAL,
        "refresh_sessions": Tenancy.GLOBAL,
        "audit_log": Tenancy.GLOBAL,  # the recorder writes and filters its tenant_id itself
        "idempotency_keys": Tenancy.GLOBAL,  # the tenant is part of the key
        "outbox_events": Tenancy.GLOBAL,  # one relay for every tenant; each row names its tenant
        "outbox_dead_letters": Tenancy.GLOBAL,
        "inbox_events": Tenancy.GLOBAL,  # keyed by the event id, unique across tenants
    }


# -- the generic repository ----------------------------------------------------------------------------------------
@pytest.fixture
async def sessions(tmp_path: Path) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = create_engine(Settings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'tenancy.db'}"))
    async with engine.begin() as connection:
        await connection.run_sync(sample_metadata.create_all)
    yield create_session_factory(engine)
    await engine.dispose()


async def test_a_table_that_declares_nothing_is_scoped_by_the_repository(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    with tenant_scope("acme"):
        async with SQLAlchemyUnitOfWork(sessions) as uow:
            repository = SupplierRepository(uow, cursor_codec=CODEC)
            assert repository.tenant_scoped
            created = await repository.create(ACME)
            await uow.commit()
    with tenant_scope("globex"):
        async with SQLAlchemyUnitOfWork(sessions) as uow:
            repository = SupplierRepository(uow, cursor_codec=CODEC)
            assert await repository.get_by_id(created.id) is None
            assert await repository.count() == 0
            assert not await repository.delete(created.id, hard=True)
    async with SQLAlchemyUnitOfWork(sessions) as uow:
        with pytest.raises(TenantRequired):
            await SupplierRepository(uow, cursor_codec=CODEC).get_by_id(created.id)
        with pytest.raises(TenantRequired):
            await SupplierRepository(uow, cursor_codec=CODEC).create(ACME)


async def test_a_global_table_is_shared_and_needs_no_tenant(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with SQLAlchemyUnitOfWork(sessions) as uow:
        repository = CarrierRepository(uow, cursor_codec=CODEC)
        assert not repository.tenant_scoped
        created = await repository.create(ACME)
        await uow.commit()
    for tenant in ("acme", "globex"):
        with tenant_scope(tenant):
            async with SQLAlchemyUnitOfWork(sessions) as uow:
                assert await CarrierRepository(uow, cursor_codec=CODEC).get_by_id(created.id) == created


async def test_a_foreign_table_without_a_tenant_column_is_refused(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """A model from another declarative base is tenant-scoped too; without the column it cannot be, so no repository."""

    class _Foreign(DeclarativeBase):
        metadata = MetaData()

    class ForeignRow(VersionedColumns, _Foreign):
        __tablename__ = "foreign_rows"
        id: Mapped[uuid.UUID] = mapped_column(Uuid(), primary_key=True)
        name: Mapped[str] = mapped_column(String(100))
        country: Mapped[str] = mapped_column(String(2))

    class Foreign(SQLAlchemyRepository[Company, ForeignRow, CompanyCreate, CompanyUpdate, uuid.UUID]):
        mapper = GenericMapper(entity=Company, model=ForeignRow, response=CompanyOut)

    async with SQLAlchemyUnitOfWork(sessions) as uow:
        with pytest.raises(TypeError, match="declare it GlobalTable"):
            Foreign(uow, cursor_codec=CODEC)
