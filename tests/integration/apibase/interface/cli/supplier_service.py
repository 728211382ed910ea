"""The service the shutdown tests serve: the kernel, the sample ``suppliers`` resource, and a slow upload.

``apibase serve`` imports it in a subprocess (``APIBASE_SERVICE=supplier_service:SERVICE``, this folder on
``PYTHONPATH``); the tests create the sample tables before they start it. With ``SUPPLIER_SERVICE_GATE`` naming a
FIFO, importing it waits until the FIFO's writers close it: a worker process held that way is still starting.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from fastapi import APIRouter, Request

from apibase.domain.identity.permissions import Permission
from apibase.interface.http.crud import CrudResource, create_crud_router
from apibase.interface.http.query_filters import field_types
from apibase.interface.http.security.authorization import require
from apibase.kernel import Kernel
from apibase.main import ServiceApi
from apibase.module import ALL_VERSIONS, Features, Migrations
from apibase.service import ServiceDefinition
from apibase.testing.suppliers import (
    COMPANY_FIELDS,
    CompanyCreate,
    CompanyOut,
    CompanyService,
    CompanyUpdate,
    supplier_service,
)

__all__ = ["SERVICE", "Suppliers"]

if gate := os.environ.get("SUPPLIER_SERVICE_GATE"):
    Path(gate).read_bytes()

READ, WRITE = Permission("suppliers:read"), Permission("suppliers:write")
UPLOAD_PATH: Final = r"^/api/v[0-9]+/uploads$"


@dataclass(frozen=True)
class Suppliers:
    name: str = "suppliers"
    migrations: Migrations | None = None

    @property
    def permissions(self) -> Mapping[Permission, str]:
        return {READ: "Read suppliers", WRITE: "Change suppliers and upload"}

    def build(self, kernel: Kernel) -> Features:
        service = supplier_service(kernel.session_factory, cursor_codec=kernel.cursor_codec)

        async def provide() -> CompanyService:
            return service

        suppliers = CrudResource(
            name="supplier",
            plural="suppliers",
            service=provide,
            id_type=uuid.UUID,
            create_model=CompanyCreate,
            update_model=CompanyUpdate,
            response_model=CompanyOut,
            filter_types=field_types(CompanyOut, COMPANY_FIELDS),
            sortable_fields=COMPANY_FIELDS,
        )
        uploads = APIRouter()

        @uploads.put("/uploads", dependencies=[require(WRITE)])
        async def upload(request: Request) -> dict[str, int]:
            """Reads the whole body, however slowly it comes: the request in flight that a stop must drain."""
            size = 0
            async for chunk in request.stream():
                size += len(chunk)
            return {"size": size}

        return Features(routers={ALL_VERSIONS: [create_crud_router(suppliers), uploads]}, upload_paths=[UPLOAD_PATH])


SERVICE = ServiceDefinition(api=ServiceApi(title="Shutdown test service"), modules=lambda: [Suppliers()])
