"""``FileStore`` on a local directory: every key is resolved inside the root, and every write is atomic.

A file holds its content type on the first line and the bytes after it, so the one ``os.replace`` that publishes
a write publishes both: a reader never sees new bytes with an old type, or half a file after a crash.
Blocking file IO runs in a worker thread (``asyncio.to_thread``) so the event loop keeps serving.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import tempfile
from pathlib import Path
from typing import Final

from apibase.application.ports.files import FileStore, StoredFile

__all__ = ["LocalFileStore"]

_HEADER_END: Final = b"\n"
_TEMP_PREFIX: Final = ".upload-"
_CONTENT_TYPE = re.compile(r"[a-z0-9][a-z0-9!#$&^_.+-]{0,126}/[a-z0-9][a-z0-9!#$&^_.+-]{0,126}")
_SEGMENT = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,254}")


class LocalFileStore(FileStore):
    """Files under ``root``; a key is ``segment/segment/...`` of ``[A-Za-z0-9_.-]``.

    The root is created by the first write, not before: a service that never stores a file starts on a
    read-only filesystem, wherever ``uploads_dir`` points.

    Segments may not start with a dot (that keeps ``..`` out, and the store's temporary files apart), and the
    resolved path must still lie under the root, so a symlink planted inside cannot lead out of it either.
    A key or content type breaking these rules is a programming error (``ValueError``): keys come from code.
    """

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self._root = Path(root).resolve()

    @property
    def root(self) -> Path:
        return self._root

    async def save(self, key: str, data: bytes, content_type: str) -> None:
        if _CONTENT_TYPE.fullmatch(content_type) is None:
            raise ValueError("the content type must be a lower-case type/subtype without parameters")
        path = self.path_of(key)
        await asyncio.to_thread(_write_atomically, path, content_type.encode("ascii") + _HEADER_END + data)

    async def open(self, key: str) -> StoredFile | None:
        raw = await asyncio.to_thread(_read, self.path_of(key))
        if raw is None:
            return None
        content_type, found, data = raw.partition(_HEADER_END)
        if not found:
            raise ValueError(f"stored file {key!r} has no content-type header: the store is corrupt")
        return StoredFile(data=data, content_type=content_type.decode("ascii"))

    async def delete(self, key: str) -> bool:
        return await asyncio.to_thread(_remove, self.path_of(key))

    def path_of(self, key: str) -> Path:
        """Where ``key`` lives; refuses malformed keys and anything resolving outside the root."""
        segments = key.split("/")
        if not all(_SEGMENT.fullmatch(segment) for segment in segments):
            raise ValueError("a file key is '/'-separated segments of letters, digits, '_', '-' and '.'")
        path = self._root.joinpath(*segments).resolve()
        if not path.is_relative_to(self._root) or path == self._root:
            raise ValueError("the file key resolves outside the store's root")
        return path


def _write_atomically(path: Path, content: bytes) -> None:
    """Write a temporary file beside the target, flush it to disk, then rename it over the target."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=_TEMP_PREFIX, suffix=".tmp")
    try:
        with os.fdopen(descriptor, "wb") as file:
            file.write(content)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise
    _sync_directory(path.parent)


def _sync_directory(directory: Path) -> None:
    """Make the rename itself durable (POSIX: a directory's entries are flushed through its descriptor)."""
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _read(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
        return None


def _remove(path: Path) -> bool:
    try:
        path.unlink()
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
        return False
    return True
