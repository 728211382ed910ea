"""The idempotency_keys table: its primary key is what makes a claim atomic across workers.

A row with ``status`` NULL is a running request's claim; once the request finishes, the row holds its
response. Rows past ``expires_at`` count as absent and are replaced on the next claim (``purge_expired`` drops
the rest). A ``GlobalTable``: the key itself starts with the tenant and hashes the tenant and caller in (see
``middleware/idempotency.py``), so one tenant's key can never match another's.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from apibase.infrastructure.persistence.column_types import UTCDateTime
from apibase.infrastructure.persistence.orm import Base, GlobalTable

__all__ = ["IdempotencyKeyRow"]


class IdempotencyKeyRow(GlobalTable, Base):
    __tablename__ = "idempotency_keys"

    key: Mapped[str] = mapped_column(String(128), primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(64))
    token: Mapped[str] = mapped_column(String(32))
    status: Mapped[int | None] = mapped_column(Integer())
    headers: Mapped[list[list[str]] | None] = mapped_column(JSON())
    body: Mapped[bytes | None] = mapped_column(LargeBinary())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
