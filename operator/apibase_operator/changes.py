"""What one reconciliation wrote, told as one Event: creating ten objects is one Event request, not ten.

The Event keeps what per-object events said (which objects were created, updated or pruned, by kind and name);
its reason is the one verb when every change shares it (``Created`` on a first reconciliation), else
``Changed``. The objects the API server returned for this reconciliation's applies are kept too: a read later in
the same reconciliation (the stable Deployment's readiness, the Vault ServiceAccount applied before the rest)
finds them before their watch events have reached the caches.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

__all__ = ["ChangeLog"]

#: The order of the verbs in a summary, and the word each uses.
_VERBS = ("Created", "Updated", "Pruned")


@dataclass
class ChangeLog:
    """The writes of one reconciliation, in order; ``applied`` maps (kind, namespace, name) to the server's answer."""

    changes: dict[str, list[str]] = field(default_factory=lambda: {verb: [] for verb in _VERBS})
    applied: dict[tuple[str, str, str], dict[str, object]] = field(default_factory=dict)

    def record(self, verb: str, kind: str, name: str) -> None:
        self.changes[verb].append(f"{kind} {name}")

    def remember(self, kind: str, namespace: str, name: str, obj: Mapping[str, object] | None) -> None:
        if obj is not None:
            self.applied[kind, namespace, name] = dict(obj)

    def written(self, kind: str, namespace: str, name: str) -> dict[str, object] | None:
        return self.applied.get((kind, namespace, name))

    def summary(self) -> tuple[str, str] | None:
        """The Event's reason and message, or None when nothing was written."""
        done = [(verb, objects) for verb, objects in self.changes.items() if objects]
        if not done:
            return None
        reason = done[0][0] if len(done) == 1 else "Changed"
        parts = [f"{verb} {', '.join(objects)}" for verb, objects in done]
        if self.changes["Pruned"]:
            parts[-1] += " (no longer desired)"
        return reason, "; ".join(parts)
