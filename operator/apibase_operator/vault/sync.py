"""Turn a ``spec.vault`` into the data of one Kubernetes Secret, and decide when to write or retry.

Pure logic over a :class:`~apibase_operator.vault.client.VaultReader`: no Kubernetes and no network here, so
the rules (what is allowed, what is missing, what changed) are unit-tested with a fake reader. Values only
ever live in :class:`SyncedSecret.data`; everything the operator compares, logs or stores in status is the
``hmac-sha256:`` hash, keyed with a secret only the operator holds: an unkeyed hash of a short password could
be reversed by trying candidates, as anyone who can read the ApiBase's status could.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import random
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from apibase_operator.crd.models import Vault
from apibase_operator.vault.client import VaultError, VaultReader

__all__ = [
    "SyncedSecret",
    "VaultKeyMissing",
    "VaultMappingInvalid",
    "VaultPathNotAllowed",
    "backoff_seconds",
    "hash_secret_data",
    "secret_drifted",
    "sync_secret",
]

#: Keys of a Secret's data, as the API server validates them.
_SECRET_KEY = re.compile(r"^[-._a-zA-Z0-9]+$")
_MAX_NAME = 253
_DEFAULT_RNG = random.Random()  # noqa: S311 - jitter, not cryptography


class VaultKeyMissing(VaultError):  # noqa: N818 - the names the operator's conditions use
    """A mapped key is absent from the secret read at its path."""


class VaultPathNotAllowed(VaultError):  # noqa: N818 - the names the operator's conditions use
    """The mount or path is outside what the operator's configuration allows; nothing was requested."""


class VaultMappingInvalid(VaultError):  # noqa: N818 - the names the operator's conditions use
    """The key mapping cannot make a valid Secret (two sources for one key, a key the API server refuses)."""


@dataclass(frozen=True, repr=False)
class SyncedSecret:
    """The desired Secret: its name, its data (hidden from repr) and the hash that stands for the data."""

    name: str
    data: Mapping[str, bytes] = field(hash=False)
    hash: str

    def __post_init__(self) -> None:
        # A private read-only copy: the caller's dict cannot change the data behind the hash.
        object.__setattr__(self, "data", MappingProxyType(dict(self.data)))

    def __repr__(self) -> str:
        return f"SyncedSecret(name={self.name!r}, keys={sorted(self.data)!r}, hash={self.hash!r})"


def sync_secret(
    spec: Vault, name: str, reader: VaultReader, *, allowed_mounts: frozenset[str] | None, hash_key: bytes
) -> SyncedSecret:
    """Read every ``spec.paths`` entry and map its keys into one Secret's data.

    ``allowed_mounts`` (``None``: no restriction) holds mount names (``secret``) or mount/path prefixes
    (``secret/team-a``); every path is checked, as is the mapping, before the first request, so a refused
    spec costs Vault nothing. A path listed twice is read once.
    """
    target = spec.target_secret or f"{name}-vault"
    if len(target) > _MAX_NAME:
        raise VaultMappingInvalid(f"the target Secret name {target[:40]!r}... is longer than {_MAX_NAME}")
    sources: dict[str, str] = {}
    for entry in spec.paths:
        _check_allowed(spec.mount, entry.path, allowed_mounts)
        for vault_key, secret_key in entry.keys.items():
            source = f"{spec.mount}/{entry.path}#{vault_key}"
            if not _SECRET_KEY.fullmatch(secret_key) or len(secret_key) > _MAX_NAME:
                raise VaultMappingInvalid(f"{source} maps to {secret_key!r}, which is not a valid Secret key")
            if secret_key in sources:
                raise VaultMappingInvalid(
                    f"Secret key {secret_key!r} is mapped from both {sources[secret_key]} and {source}"
                )
            sources[secret_key] = source

    read: dict[str, dict[str, str]] = {}
    data: dict[str, bytes] = {}
    for entry in spec.paths:
        if entry.path not in read:
            read[entry.path] = reader.read(spec.mount, entry.path)
        values = read[entry.path]
        for vault_key, secret_key in entry.keys.items():
            if vault_key not in values:
                raise VaultKeyMissing(f"key {vault_key!r} is missing at {spec.mount}/{entry.path}")
            data[secret_key] = values[vault_key].encode("utf-8")
    return SyncedSecret(name=target, data=data, hash=hash_secret_data(data, hash_key))


def hash_secret_data(data: Mapping[str, bytes], key: bytes) -> str:
    """HMAC-SHA-256 under ``key`` over the (key, value) pairs sorted by key, length-prefixed so that no two
    datas share an encoding."""
    if not key:
        raise ValueError("hash_secret_data needs a non-empty key")
    digest = hmac.new(key, digestmod=hashlib.sha256)
    for name in sorted(data):
        for part in (name.encode("utf-8"), data[name]):
            digest.update(len(part).to_bytes(8, "big"))
            digest.update(part)
    return f"hmac-sha256:{digest.hexdigest()}"


def secret_drifted(desired_hash: str, existing_secret: Mapping[str, object] | None, hash_key: bytes) -> bool:
    """True when the live Secret (as the API returns it: base64 ``data``) does not hold the desired data.

    A missing Secret or one whose data cannot be decoded counts as drift: either way it must be rewritten.
    """
    if existing_secret is None:
        return True
    raw = existing_secret.get("data") or {}
    if not isinstance(raw, Mapping):
        return True
    decoded: dict[str, bytes] = {}
    for key, value in raw.items():
        if not isinstance(key, str) or not isinstance(value, str):
            return True
        try:
            decoded[key] = base64.b64decode(value, validate=True)
        except binascii.Error:
            return True
    return not hmac.compare_digest(hash_secret_data(decoded, hash_key), desired_hash)


def backoff_seconds(attempt: int, *, base: float = 5, cap: float = 300, rng: random.Random | None = None) -> float:
    """Delay before retry ``attempt`` (0 for the first): uniform in [0, min(cap, base·2^attempt)].

    Full jitter spreads the retries of many ApiBases failing on the same Vault outage; pass ``rng`` for
    reproducible tests.
    """
    if attempt < 0 or base <= 0 or cap <= 0:
        raise ValueError("backoff_seconds needs attempt >= 0, base > 0 and cap > 0")
    ceiling = cap if attempt >= 64 else min(cap, base * 2**attempt)
    return (rng or _DEFAULT_RNG).uniform(0, ceiling)


def _check_allowed(mount: str, path: str, allowed: frozenset[str] | None) -> None:
    """Refuse ``.``/``..`` segments (HTTP clients collapse them, escaping a prefix) and what is not allowed."""
    if any(segment in {".", ".."} for segment in path.split("/")):
        raise VaultPathNotAllowed(f"path {path!r} has a '.' or '..' segment")
    if allowed is None:
        return
    full = f"{mount}/{path}"
    if not any(full == entry or full.startswith(entry.rstrip("/") + "/") for entry in allowed):
        raise VaultPathNotAllowed(f"{full} is outside the allowed mounts {sorted(allowed)}")
