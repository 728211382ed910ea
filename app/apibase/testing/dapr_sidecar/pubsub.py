"""The stand-in's pubsub: one Redis stream per topic, holding the CloudEvents daprd would deliver.

``envelope`` builds what daprd delivers for a publish. Data sent as ``application/cloudevents+json`` is already
a CloudEvent: daprd keeps it (id, type, source, every extension) and adds ``topic`` and ``pubsubname``. Any other
data is wrapped in a new CloudEvent of type ``com.dapr.event.sent`` (JSON data parsed, anything else as text).
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Final, cast

from redis.asyncio import Redis

__all__ = ["CLOUD_EVENTS_JSON", "RedisTopics", "envelope"]

CLOUD_EVENTS_JSON: Final = "application/cloudevents+json"
_FIELD: Final = b"event"


def envelope(data: bytes, content_type: str, *, topic: str, pubsub: str, app_id: str) -> dict[str, object]:
    """The CloudEvent daprd delivers for ``data`` published to ``pubsub``/``topic``; ``ValueError`` if unreadable."""
    media_type = content_type.partition(";")[0].strip().lower()
    if media_type == CLOUD_EVENTS_JSON:
        event = json.loads(data)
        if not isinstance(event, dict) or not all(event.get(name) for name in ("id", "source", "type")):
            raise ValueError("a structured CloudEvent needs id, source and type")
    else:
        is_json = media_type in {"", "application/json"} or media_type.endswith("+json")
        event = {
            "specversion": "1.0",
            "id": str(uuid.uuid4()),
            "source": app_id,
            "type": "com.dapr.event.sent",
            "time": datetime.now(UTC).isoformat(),
            "datacontenttype": media_type or "application/json",
            "data": json.loads(data) if is_json else data.decode(),
        }
    return {**event, "topic": topic, "pubsubname": pubsub}


class RedisTopics:
    """Topics as Redis streams ``<prefix>topic:<pubsub>:<topic>`` (a bytes client); a subscriber is a consumer group."""

    def __init__(self, redis: Redis, prefix: str) -> None:
        self.redis = redis
        self._prefix = prefix

    def stream(self, pubsub: str, topic: str) -> str:
        return f"{self._prefix}topic:{pubsub}:{topic}"

    async def publish(self, pubsub: str, topic: str, event: dict[str, object]) -> None:
        await self.redis.xadd(self.stream(pubsub, topic), {_FIELD: json.dumps(event, separators=(",", ":"))})

    async def events(self, pubsub: str, topic: str) -> list[dict[str, object]]:
        """Every event the topic holds, oldest first (for tests that read a topic without subscribing)."""
        entries = cast("list[tuple[bytes, dict[bytes, bytes]]]", await self.redis.xrange(self.stream(pubsub, topic)))
        return [json.loads(fields[_FIELD]) for _, fields in entries]

    async def join(self, pubsub: str, topic: str, group: str) -> None:
        """Create ``group`` at the stream's start (so nothing published before it subscribed is missed)."""
        try:
            await self.redis.xgroup_create(self.stream(pubsub, topic), group, id="0", mkstream=True)
        except Exception as error:  # redis.ResponseError BUSYGROUP: the group exists already
            if "BUSYGROUP" not in str(error):
                raise

    async def read(
        self, pubsub: str, topic: str, group: str, *, block_ms: int
    ) -> list[tuple[bytes, dict[str, object]]]:
        """The group's next new entries (waiting at most ``block_ms``), as (entry id, event)."""
        stream = self.stream(pubsub, topic)
        answer = cast(
            "list[tuple[bytes, list[tuple[bytes, dict[bytes, bytes]]]]]",
            await self.redis.xreadgroup(group, "stand-in", {stream: ">"}, count=16, block=block_ms),
        )
        return [(entry_id, json.loads(fields[_FIELD])) for _, entries in answer for entry_id, fields in entries]

    async def ack(self, pubsub: str, topic: str, group: str, entry_id: bytes) -> None:
        await self.redis.xack(self.stream(pubsub, topic), group, entry_id)
