"""Principal: the authenticated caller, as every layer sees it (never built from client-sent role headers)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

__all__ = ["TENANT_ID_PATTERN", "AuthMethod", "Principal", "is_valid_tenant_id"]

#: Tenant ids are short slugs: safe in headers, log lines, cache keys and SQL parameters alike.
TENANT_ID_PATTERN = r"^[a-z0-9][a-z0-9-]{0,62}$"
_TENANT_ID = re.compile(TENANT_ID_PATTERN)


def is_valid_tenant_id(value: str) -> bool:
    return _TENANT_ID.fullmatch(value) is not None


class AuthMethod(StrEnum):
    ACCESS_TOKEN = "access_token"  # noqa: S105 - a method name, not a secret
    API_KEY = "api_key"
    SIGNED_REQUEST = "signed_request"


@dataclass(frozen=True, slots=True)
class Principal:
    """A verified identity with its tenant and effective permissions (roles already expanded)."""

    subject: str
    tenant: str
    roles: frozenset[str]
    permissions: frozenset[str]
    method: AuthMethod

    def has(self, permission: str) -> bool:
        return permission in self.permissions
