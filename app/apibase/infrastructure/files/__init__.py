"""Adapters of the ``FileStore`` port: a directory on the local (or a mounted) file system."""

from __future__ import annotations

from apibase.infrastructure.files.local import LocalFileStore

__all__ = ["LocalFileStore"]
