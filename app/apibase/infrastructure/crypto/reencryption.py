"""The contract of a re-encryption job after a key rotation: ``apibase security reencrypt`` runs one per module.

A module whose tables hold encrypted fields implements ``ReencryptsFields``; the CLI finds those among the
service's modules, so the kernel never needs to know which tables a feature encrypts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Protocol, runtime_checkable

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from apibase.infrastructure.crypto.field_encryption import FieldEncryptor

__all__ = ["DEFAULT_BATCH_SIZE", "ReencryptionReport", "ReencryptsFields"]

DEFAULT_BATCH_SIZE: Final = 500


@dataclass(frozen=True)
class ReencryptionReport:
    """How many stored values were looked at and how many were rewritten under the primary key."""

    scanned: int = 0
    reencrypted: int = 0

    def __add__(self, other: ReencryptionReport) -> ReencryptionReport:
        return ReencryptionReport(self.scanned + other.scanned, self.reencrypted + other.reencrypted)


@runtime_checkable
class ReencryptsFields(Protocol):
    async def reencrypt(
        self, session_factory: async_sessionmaker[AsyncSession], encryptor: FieldEncryptor, *, batch_size: int
    ) -> ReencryptionReport:
        """Move every encrypted value onto ``encryptor``'s primary key; a second run re-encrypts nothing."""
        ...
