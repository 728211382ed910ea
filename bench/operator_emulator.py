"""The Kubernetes API server of ``bench/operator_bench.py``: kmock's emulator, seeded with N ApiBases, in a process
of its own, so that the operator's CPU time and memory are measured apart from the server's.

Run by the bench (``python bench/operator_emulator.py --count N --namespaces M``): it prints the server's URL on
stdout and serves until its stdin closes.

Two things differ from a real API server, and :class:`FastEmulator` mends both. kmock has no server-side apply:
an apply to a missing object answers 404; here it creates the object, as an API server does. And kmock is a test
double, not built for tens of thousands of requests: its costs that grow with the run (``--raw-kmock`` keeps
them, which takes minutes for a few dozen ApiBases) are removed.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import sys
from collections.abc import AsyncIterator, Mapping

import kmock
from aiohttp import web

__all__ = ["SHAPES", "Emulator", "FastEmulator", "apibase_keys", "spec_for"]

RESOURCE = "apibase.dev/v1alpha1/apibases"
type ObjectKey = tuple[kmock.resource, str | None, str]
IMAGE, CANARY = "ghcr.io/acme/orders:1.4.2", "ghcr.io/acme/orders:1.5.0"
SHAPES = ("minimal", "istio", "dapr", "istio+dapr+canary", "vault")
VAULT = {
    "address": "http://vault.invalid:8200",  # never contacted: the reader below is a fake
    "auth": {"kubernetes": {"role": "bench"}},
    "paths": [{"path": "bench/db", "keys": {"password": "DB_PASSWORD"}}],
    "refreshIntervalSeconds": 300,
}


class Emulator(kmock.KubernetesEmulator):
    """kmock's emulator as it is, but with ``labelSelector`` honoured on lists, as the API server does.

    kmock lists every object of a kind in the namespace whatever the selector. The operator deletes what a
    selector-filtered list returns and is not desired, so without this filter one ApiBase would prune its
    neighbours' objects. Only equality selectors (``k=v,k2=v2``) are needed here.
    """

    async def _serve_list(self, request: kmock.Request) -> kmock.Payload:
        payload = await super()._serve_list(request)
        selector = request.params.get("labelSelector")
        if not selector or not isinstance(payload, dict):
            return payload
        wanted = dict(term.split("=", 1) for term in selector.split(","))
        payload["items"] = [item for item in payload["items"] if _labelled(item, wanted)]
        return payload


class FastEmulator(Emulator):
    """The same answers, with server-side apply creating, and without three costs of kmock that grow with the
    size of the run (not the operator's).

    - kmock records every request and, to route each new one, scans that whole history through its filters
      (``request in payload._source``): quadratic in the number of requests. Here a request is forgotten once
      it is answered.
    - kmock finds an object (a GET, the answer to a PATCH) by scanning every stored object, Events included.
      Here a GET by name is a dict lookup and a list looks at its (resource, namespace) only.
    - Before each list, kmock collects the known resources from every stored object. Here they are indexed.
    """

    def __attrs_post_init__(self) -> None:
        super().__attrs_post_init__()
        self.indexed = 0
        self.by_namespace: dict[tuple[kmock.resource, str | None], list[ObjectKey]] = {}

    async def _handle(self, request: kmock.Request) -> web.StreamResponse:
        await self._create_on_apply(request)
        try:
            return await super()._handle(request)
        finally:
            # Only the requests in flight remain: finding this one is a short scan.
            self._requests[:] = [other for other in self._requests if other is not request]
            for payload in self._payloads:
                payload._requests.clear()  # kept for assertions; nobody asserts here

    async def _serve_watch(self, request: kmock.Request) -> AsyncIterator[kmock.Payload]:
        """kmock's watch, forgotten as soon as it streams: routing scans every request in flight, and a watch
        stays in flight for the whole run."""
        self._requests[:] = [other for other in self._requests if other is not request]
        async for item in super()._serve_watch(request):
            yield item

    async def _create_on_apply(self, request: kmock.Request) -> None:
        """An apply (``application/apply-patch+yaml``) to a missing object creates it, as on an API server.

        kmock then handles the request as the patch of an existing object: same content, so nothing changes.
        """
        apply = "apply-patch" in request.headers.get("Content-Type", "")
        if not apply or request.resource is None or request.name is None:
            return
        key = (kmock.resource(request.resource), request.namespace, request.name)
        async with self._lock:
            if key in self._objects and not self._objects[key].deleted:
                return
            if key in self._objects:
                self._objects[key].create(request.data)
            else:
                self._objects[key] = request.data
            await self._buses[request.resource].put({"type": "ADDED", "object": self._objects[key].raw})

    def _index(self) -> dict[ObjectKey, object]:
        """kmock's store, ``{(resource, namespace, name): object}``, with the keys added since last time indexed.

        Keys are only ever added (a deleted object stays, with its history), in insertion order.
        """
        objects: dict[ObjectKey, object] = self._objects._objects
        added = len(objects) - self.indexed
        if added < 0:  # hard-deleted behind the API (del kmock.objects[...]): index again from scratch
            self.by_namespace, self.indexed, added = {}, 0, len(objects)
        if added:  # the newest keys are the last ones: reversed() reaches them without walking the others
            for key in reversed(list(itertools.islice(reversed(objects), added))):
                self.by_namespace.setdefault(key[:2], []).append(key)
            self.indexed = len(objects)
        return objects

    def _get_resources(self) -> list[kmock.resource]:
        self._index()
        declared = super(kmock.KubernetesEmulator, self)._get_resources()  # skip its scan over every object
        return list(set(declared) | {resource for resource, _ in self.by_namespace})

    def _KubernetesEmulator__get_objs(self, request: kmock.Request, strict: bool) -> list[object]:  # noqa: N802
        """Replaces kmock's private full scan (the name-mangled ``__get_objs``) with lookups."""
        objects = self._index()
        if request.resource is None or request.namespace is None:  # cluster-wide: kmock's own rule, unindexed
            return [obj for (res, ns, name), obj in objects.items() if self._matches(request, res, ns, name, strict)]
        resource = kmock.resource(request.resource)
        if request.name is not None:
            found = objects.get((resource, request.namespace, request.name))
            return [] if found is None else [found]
        return [objects[key] for key in self.by_namespace.get((resource, request.namespace), [])]

    @staticmethod
    def _matches(request: kmock.Request, res: object, ns: str | None, name: str, strict: bool) -> bool:
        namespace_ok = ns == request.namespace if strict else request.namespace is None or ns == request.namespace
        return res == request.resource and namespace_ok and (request.name is None or name == request.name)


def _labelled(item: Mapping[str, object], wanted: Mapping[str, str]) -> bool:
    metadata = item.get("metadata")
    labels = metadata.get("labels") if isinstance(metadata, Mapping) else None
    return isinstance(labels, Mapping) and all(labels.get(key) == value for key, value in wanted.items())


def spec_for(index: int, name: str) -> dict[str, object]:
    """The ``index``-th ApiBase's spec, cycling through :data:`SHAPES`."""
    shape = SHAPES[index % len(SHAPES)]
    spec: dict[str, object] = {"image": IMAGE}
    if "istio" in shape:
        spec["istio"] = {"enabled": True}
    if "dapr" in shape:
        # Component names are per namespace, not per ApiBase: prefix them so that neighbours do not collide.
        spec["dapr"] = {
            "components": [
                {
                    "name": f"{name}-pubsub",
                    "type": "pubsub.redis",
                    "metadata": [{"name": "redisHost", "value": "r:6379"}],
                },
                {
                    "name": f"{name}-state",
                    "type": "state.redis",
                    "metadata": [{"name": "redisHost", "value": "r:6379"}],
                },
            ]
        }
    if "canary" in shape:
        spec["canary"] = {"image": CANARY, "steps": [10, 50, 100], "stepIntervalSeconds": 60}
    if shape == "vault":
        spec["vault"] = VAULT
    return spec


def apibase_keys(count: int, namespaces: int) -> list[tuple[str, str]]:
    """(namespace, name) of every ApiBase of a run, in the order the bench reconciles them."""
    return [(f"bench-{index % namespaces}", f"svc-{index:05d}") for index in range(count)]


#: Every kind the operator may own, served from the start (kmock serves only the kinds it has objects of).
SERVED = {
    "apps/v1/deployments": "Deployment",
    "v1/services": "Service",
    "v1/serviceaccounts": "ServiceAccount",
    "v1/secrets": "Secret",
    "v1/events": "Event",
    "autoscaling/v2/horizontalpodautoscalers": "HorizontalPodAutoscaler",
    "policy/v1/poddisruptionbudgets": "PodDisruptionBudget",
    "dapr.io/v1alpha1/components": "Component",
    "networking.istio.io/v1/destinationrules": "DestinationRule",
    "networking.istio.io/v1/virtualservices": "VirtualService",
    "security.istio.io/v1/peerauthentications": "PeerAuthentication",
    "security.istio.io/v1/authorizationpolicies": "AuthorizationPolicy",
}


async def serve(count: int, namespaces: int, *, raw_kmock: bool) -> None:
    """Seed ``count`` ApiBases, print the URL, serve until stdin closes."""
    emulator_class = Emulator if raw_kmock else FastEmulator
    async with emulator_class() as emulator, kmock.Server(emulator) as server:
        emulator.resources[RESOURCE] = {"kind": "ApiBase", "namespaced": True, "subresources": ["status"]}
        for resource, kind in SERVED.items():
            emulator.resources[resource] = {"kind": kind, "namespaced": True}
        for index, (namespace, name) in enumerate(apibase_keys(count, namespaces)):
            emulator.objects[RESOURCE, namespace, name] = {
                "apiVersion": "apibase.dev/v1alpha1",
                "kind": "ApiBase",
                "metadata": {"name": name, "namespace": namespace, "uid": f"uid-{index:05d}", "generation": 1},
                "spec": spec_for(index, name),
            }
        print(str(server.url).rstrip("/"), flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--count", type=int, required=True)
    parser.add_argument("--namespaces", type=int, required=True)
    parser.add_argument("--raw-kmock", action="store_true")
    args = parser.parse_args()
    asyncio.run(serve(args.count, args.namespaces, raw_kmock=args.raw_kmock))


if __name__ == "__main__":
    main()
