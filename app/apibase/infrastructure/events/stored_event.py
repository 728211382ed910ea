"""``StoredCloudEvent``: a CloudEvent read back from the outbox, cheaply.

The envelope was built and validated by the SDK's ``CloudEvent`` when the event was stored; re-validating every
attribute of every event the relay reads would cost it more than the database does (thousands per second). So
reading checks only what the relay and the brokers rely on — a JSON object with the required attributes as
strings, and a valid ``time`` — and hands the rest back as stored. A corrupt envelope raises (``ValueError`` or
``TypeError``): the relay dead-letters it.
"""

from __future__ import annotations

import base64
from datetime import datetime
from typing import Any, Final

import orjson
from cloudevents.core.base import BaseCloudEvent

__all__ = ["StoredCloudEvent", "read_envelope"]

_REQUIRED: Final = ("id", "source", "type", "specversion")
_NAMED: Final = frozenset({*_REQUIRED, "datacontenttype", "dataschema", "subject", "time"})


class StoredCloudEvent(BaseCloudEvent):
    """The CloudEvents contract over attributes and data as stored (see the module docstring)."""

    def __init__(self, attributes: dict[str, Any], data: dict[str, Any] | str | bytes | None = None) -> None:
        self._attributes = attributes
        self._data = data

    def get_id(self) -> str:
        return str(self._attributes["id"])

    def get_source(self) -> str:
        return str(self._attributes["source"])

    def get_type(self) -> str:
        return str(self._attributes["type"])

    def get_specversion(self) -> str:
        return str(self._attributes["specversion"])

    def get_datacontenttype(self) -> str | None:
        return self._attributes.get("datacontenttype")

    def get_dataschema(self) -> str | None:
        return self._attributes.get("dataschema")

    def get_subject(self) -> str | None:
        return self._attributes.get("subject")

    def get_time(self) -> datetime | None:
        return self._attributes.get("time")

    def get_extension(self, extension_name: str) -> object:
        return None if extension_name in _NAMED else self._attributes.get(extension_name)

    def get_data(self) -> dict[str, Any] | str | bytes | None:
        return self._data

    def get_attributes(self) -> dict[str, Any]:
        return self._attributes


def read_envelope(envelope: str) -> StoredCloudEvent:
    """The stored structured-mode (JSON) CloudEvent; raises ``ValueError`` or ``TypeError`` when it is not one."""
    attributes = orjson.loads(envelope)
    if not isinstance(attributes, dict):
        raise TypeError("the envelope is not a JSON object")
    missing = [name for name in _REQUIRED if not isinstance(attributes.get(name), str)]
    if missing:
        raise ValueError(f"the envelope lacks {', '.join(missing)}")
    if isinstance(time := attributes.get("time"), str):
        attributes["time"] = datetime.fromisoformat(time)
    data = attributes.pop("data", None)
    if data is None and isinstance(encoded := attributes.pop("data_base64", None), str):
        data = base64.b64decode(encoded)
    return StoredCloudEvent(attributes, data)
