"""A short, stable fingerprint of a pod template, recorded in status as the stable and canary revisions.

It lets the operator tell "the canary runs what the spec says" from "the spec changed under a running
canary" without reading ReplicaSets, and it is the same on every run and every machine for the same template.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping

__all__ = ["revision_hash"]

_LENGTH = 12


def revision_hash(pod_template: Mapping[str, object]) -> str:
    """12 hex characters of the SHA-256 of the template as canonical JSON (sorted keys, no whitespace)."""
    canonical = json.dumps(dict(pod_template), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()[:_LENGTH]
