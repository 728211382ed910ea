"""Read KV v2 secrets from Vault/OpenBao, with errors the operator can act on and safely show.

hvac's own exceptions carry response bodies and URLs (a deleted-version 404 embeds the whole JSON answer), so
nothing of them reaches our messages: each failure becomes one of three classes with a message we wrote,
naming the mount, path and host only, never a token, a JWT or a value. The hvac cause is dropped for the same
reason (``from None``): a logged traceback must not print what our message leaves out.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from typing import Protocol, Self
from urllib.parse import urlsplit

import hvac  # type: ignore[import-untyped]
import hvac.exceptions  # type: ignore[import-untyped]
import requests

from apibase_operator.crd.models import SecretKeyRef, VaultAuth

__all__ = [
    "Credentials",
    "HvacVaultReader",
    "VaultAccessDenied",
    "VaultError",
    "VaultPathNotFound",
    "VaultReader",
    "VaultTokenMissing",
    "VaultUnavailable",
]


class VaultError(Exception):
    """Base of every Vault sync failure; ``reason`` is safe to put in a status condition or a log."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class VaultUnavailable(VaultError):  # noqa: N818 - the names the operator's conditions use
    """Vault cannot answer now (unreachable, timeout, sealed, 5xx, rate limited): retry with backoff."""


class VaultAccessDenied(VaultError):  # noqa: N818 - the names the operator's conditions use
    """Vault refused the login or the read: a policy, role or credential must change before a retry helps."""


class VaultPathNotFound(VaultError):  # noqa: N818 - the names the operator's conditions use
    """The mount or the secret (or its latest version) does not exist."""


class VaultTokenMissing(VaultError):  # noqa: N818 - the names the operator's conditions use
    """The credential to log in with cannot be had: the token Secret or its key is missing or empty, or no
    ServiceAccount token could be requested for the workload. Nothing was sent to Vault."""


class Credentials(Protocol):
    """Where a login's credential comes from, asked again at each login (tokens rotate).

    Implementations raise :class:`VaultTokenMissing` when they cannot produce one.
    """

    def vault_token(self, ref: SecretKeyRef) -> str:
        """The Vault token in the Secret key ``ref`` (``auth.tokenSecret``)."""
        ...

    def service_account_jwt(self) -> str:
        """A short-lived token of the workload's own ServiceAccount, for ``auth.kubernetes``."""
        ...


class VaultReader(Protocol):
    """What the sync logic needs from Vault: one KV v2 secret's keys and values, as strings."""

    def read(self, mount: str, path: str) -> dict[str, str]: ...


class HvacVaultReader:
    """A :class:`VaultReader` over hvac that logs in lazily and once more when its token stops working.

    Each login asks ``credentials`` again: for Kubernetes auth a fresh token of the workload's ServiceAccount,
    for token auth the Secret's current value (it may have been rotated). That keeps this module free of a
    Kubernetes client. Every call blocks (hvac over requests): the operator runs readers in worker threads.
    Redirects are not followed: requests would resend the ``X-Vault-Token`` header to wherever they point.
    """

    def __init__(
        self,
        address: str,
        auth: VaultAuth,
        *,
        credentials: Credentials,
        timeout: float = 5,
        verify: bool | str = True,
    ) -> None:
        self._auth = auth
        self._credentials = credentials
        self._where = _where(address)
        self._lock = threading.Lock()
        self._logged_in = False
        # token="" keeps hvac from picking up VAULT_TOKEN or ~/.vault-token from the operator's environment.
        self._client = hvac.Client(url=address, token="", timeout=timeout, verify=verify, allow_redirects=False)

    def __repr__(self) -> str:
        method = "kubernetes" if self._auth.kubernetes is not None else "token"
        return f"HvacVaultReader({self._where!r}, auth={method})"

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the HTTP session (its pooled sockets)."""
        self._client.adapter.close()

    def read(self, mount: str, path: str) -> dict[str, str]:
        """The latest version of ``mount/path``; non-string values are JSON-encoded (``5432`` → ``"5432"``)."""
        fresh = self._login_once()
        try:
            return self._read(mount, path)
        except VaultAccessDenied:
            if fresh:
                raise
        # A token that worked before may have expired or been revoked: log in again, then try once more.
        with self._lock:
            self._logged_in = False
        self._login_once()
        return self._read(mount, path)

    def _login_once(self) -> bool:
        """Log in unless already logged in; True when this call did log in."""
        with self._lock:
            if self._logged_in:
                return False
            self._client.token = self._login()
            self._logged_in = True
            return True

    def _login(self) -> str:
        if (ref := self._auth.token_secret) is not None:
            token = self._credentials.vault_token(ref).strip()
            if not token:
                raise VaultTokenMissing(f"the Vault token in Secret key {ref.name}/{ref.key} is empty")
            return token
        if (kubernetes := self._auth.kubernetes) is None:
            raise VaultAccessDenied("vault.auth names no method")  # VaultAuth's validator forbids this
        jwt = self._credentials.service_account_jwt().strip()
        if not jwt:
            raise VaultTokenMissing("the ServiceAccount token requested for the workload is empty")
        what = f"Kubernetes login (role {kubernetes.role!r}, auth mount {kubernetes.mount_path!r})"
        response = self._call(
            what,
            lambda: self._client.auth.kubernetes.login(
                kubernetes.role, jwt, use_token=False, mount_point=kubernetes.mount_path
            ),
            login=True,
        )
        auth = response.get("auth")
        client_token = auth.get("client_token") if isinstance(auth, dict) else None
        if not isinstance(client_token, str) or not client_token:
            raise VaultUnavailable(f"{what} at {self._where}: the answer has no client token")
        return client_token

    def _read(self, mount: str, path: str) -> dict[str, str]:
        what = f"reading {mount}/{path}"
        response = self._call(
            what,
            lambda: self._client.secrets.kv.v2.read_secret_version(
                path=path, mount_point=mount, raise_on_deleted_version=True
            ),
        )
        body = response.get("data")
        data = body.get("data") if isinstance(body, dict) else None
        if data is None and isinstance(body, dict):
            raise VaultPathNotFound(f"{what} at {self._where}: the latest version is deleted or destroyed")
        if not isinstance(data, dict):
            raise VaultUnavailable(f"{what} at {self._where}: the answer is not a KV v2 secret")
        return {str(key): value if isinstance(value, str) else _json(value) for key, value in data.items()}

    def _call(self, what: str, request: Callable[[], object], *, login: bool = False) -> dict[str, object]:
        """Run one hvac request; translate every failure into our classes with a message we wrote."""
        try:
            response = request()
        except requests.exceptions.Timeout:
            raise VaultUnavailable(f"{what}: {self._where} timed out") from None
        except requests.exceptions.SSLError:
            raise VaultUnavailable(f"{what}: TLS handshake with {self._where} failed") from None
        except requests.exceptions.ConnectionError:
            raise VaultUnavailable(f"{what}: cannot connect to {self._where}") from None
        except requests.exceptions.RequestException as exc:
            raise VaultUnavailable(f"{what}: request to {self._where} failed ({type(exc).__name__})") from None
        except hvac.exceptions.VaultError as exc:
            raise _translate(exc, f"{what} at {self._where}", login=login) from None
        if not isinstance(response, dict):
            # A 3xx (redirects are not followed) or a 2xx without a JSON body.
            status = getattr(response, "status_code", None)
            raise VaultUnavailable(f"{what} at {self._where}: unexpected answer (HTTP {status})")
        return response


def _translate(exc: Exception, what: str, *, login: bool) -> VaultError:
    """Map hvac's per-status exceptions; the server's text is left out (it can echo the request)."""
    match exc:
        case hvac.exceptions.Forbidden() | hvac.exceptions.Unauthorized():
            return VaultAccessDenied(f"{what}: permission denied")
        case hvac.exceptions.InvalidRequest() if login:
            # OpenBao answers 400 for an unknown role ("invalid role name"): no retry fixes that.
            return VaultAccessDenied(f"{what}: login rejected (HTTP 400), check the role and the auth mount")
        case hvac.exceptions.InvalidPath():
            return VaultPathNotFound(f"{what}: not found (no such mount or secret, or its latest version is deleted)")
        case hvac.exceptions.VaultDown():
            return VaultUnavailable(f"{what}: Vault is sealed or in standby (HTTP 503)")
        case hvac.exceptions.VaultNotInitialized():
            return VaultUnavailable(f"{what}: Vault is not initialized (HTTP 501)")
        case hvac.exceptions.RateLimitExceeded():
            return VaultUnavailable(f"{what}: rate limited (HTTP 429)")
        case hvac.exceptions.InternalServerError() | hvac.exceptions.BadGateway():
            return VaultUnavailable(f"{what}: server error ({type(exc).__name__})")
        case _:
            return VaultUnavailable(f"{what}: unexpected error ({type(exc).__name__})")


def _where(address: str) -> str:
    """``scheme://host[:port]`` for messages: never the userinfo an address may carry."""
    parts = urlsplit(address)
    try:
        port = parts.port
    except ValueError:  # out of range: hvac will fail to connect and say so; the message needs no port
        port = None
    return f"{parts.scheme}://{parts.hostname}" + (f":{port}" if port else "")


def _json(value: object) -> str:
    """KV v2 values may be any JSON; Secrets hold strings, so numbers, booleans and objects are JSON text."""
    return json.dumps(value, separators=(",", ":"), sort_keys=True, ensure_ascii=False)
