"""The factory port: how a creation DTO becomes a valid entity (ids, defaults and invariants included)."""

from __future__ import annotations

from typing import Protocol

__all__ = ["Factory"]


class Factory[T, CreateT](Protocol):
    def __call__(self, data: CreateT) -> T: ...
