"""Secrets from Vault/OpenBao KV v2 with token auth.

hvac's exceptions carry response bodies and URLs (a KV answer can embed the secret), so none of their text
reaches our messages and their cause is dropped (``from None``): a logged traceback must not print what our
message leaves out. Messages name the mount, path and host, never the token or a value.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Protocol, Self
from urllib.parse import urlsplit

import hvac  # type: ignore[import-untyped]
import hvac.exceptions  # type: ignore[import-untyped]
import requests

from apibase.application.ports.secrets import SecretNotFound, SecretsUnavailable
from apibase.infrastructure.secrets._names import split_field

__all__ = ["KvV2Reader", "VaultSecretsProvider"]


class KvV2Reader(Protocol):
    """The one hvac call we need (``client.secrets.kv.v2``); a fake in unit tests."""

    def read_secret_version(self, *, path: str, mount_point: str, raise_on_deleted_version: bool) -> object: ...


class VaultSecretsProvider:
    """``get("app/db#password")`` reads field ``password`` of ``<mount>/<path_prefix>/app/db``.

    Without ``#field`` the field is ``default_field`` (``value``). The blocking hvac call runs in a thread.
    """

    def __init__(
        self,
        kv: KvV2Reader,
        *,
        mount: str = "secret",
        path_prefix: str = "",
        default_field: str = "value",
        where: str = "vault",
    ) -> None:
        self._kv = kv
        self._mount = mount
        self._prefix = path_prefix.strip("/")
        self._default_field = default_field
        self._where = where
        self._close: _Closer | None = None

    @classmethod
    def from_token(
        cls,
        address: str,
        token: str,
        *,
        mount: str = "secret",
        path_prefix: str = "",
        default_field: str = "value",
        timeout: float = 5,
        verify: bool | str = True,
    ) -> Self:
        """A provider over a new hvac client; redirects are off so the token header is never resent elsewhere."""
        client = hvac.Client(url=address, token=token, timeout=timeout, verify=verify, allow_redirects=False)
        parts = urlsplit(address)
        provider = cls(
            client.secrets.kv.v2,
            mount=mount,
            path_prefix=path_prefix,
            default_field=default_field,
            where=f"{parts.scheme}://{parts.netloc}" if parts.netloc else "vault",
        )
        provider._close = client.adapter
        return provider

    def __repr__(self) -> str:
        return f"VaultSecretsProvider({self._where!r}, mount={self._mount!r}, path_prefix={self._prefix!r})"

    def close(self) -> None:
        """Close the HTTP session of a client built by ``from_token``."""
        if self._close is not None:
            self._close.close()

    async def get(self, name: str) -> str:
        path, field = split_field(name, self._default_field)
        full_path = f"{self._prefix}/{path}" if self._prefix else path
        data = await asyncio.to_thread(self._read, full_path)
        value = data.get(field or self._default_field)
        if value is None:
            raise SecretNotFound(f"{self._mount}/{full_path} at {self._where} has no field {field!r}")
        if not isinstance(value, str):
            raise SecretsUnavailable(f"field {field!r} of {self._mount}/{full_path} at {self._where} is not a string")
        if not value:
            raise SecretNotFound(f"field {field!r} of {self._mount}/{full_path} at {self._where} is empty")
        return value

    def _read(self, path: str) -> Mapping[str, object]:
        what = f"reading {self._mount}/{path} at {self._where}"
        try:
            response = self._kv.read_secret_version(path=path, mount_point=self._mount, raise_on_deleted_version=True)
        except requests.exceptions.Timeout:
            raise SecretsUnavailable(f"{what}: timed out") from None
        except requests.exceptions.ConnectionError:
            raise SecretsUnavailable(f"{what}: cannot connect") from None
        except requests.exceptions.RequestException as exc:
            raise SecretsUnavailable(f"{what}: request failed ({type(exc).__name__})") from None
        except hvac.exceptions.InvalidPath:
            raise SecretNotFound(f"{what}: no such secret (or its latest version is deleted)") from None
        except (hvac.exceptions.Forbidden, hvac.exceptions.Unauthorized):
            raise SecretsUnavailable(f"{what}: permission denied") from None
        except hvac.exceptions.VaultDown:
            raise SecretsUnavailable(f"{what}: Vault is sealed or in maintenance") from None
        except hvac.exceptions.VaultError as exc:
            raise SecretsUnavailable(f"{what}: failed ({type(exc).__name__})") from None
        body = response.get("data") if isinstance(response, dict) else None
        data = body.get("data") if isinstance(body, dict) else None
        if not isinstance(data, dict):
            raise SecretsUnavailable(f"{what}: the answer is not a KV v2 secret")
        return {str(key): value for key, value in data.items()}


class _Closer(Protocol):
    def close(self) -> None: ...
