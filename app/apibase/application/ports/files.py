"""A file store port: uploaded blobs (product images, documents) kept by key, away from the database.

Keys are relative, slash-separated paths the application builds itself (``products/<id>/image``), never a name a
client sent; adapters still refuse any key that would leave their storage area. The content type is stored with
the bytes because it was decided once, from the content, when the file was accepted.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

__all__ = ["FileStore", "StoredFile"]


@dataclass(frozen=True, slots=True)
class StoredFile:
    data: bytes
    content_type: str


class FileStore(Protocol):
    async def save(self, key: str, data: bytes, content_type: str) -> None:
        """Store ``data`` under ``key``, replacing what was there; readers see the old file or the new, never half."""
        ...

    async def open(self, key: str) -> StoredFile | None:
        """The file under ``key``, or None when there is none."""
        ...

    async def delete(self, key: str) -> bool:
        """Remove the file under ``key``; False when there was none (deleting twice is not an error)."""
        ...
