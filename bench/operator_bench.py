"""Reconcile N ApiBases against kmock's in-process Kubernetes emulator: a create pass, then a no-change pass.

Run with ``python bench/operator_bench.py [--count 1000] [--concurrency 16]``. Everything runs in this process
and on 127.0.0.1: kmock's ``KubernetesEmulator`` behind a ``kmock.Server`` on a free port, and the operator's
real ``Reconciler`` and ``KubeClient`` (the official Kubernetes client, one worker thread per request). Vault and
the canary analysis are fakes that answer at once, and the clock stands still, so both passes are deterministic.

The ApiBases are a mix (minimal; Istio; Dapr with two components; Istio, Dapr and a canary without analysis;
Vault) spread over ``--namespaces`` namespaces. Pass 1 creates every owned object. Pass 2 reads every ApiBase
back from the emulator (so the status written in pass 1 is included) and reconciles it again: it must make no
write request at all; the script prints a FAILED line and exits 1 otherwise. ``--profile FILE`` writes cProfile
stats of both passes (read them with ``python -m pstats FILE``).

Two things differ from a real API server. kmock has no server-side apply: an apply to a missing object answers
404, so pass 1 creates each object through the client's fallback (the failed apply, a GET, a POST), and the failed
apply counts as a write; a real API server creates with the apply. And kmock is a test double, not built for tens
of thousands of requests: :class:`FastEmulator` removes its costs that grow with the run (``--raw-kmock`` keeps
them, which takes minutes for a few dozen ApiBases).
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import itertools
import resource
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

import kmock
from aiohttp import web
from kubernetes.client import ApiClient, Configuration

from apibase_operator.canary.analysis import AnalysisReason, AnalysisResult
from apibase_operator.crd.models import CanaryAnalysis
from apibase_operator.kube.client import KubeClient
from apibase_operator.metrics import OperatorMetrics
from apibase_operator.runtime import OperatorConfig, Reconciler

RESOURCE = "apibase.dev/v1alpha1/apibases"
type ObjectKey = tuple[kmock.resource, str | None, str]
IMAGE, CANARY = "ghcr.io/acme/orders:1.4.2", "ghcr.io/acme/orders:1.5.0"
NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
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

    served = 0

    async def _handle(self, request: kmock.Request) -> web.StreamResponse:
        self.served += 1
        return await super()._handle(request)

    async def _serve_list(self, request: kmock.Request) -> kmock.Payload:
        payload = await super()._serve_list(request)
        selector = request.params.get("labelSelector")
        if not selector or not isinstance(payload, dict):
            return payload
        wanted = dict(term.split("=", 1) for term in selector.split(","))
        payload["items"] = [item for item in payload["items"] if _labelled(item, wanted)]
        return payload


class FastEmulator(Emulator):
    """The same answers, without three costs of kmock that grow with the size of the run (not the operator's).

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
        try:
            return await super()._handle(request)
        finally:
            # Only the requests in flight remain: finding this one is a short scan.
            self._requests[:] = [other for other in self._requests if other is not request]
            for payload in self._payloads:
                payload._requests.clear()  # kept for assertions; nobody asserts here

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


class PassingAnalysis:
    """Never called (no canary here has an analysis), but a Reconciler must not reach for a real Prometheus."""

    async def evaluate(self, analysis: CanaryAnalysis) -> AnalysisResult:
        return AnalysisResult(True, 0.0, AnalysisReason.PASSED, "bench")


class FakeVault:
    def read(self, mount: str, path: str) -> dict[str, str]:
        return {"password": "not-a-secret"}


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


@dataclass(frozen=True)
class PassResult:
    seconds: float
    cpu_seconds: float  # of the whole process (emulator, client threads and operator share it)
    writes: Counter[str]
    requests: int


async def run_pass(
    reconciler: Reconciler,
    emulator: Emulator,
    keys: list[tuple[str, str]],
    body_of: Callable[[str, str], Awaitable[Mapping[str, object]]],
    concurrency: int,
) -> PassResult:
    semaphore = asyncio.Semaphore(concurrency)
    writes_before, requests_before = len(reconciler.kube.writes), emulator.served

    async def one(namespace: str, name: str) -> None:
        async with semaphore:
            await reconciler.reconcile(await body_of(namespace, name))

    started, cpu_started = time.perf_counter(), time.process_time()
    await asyncio.gather(*(one(namespace, name) for namespace, name in keys))
    seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu_started
    writes = Counter(write.method for write in reconciler.kube.writes[writes_before:])
    return PassResult(seconds, cpu_seconds, writes, emulator.served - requests_before)


def report(title: str, count: int, result: PassResult) -> None:
    by_method = ", ".join(f"{method} {n:,}" for method, n in sorted(result.writes.items())) or "none"
    print(
        f"{title:<20}{result.seconds:>8.2f} s {count / result.seconds:>7.1f} reconciles/s"
        f"   CPU {result.cpu_seconds:>7.2f} s   {result.requests:>7,} requests"
        f"   {result.writes.total():>6,} writes ({by_method})"
    )


async def bench(
    count: int, concurrency: int, namespaces: int, *, raw_kmock: bool, profiler: cProfile.Profile | None
) -> int:
    emulator_class = Emulator if raw_kmock else FastEmulator
    async with emulator_class() as emulator, kmock.Server(emulator) as server:
        emulator.resources[RESOURCE] = {"kind": "ApiBase", "namespaced": True, "subresources": ["status"]}
        keys = [(f"bench-{index % namespaces}", f"svc-{index:05d}") for index in range(count)]
        bodies: dict[tuple[str, str], dict[str, object]] = {}
        for index, (namespace, name) in enumerate(keys):
            body = {
                "apiVersion": "apibase.dev/v1alpha1",
                "kind": "ApiBase",
                "metadata": {"name": name, "namespace": namespace, "uid": f"uid-{index:05d}", "generation": 1},
                "spec": spec_for(index, name),
            }
            emulator.objects[RESOURCE, namespace, name] = body
            bodies[namespace, name] = body

        api = ApiClient(Configuration(host=str(server.url).rstrip("/")))
        kube = KubeClient(api)
        reconciler = Reconciler(
            kube=kube,
            vault_reader=lambda spec, workload: FakeVault(),
            hash_key=b"operator-bench-hash-key-32-bytes",
            analysis=PassingAnalysis(),  # type: ignore[arg-type]
            config=OperatorConfig(vault_mounts=frozenset({"secret"})),
            metrics=OperatorMetrics(),
            clock=lambda: NOW,
        )

        async def created(namespace: str, name: str) -> Mapping[str, object]:
            return bodies[namespace, name]

        async def read_back(namespace: str, name: str) -> Mapping[str, object]:
            found = await kube.get_apibase(namespace, name)
            if found is None:
                raise LookupError(f"ApiBase {namespace}/{name} vanished")
            return found

        try:
            if profiler is not None:
                profiler.enable()
            first = await run_pass(reconciler, emulator, keys, created, concurrency)
            second = await run_pass(reconciler, emulator, keys, read_back, concurrency)
        finally:
            if profiler is not None:
                profiler.disable()
            api.close()

    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    print(f"{count:,} ApiBases ({', '.join(SHAPES)}) in {namespaces} namespaces, concurrency {concurrency}")
    report("pass 1 (create)", count, first)
    report("pass 2 (no change)", count, second)
    print(f"peak RSS {peak_mib:,.0f} MiB")
    if second.writes.total():
        print(f"FAILED: the no-change pass made {second.writes.total():,} write request(s); it must make none")
        return 1
    print("OK: the no-change pass made no write request")
    return 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--count", type=int, default=1000, help="ApiBase objects (default: 1000)")
    parser.add_argument("--concurrency", type=int, default=16, help="reconciles in flight (default: 16)")
    parser.add_argument("--namespaces", type=int, default=10, help="namespaces to spread them over (default: 10)")
    parser.add_argument(
        "--raw-kmock",
        action="store_true",
        help="kmock as it is, without FastEmulator (minutes for a few dozen ApiBases)",
    )
    parser.add_argument("--profile", metavar="FILE", help="write cProfile stats of both passes to FILE")
    args = parser.parse_args()
    profiler = cProfile.Profile() if args.profile else None
    status = asyncio.run(
        bench(args.count, args.concurrency, args.namespaces, raw_kmock=args.raw_kmock, profiler=profiler)
    )
    if profiler is not None:
        profiler.dump_stats(args.profile)
    sys.exit(status)


if __name__ == "__main__":
    main()
