"""A watch cache of one kind: list once, then follow a watch from that listing's ``resourceVersion``.

This is what client-go's informers give Go controllers, and what lets a resync read the cluster from memory
instead of the API server. The watch is label-selected (server-side, and checked again here) to the operator's
own objects, so the cache holds those only. Bookmarks keep the ``resourceVersion`` current on a quiet stream;
a watch the server no longer can continue (410 Gone) is replaced by a fresh listing, and the objects that
changed meanwhile are reported as if their events had arrived. A kind the server does not serve (its CRD is not
installed) is an empty cache, listed again every ``unserved_retry_seconds``: none of its objects can exist.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import cast

from apibase_operator.kube.client import KubeClient, KubeError, has_labels
from apibase_operator.kube.kinds import Kind
from apibase_operator.kube.stream import StreamError

__all__ = ["OWNER_LABEL", "Informer"]

#: The label that names the ApiBase an object belongs to; the cache indexes objects by it.
OWNER_LABEL = "app.kubernetes.io/instance"
_GONE = 410
_NOT_FOUND = 404
_log = logging.getLogger(__name__)
type _Key = tuple[str, str]


class _GoneError(Exception):
    """The watch's resourceVersion is too old: list again."""


def _ignore(_: Mapping[str, object]) -> None:
    """The default ``on_change``: nobody to tell."""


def _metadata(obj: Mapping[str, object]) -> Mapping[str, object]:
    return cast("Mapping[str, object]", obj.get("metadata") or {})


def _key(obj: Mapping[str, object]) -> _Key:
    metadata = _metadata(obj)
    return str(metadata.get("namespace") or ""), str(metadata.get("name") or "")


def _owner(obj: Mapping[str, object]) -> str | None:
    labels = _metadata(obj).get("labels")
    owner = labels.get(OWNER_LABEL) if isinstance(labels, Mapping) else None
    return owner if isinstance(owner, str) else None


def _slim(obj: dict[str, object]) -> dict[str, object]:
    """The object as the cache keeps it: without ``managedFields`` (often the larger half of an object, and never
    compared by the operator), and with its keys interned: each parsed event brings its own copies of the same
    few hundred field names, which would otherwise be about a third of the cache's memory."""
    metadata = {key: value for key, value in _metadata(obj).items() if key != "managedFields"}
    return cast("dict[str, object]", _interned({**obj, "metadata": metadata}))


def _interned(value: object) -> object:
    """Scalars are returned as they are without a call each: most of an object's values are scalars."""
    if isinstance(value, dict):
        return {
            sys.intern(str(key)): _interned(item) if isinstance(item, dict | list) else item
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [_interned(item) if isinstance(item, dict | list) else item for item in value]
    return value


@dataclass(eq=False)
class Informer:
    """The objects of ``kind`` in ``namespace`` (None: every namespace) that carry every label of ``selector``.

    ``on_change`` is called with each object added, changed or deleted after the first listing (and with the
    differences a relisting found), once the cache holds the new state.
    """

    kube: KubeClient
    kind: Kind
    namespace: str | None
    selector: Mapping[str, str]
    on_change: Callable[[Mapping[str, object]], None] = _ignore
    watch_seconds: int = 300
    retry_seconds: float = 5.0
    unserved_retry_seconds: float = 60.0
    resource_version: str | None = None
    _objects: dict[_Key, dict[str, object]] = field(default_factory=dict, init=False)
    _by_owner: dict[_Key, dict[str, dict[str, object]]] = field(default_factory=dict, init=False)
    _synced: asyncio.Event = field(default_factory=asyncio.Event, init=False)

    @property
    def synced(self) -> bool:
        """True once a listing has filled the cache: from then on it answers reads."""
        return self._synced.is_set()

    async def wait_synced(self) -> None:
        await self._synced.wait()

    def covers(self, namespace: str) -> bool:
        return self.namespace is None or self.namespace == namespace

    def __len__(self) -> int:
        return len(self._objects)

    def get(self, namespace: str, name: str) -> dict[str, object] | None:
        return self._objects.get((namespace, name))

    def owned_by(self, namespace: str, owner: str) -> list[dict[str, object]]:
        return list(self._by_owner.get((namespace, owner), {}).values())

    async def run(self) -> None:
        """List and watch until cancelled; a failure is logged and retried, continuing from the last version."""
        while True:
            try:
                if self.resource_version is None:
                    await self.relist()
                await self.follow()
            except _GoneError:
                _log.info("watch of %s expired (410 Gone): listing again", self.kind.plural)
                self.resource_version = None
            except (KubeError, StreamError, OSError, ValueError) as error:
                status = getattr(error, "status", None)
                if status == _GONE:  # the watch request itself answered 410
                    self.resource_version = None
                    continue
                if status == _NOT_FOUND:
                    self.resource_version = None  # not served (yet): list again later
                    await asyncio.sleep(self.unserved_retry_seconds)
                    continue
                _log.warning("watch of %s failed: %s; retrying", self.kind.plural, error)
                await asyncio.sleep(self.retry_seconds)

    async def relist(self) -> None:
        """Replace the cache with a fresh listing; report what differs from what was cached."""
        listing = await self.kube.list_collection(self.kind, self.namespace, self.selector)
        fresh = {_key(item): _slim(item) for item in listing.items}
        for key in [key for key in self._objects if key not in fresh]:
            self.on_change(self._forget(key))
        for key, obj in fresh.items():
            old = self._objects.get(key)
            self._keep(key, obj)
            if self.synced and (old is None or _version(old) != _version(obj)):
                self.on_change(obj)
        self.resource_version = listing.resource_version
        self._synced.set()

    async def follow(self) -> None:
        """Apply one watch stream's events until the server ends it (its ``timeoutSeconds``)."""
        events = self.kube.watch(self.kind, self.namespace, self.selector, self.resource_version, self.watch_seconds)
        async with contextlib.aclosing(events):
            async for event in events:
                self.handle(event)

    def handle(self, event: Mapping[str, object]) -> None:
        """One watch event: ADDED, MODIFIED, DELETED, BOOKMARK, or an ERROR (410 Gone ends the watch)."""
        kind, obj = event.get("type"), cast("dict[str, object]", event.get("object") or {})
        if kind == "ERROR":
            code = int(cast("int", obj.get("code") or 0))
            if code == _GONE:
                raise _GoneError
            raise StreamError(code, self.kind.collection(self.namespace), str(obj.get("message") or ""))
        if (version := _version(obj)) is not None:
            self.resource_version = version
        if kind == "BOOKMARK":
            return
        key = _key(obj)
        if kind == "DELETED" or not has_labels(obj, self.selector):  # deleted, or no longer ours
            if key in self._objects:
                self._forget(key)
                self.on_change(obj)
            return
        self._keep(key, _slim(obj))
        self.on_change(obj)

    def _keep(self, key: _Key, obj: dict[str, object]) -> None:
        if (old := self._objects.get(key)) is not None and _owner(old) != _owner(obj):
            self._forget(key)
        self._objects[key] = obj
        if (owner := _owner(obj)) is not None:
            self._by_owner.setdefault((key[0], owner), {})[key[1]] = obj

    def _forget(self, key: _Key) -> dict[str, object]:
        obj = self._objects.pop(key)
        if (owner := _owner(obj)) is not None and (named := self._by_owner.get((key[0], owner))) is not None:
            named.pop(key[1], None)
            if not named:
                del self._by_owner[key[0], owner]
        return obj


def _version(obj: Mapping[str, object]) -> str | None:
    version = _metadata(obj).get("resourceVersion")
    return str(version) if version else None
