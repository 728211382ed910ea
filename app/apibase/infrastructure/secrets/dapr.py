"""Secrets from the Dapr sidecar's secret store (``DaprSettings.secret_store``), through the official SDK.

``get("db#password")`` reads secret ``db`` and returns its field ``password``. Without ``#field`` the field is the
secret's own name, the shape of Dapr's single-value stores (``local.env``, ``local.file``: ``{"db": value}``);
a secret with exactly one field (e.g. a one-key Kubernetes Secret) returns that field. daprd reports a missing
secret as a failed call whose message says "not found", which is ``SecretNotFound``; an unreachable sidecar,
a refused token or any other failure is ``SecretsUnavailable``. Messages name the store and the secret, never a
value.
"""

from __future__ import annotations

import asyncio

import grpc

from apibase.application.ports.secrets import SecretNotFound, SecretsUnavailable
from apibase.infrastructure.dapr.client import DaprSidecar, SidecarUnavailableError
from apibase.infrastructure.secrets._names import split_field

__all__ = ["DaprSecretsProvider"]


class DaprSecretsProvider:
    """``SecretsProvider`` on the secret store ``store`` of ``sidecar``."""

    def __init__(self, sidecar: DaprSidecar, store: str) -> None:
        self._sidecar = sidecar
        self._store = store

    def __repr__(self) -> str:
        return f"DaprSecretsProvider({self._store!r}, {self._sidecar!r})"

    async def close(self) -> None:
        await self._sidecar.close()

    async def get(self, name: str) -> str:
        key, field = split_field(name, None)
        what = f"secret {key!r} of the Dapr secret store {self._store!r}"
        try:
            client = await self._sidecar.client()
            async with asyncio.timeout(self._sidecar.timeout_seconds):
                response = await client.get_secret(self._store, key)
        except (SidecarUnavailableError, TimeoutError):
            raise SecretsUnavailable(f"{what}: the sidecar does not answer") from None
        except grpc.RpcError as error:
            details = str(error.details() or "") if isinstance(error, grpc.aio.AioRpcError) else ""
            if "not found" in details.lower() and error.code() is not grpc.StatusCode.INVALID_ARGUMENT:
                raise SecretNotFound(f"{what}: no such secret") from None
            raise SecretsUnavailable(f"{what}: the call failed ({error.code()})") from None
        fields = dict(response.secret)
        value = fields.get(field or key)
        if value is None and field is None and len(fields) == 1:
            (value,) = fields.values()
        if not value:
            raise SecretNotFound(f"{what} has no non-empty field {field or key!r}")
        return value
