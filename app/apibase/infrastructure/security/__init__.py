"""Security adapters: JWT signing keys, token issuing and verification, password hashing."""

from __future__ import annotations

__all__: list[str] = []
