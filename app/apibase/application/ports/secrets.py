"""A secrets port: the application asks for a secret by name and never learns where it lives.

Adapters (environment/mounted files, Vault/OpenBao, AWS Secrets Manager, a TTL cache in front of any of them)
live in ``apibase.infrastructure.secrets``. Failures are typed so callers can tell "not configured" (fix the
deployment) from "cannot ask now" (retry later); no error message ever carries a secret's value.
"""

from __future__ import annotations

from enum import StrEnum
from typing import ClassVar, Protocol

from apibase.core.error_codes import error_codes
from apibase.core.errors import ApplicationError, InfrastructureError

__all__ = ["SecretNotFound", "SecretsErrorCode", "SecretsProvider", "SecretsUnavailable"]


@error_codes("secrets")
class SecretsErrorCode(StrEnum):
    NOT_FOUND = "secrets.not_found"
    UNAVAILABLE = "secrets.unavailable"


class SecretNotFound(ApplicationError[StrEnum]):
    """The secret does not exist (or is empty) in the backend: a deployment mistake, so retrying will not help.

    It is a 500, not a 404: the client asked for nothing wrong, the service is misconfigured.
    """

    status = 500
    title = "Secret not found"
    default_code: ClassVar[StrEnum] = SecretsErrorCode.NOT_FOUND


class SecretsUnavailable(InfrastructureError[StrEnum]):
    """The secrets backend cannot answer now (unreachable, timed out, sealed, access denied): retry later."""

    title = "Secrets backend unavailable"
    default_code: ClassVar[StrEnum] = SecretsErrorCode.UNAVAILABLE


class SecretsProvider(Protocol):
    """Reads one secret's current value by name.

    Raises ``SecretNotFound`` or ``SecretsUnavailable``; a name the backend cannot express (path separators,
    ``..``) is a programming error and raises ``ValueError``.
    """

    async def get(self, name: str) -> str: ...
