"""An async façade over the official Kubernetes client: get, list, server-side apply, delete, status, events.

The official client is synchronous, so each call runs in a worker thread of the client's own pool (the default
executor has only CPUs + 4 threads, and would cap the requests in flight for every ApiBase at once); the
operator's concurrency comes from kopf handling many resources at once, not from parallel requests within one
reconcile.
"""

from __future__ import annotations

import asyncio
import contextvars
import json
import logging
import time
from collections import deque
from collections.abc import AsyncGenerator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import cast
from urllib.parse import quote, urlencode

from kubernetes.client import ApiClient

from apibase_operator import API_VERSION, KIND, PLURAL
from apibase_operator.kube.kinds import Kind, kind_of
from apibase_operator.kube.stream import watch_events

__all__ = ["FIELD_MANAGER", "REQUEST_THREADS", "KubeClient", "KubeError", "Listing", "Write", "has_labels"]

FIELD_MANAGER = "apibase-operator"
_log = logging.getLogger(__name__)
_JSON = "application/json"
#: How many of the latest writes ``KubeClient.writes`` keeps.
_RECENT_WRITES = 1000
#: Requests in flight at once; the connection pool of the ``ApiClient`` should hold as many connections.
REQUEST_THREADS = 16


class KubeError(Exception):
    """The API server refused a request; ``status`` is its HTTP status."""

    def __init__(self, status: int, method: str, path: str, body: str) -> None:
        super().__init__(f"{method} {path} answered {status}: {body[:300]}")
        self.status = status


@dataclass(frozen=True, slots=True)
class Write:
    method: str
    path: str


@dataclass(frozen=True, slots=True)
class Listing:
    """Every object of a collection and the ``resourceVersion`` a watch continues from."""

    items: list[dict[str, object]]
    resource_version: str | None


@dataclass
class KubeClient:
    """One per operator process; ``write_count`` counts every mutating request (a no-op resync must add none).

    ``writes`` keeps the latest of them, for tests and debugging: bounded, so that a long-running operator does
    not grow with every write it ever made.
    """

    api: ApiClient
    field_manager: str = FIELD_MANAGER
    server_side_apply: bool = True
    writes: deque[Write] = field(default_factory=lambda: deque(maxlen=_RECENT_WRITES))
    write_count: int = 0
    #: Threads for requests (the client blocks): as many requests can be in flight at once.
    executor: ThreadPoolExecutor = field(
        default_factory=lambda: ThreadPoolExecutor(REQUEST_THREADS, thread_name_prefix="kube")
    )

    async def _call(
        self, method: str, path: str, body: object = None, content_type: str = _JSON
    ) -> tuple[int, dict[str, object] | None]:
        def call() -> tuple[int, bytes]:
            url = self.api.configuration.host.rstrip("/") + path
            headers = {"Accept": _JSON, "Content-Type": content_type}
            # The client JSON-encodes bodies of JSON media types itself; an apply patch must be sent as text.
            payload = json.dumps(body) if body is not None and "json" not in content_type else body
            response = self.api.call_api(method, url, header_params=headers, body=payload)
            response.read()  # type: ignore[no-untyped-call]
            return response.status, response.data or b""

        if method != "GET":
            self.writes.append(Write(method, path))
            self.write_count += 1
        context = contextvars.copy_context()  # the caller's log context, as asyncio.to_thread would pass it
        status, raw = await asyncio.get_running_loop().run_in_executor(self.executor, context.run, call)
        if status == 404 and method in {"GET", "DELETE"}:
            return status, None
        if status >= 400:
            raise KubeError(status, method, path, raw.decode(errors="replace"))
        return status, cast("dict[str, object]", json.loads(raw)) if raw else None

    async def get(self, kind: Kind, namespace: str, name: str) -> dict[str, object] | None:
        return (await self._call("GET", kind.item(namespace, name)))[1]

    async def list(self, kind: Kind, namespace: str, selector: Mapping[str, str]) -> list[dict[str, object]]:
        """Objects carrying every label of ``selector``.

        The selector is checked again here: pruning deletes what this returns, so a server (an emulator, a proxy)
        that ignored ``labelSelector`` must not make the operator delete objects that are not its own.
        """
        query = urlencode({"labelSelector": _selector(selector)})
        _, body = await self._call("GET", f"{kind.collection(namespace)}?{query}")
        items = [cast("dict[str, object]", item) for item in cast("list[object]", (body or {}).get("items") or [])]
        return [item for item in items if has_labels(item, selector)]

    async def list_collection(
        self, kind: Kind, namespace: str | None, selector: Mapping[str, str], page_size: int = 500
    ) -> Listing:
        """A consistent listing (one snapshot, read in pages), for a watch cache to start from."""
        items: list[dict[str, object]] = []
        query = {"labelSelector": _selector(selector), "limit": str(page_size)}
        while True:
            _, body = await self._call("GET", f"{kind.collection(namespace)}?{urlencode(query)}")
            page = cast("list[object]", (body or {}).get("items") or [])
            items.extend(item for item in cast("list[dict[str, object]]", page) if has_labels(item, selector))
            metadata = cast("Mapping[str, object]", (body or {}).get("metadata") or {})
            if not (token := metadata.get("continue")):
                version = metadata.get("resourceVersion")
                return Listing(items, str(version) if version else None)
            query["continue"] = str(token)

    def watch(
        self, kind: Kind, namespace: str | None, selector: Mapping[str, str], resource_version: str | None, seconds: int
    ) -> AsyncGenerator[dict[str, object]]:
        """Watch events after ``resource_version`` (bookmarks asked for), until the server ends it after ``seconds``."""
        query = {
            "watch": "true",
            "allowWatchBookmarks": "true",
            "labelSelector": _selector(selector),
            "timeoutSeconds": str(seconds),
        }
        if resource_version:
            query["resourceVersion"] = resource_version
        return watch_events(self.api, f"{kind.collection(namespace)}?{urlencode(query)}", seconds + 30.0)

    async def apply(self, obj: dict[str, object]) -> dict[str, object] | None:
        """Server-side apply under our field manager; where the server has no SSA, create or merge-patch."""
        kind = kind_of(obj)
        metadata = cast("dict[str, str]", obj["metadata"])
        namespace, name = metadata["namespace"], metadata["name"]
        if self.server_side_apply:
            params = urlencode({"fieldManager": self.field_manager, "force": "true"})
            try:
                _, body = await self._call(
                    "PATCH", f"{kind.item(namespace, name)}?{params}", obj, "application/apply-patch+yaml"
                )
            except KubeError as error:
                if error.status not in {404, 415}:  # 404: a server without SSA cannot create by PATCH
                    raise
            else:
                return body
        if await self.get(kind, namespace, name) is None:
            return (await self._call("POST", kind.collection(namespace), obj))[1]
        return (await self._call("PATCH", kind.item(namespace, name), obj, "application/merge-patch+json"))[1]

    async def delete(self, kind: Kind, namespace: str, name: str) -> bool:
        status, _ = await self._call("DELETE", kind.item(namespace, name))
        return status != 404

    async def get_apibase(self, namespace: str, name: str) -> dict[str, object] | None:
        return (await self._call("GET", f"/apis/{API_VERSION}/namespaces/{namespace}/{PLURAL}/{quote(name)}"))[1]

    async def patch_status(self, namespace: str, name: str, status: Mapping[str, object]) -> None:
        path = f"/apis/{API_VERSION}/namespaces/{namespace}/{PLURAL}/{quote(name)}/status"
        await self._call("PATCH", path, {"status": dict(status)}, "application/merge-patch+json")

    async def event(self, involved: Mapping[str, object], event_type: str, reason: str, message: str) -> None:
        """A core/v1 Event on the ApiBase, so ``kubectl describe`` tells the story of every change.

        Best effort: an event that cannot be recorded is logged, never a reason to fail the reconciliation.
        """
        metadata = cast("Mapping[str, str]", involved["metadata"])
        namespace = metadata["namespace"]
        now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        body = {
            "apiVersion": "v1",
            "kind": "Event",
            # Named as client-go names events (object name, then nanoseconds in hex): a uuid4 would read
            # os.urandom on the event loop's thread for every Event.
            "metadata": {"name": f"{metadata['name']}.{time.time_ns():x}", "namespace": namespace},
            "involvedObject": {
                "apiVersion": API_VERSION,
                "kind": KIND,
                "name": metadata["name"],
                "namespace": namespace,
                "uid": metadata.get("uid", ""),
            },
            "type": event_type,
            "reason": reason,
            "message": message[:1024],
            "source": {"component": self.field_manager},
            "firstTimestamp": now,
            "lastTimestamp": now,
            "count": 1,
            "reportingComponent": self.field_manager,
        }
        try:
            await self._call("POST", f"/api/v1/namespaces/{namespace}/events", body)
        except KubeError:
            _log.warning("could not record event %s on %s/%s", reason, namespace, metadata["name"], exc_info=True)


def _selector(labels: Mapping[str, str]) -> str:
    return ",".join(f"{key}={value}" for key, value in sorted(labels.items()))


def has_labels(item: Mapping[str, object], selector: Mapping[str, str]) -> bool:
    metadata = item.get("metadata")
    labels = metadata.get("labels") if isinstance(metadata, Mapping) else None
    return isinstance(labels, Mapping) and all(labels.get(key) == value for key, value in selector.items())
