"""The JSON record a key-value idempotency store keeps per key (Redis, the Dapr state store).

``{"fp", "token"}`` while the request runs, then ``{"fp", "status", "headers", "body"}`` (base64 body, ``null``
when too large to keep). Records are written compactly and rebuilt byte for byte, so a store can tell by
comparing whether an entry is still a given claim's pending record.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping

from apibase.application.ports.idempotency import BeginOutcome, Claimed, InProgress, Mismatch, Replay, StoredResponse

__all__ = ["completed_record", "outcome_of", "pending_record"]


def pending_record(claim: Claimed) -> str:
    return _dumps({"fp": claim.fingerprint, "token": claim.token})


def completed_record(claim: Claimed, response: StoredResponse) -> str:
    body = None if response.body is None else base64.b64encode(response.body).decode("ascii")
    return _dumps({"fp": claim.fingerprint, "status": response.status, "headers": response.headers, "body": body})


def outcome_of(record: Mapping[str, object], fingerprint: str) -> BeginOutcome:
    """What a new request with ``fingerprint`` gets from the record another request left under its key."""
    if record["fp"] != fingerprint:
        return Mismatch()
    if "status" not in record:
        return InProgress()
    body, headers = record["body"], record["headers"]
    pairs: list[list[str]] = headers if isinstance(headers, list) else []
    return Replay(
        StoredResponse(
            int(str(record["status"])),
            tuple((str(name), str(value)) for name, value in pairs),
            None if body is None else base64.b64decode(str(body)),
        )
    )


def _dumps(record: object) -> str:
    return json.dumps(record, separators=(",", ":"))
