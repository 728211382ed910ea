"""A resource added the shortest documented way, to prove what such a resource gets without asking for it.

``SupplierRow`` declares no tenancy, so it is tenant-scoped (``orm.py``); ``CarrierRow`` is the same shape
declared ``GlobalTable``, shared by every tenant. Each is served by the kernel's ``GenericService`` over the
generic ``SQLAlchemyRepository``; mount them with ``create_crud_router`` (the interface layer, so the tests do
that). The tables live in their own metadata, so they never reach the service's migrations.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import MetaData, String, Uuid
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from apibase.application.cursor import CursorCodec
from apibase.application.mapper import GenericMapper
from apibase.application.service import GenericService
from apibase.domain.entities import AggregateRoot
from apibase.infrastructure.persistence.orm import NAMING_CONVENTION, GlobalTable, TenancyPolicy, VersionedColumns
from apibase.infrastructure.persistence.repository import SQLAlchemyRepository
from apibase.infrastructure.persistence.sql_unit_of_work import require_sql_unit_of_work, sql_unit_of_work_factory

__all__ = [
    "COMPANY_FIELDS",
    "CarrierRepository",
    "CarrierRow",
    "Company",
    "CompanyCreate",
    "CompanyOut",
    "CompanyService",
    "CompanyUpdate",
    "SupplierRepository",
    "SupplierRow",
    "carrier_service",
    "sample_metadata",
    "supplier_service",
]

COMPANY_FIELDS = frozenset({"name", "country"})
type Name = Annotated[str, Field(min_length=1, max_length=100)]
type Country = Annotated[str, Field(pattern=r"^[A-Z]{2}$")]


class Company(AggregateRoot[uuid.UUID]):
    name: Name
    country: Country


class CompanyCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Name
    country: Country


class CompanyUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Name | None = None
    country: Country | None = None


class CompanyOut(BaseModel):
    id: uuid.UUID
    name: str
    country: str
    version: int
    created_at: datetime


class _SampleBase(TenancyPolicy, DeclarativeBase):
    """The service's ``Base`` rules (tenancy, naming) on a metadata of its own."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


sample_metadata = _SampleBase.metadata


class SupplierRow(VersionedColumns, _SampleBase):
    __tablename__ = "sample_suppliers"

    id: Mapped[uuid.UUID] = mapped_column(Uuid(), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    country: Mapped[str] = mapped_column(String(2))


class CarrierRow(GlobalTable, VersionedColumns, _SampleBase):
    """Carriers every tenant ships with: shared reference data."""

    __tablename__ = "sample_carriers"

    id: Mapped[uuid.UUID] = mapped_column(Uuid(), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    country: Mapped[str] = mapped_column(String(2))


_SUPPLIERS = GenericMapper(entity=Company, model=SupplierRow, response=CompanyOut)
_CARRIERS = GenericMapper(entity=Company, model=CarrierRow, response=CompanyOut)


class SupplierRepository(SQLAlchemyRepository[Company, SupplierRow, CompanyCreate, CompanyUpdate, uuid.UUID]):
    mapper = _SUPPLIERS
    filterable_fields = sortable_fields = COMPANY_FIELDS


class CarrierRepository(SQLAlchemyRepository[Company, CarrierRow, CompanyCreate, CompanyUpdate, uuid.UUID]):
    mapper = _CARRIERS
    filterable_fields = sortable_fields = COMPANY_FIELDS


type CompanyService = GenericService[Company, CompanyCreate, CompanyUpdate, CompanyOut, uuid.UUID]


def supplier_service(session_factory: async_sessionmaker[AsyncSession], *, cursor_codec: CursorCodec) -> CompanyService:
    return GenericService(
        unit_of_work=sql_unit_of_work_factory(session_factory),
        repository=lambda uow: SupplierRepository(require_sql_unit_of_work(uow), cursor_codec=cursor_codec),
        mapper=_SUPPLIERS,
    )


def carrier_service(session_factory: async_sessionmaker[AsyncSession], *, cursor_codec: CursorCodec) -> CompanyService:
    return GenericService(
        unit_of_work=sql_unit_of_work_factory(session_factory),
        repository=lambda uow: CarrierRepository(require_sql_unit_of_work(uow), cursor_codec=cursor_codec),
        mapper=_CARRIERS,
    )
