"""Reconcile N ApiBases against kmock's Kubernetes emulator: a create pass, then resync rounds with no change.

Run with ``python bench/operator_bench.py [--count 1000] [--rounds 10]``. The API server is kmock's emulator in
a process of its own (``bench/operator_emulator.py``), seeded with the ApiBases; the operator is another process
running the real ``Reconciler`` and ``KubeClient`` (the official Kubernetes client) against it over 127.0.0.1,
so its CPU time and RSS are its own. Vault and the canary analysis are fakes that answer at once, and the clock
stands still, so every pass is deterministic.

Each mode runs with a fresh emulator, side by side in one run:

- ``cached``: the operator's watch caches (``apibase_operator.kube.cache.WatchCache``) list and watch every
  owned kind, and reconcile reads owned objects from them;
- ``uncached``: every read goes to the API server, as before the caches (the baseline).

The ApiBases are a mix (minimal; Istio; Dapr with two components; Istio, Dapr and a canary without analysis;
Vault) spread over ``--namespaces`` namespaces. Pass 1 creates every owned object. Each resync round then reads
every ApiBase back (one GET each: the status written in pass 1 is included) and reconciles it again: it must
make no write request at all; the script prints a FAILED line and exits 1 otherwise. Requests are counted by
the operator's client (a watch counts once, when it starts). RSS is the operator process's, after each round.
``--profile FILE`` writes cProfile stats of the cached operator's create pass (``python -m pstats FILE``).
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import resource
import subprocess
import sys
import time
from collections import Counter
from collections.abc import AsyncGenerator, Awaitable, Callable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from kubernetes.client import ApiClient, Configuration

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a script: make ``bench`` importable from the checkout

from apibase_operator.canary.analysis import AnalysisReason, AnalysisResult  # noqa: E402
from apibase_operator.crd.models import CanaryAnalysis  # noqa: E402
from apibase_operator.kube.cache import WatchCache  # noqa: E402
from apibase_operator.kube.client import REQUEST_THREADS, KubeClient  # noqa: E402
from apibase_operator.kube.kinds import MANAGED_KINDS, Kind  # noqa: E402
from apibase_operator.metrics import OperatorMetrics  # noqa: E402
from apibase_operator.runtime import OperatorConfig, Reconciler  # noqa: E402
from bench.operator_emulator import SHAPES, apibase_keys  # noqa: E402

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
MODES = ("uncached", "cached")


class PassingAnalysis:
    """Never called (no canary here has an analysis), but a Reconciler must not reach for a real Prometheus."""

    async def evaluate(self, analysis: CanaryAnalysis) -> AnalysisResult:
        return AnalysisResult(True, 0.0, AnalysisReason.PASSED, "bench")


class FakeVault:
    def read(self, mount: str, path: str) -> dict[str, str]:
        return {"password": "not-a-secret"}


@dataclass
class CountingClient(KubeClient):
    """The operator's client, counting every request it sends (reads included) by method."""

    requests: Counter[str] = field(default_factory=Counter)

    async def _call(
        self, method: str, path: str, body: object = None, content_type: str = "application/json"
    ) -> tuple[int, dict[str, object] | None]:
        self.requests[method] += 1
        return await super()._call(method, path, body, content_type)

    def watch(
        self, kind: Kind, namespace: str | None, selector: Mapping[str, str], resource_version: str | None, seconds: int
    ) -> AsyncGenerator[dict[str, object]]:
        self.requests["WATCH"] += 1
        return super().watch(kind, namespace, selector, resource_version, seconds)


@dataclass(frozen=True)
class PassResult:
    seconds: float
    cpu_seconds: float  # of the operator process only: the emulator runs in another
    requests: int
    gets: int
    writes: dict[str, int]
    rss_mib: float


def _rss_mib() -> float:
    """The operator process's resident set now (not its peak): flat over rounds means nothing accumulates."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def run_pass(
    reconciler: Reconciler,
    kube: CountingClient,
    keys: list[tuple[str, str]],
    body_of: Callable[[str, str], Awaitable[Mapping[str, object]]],
    concurrency: int,
) -> PassResult:
    semaphore = asyncio.Semaphore(concurrency)
    requests_before = kube.requests.copy()

    async def one(namespace: str, name: str) -> None:
        async with semaphore:
            await reconciler.reconcile(await body_of(namespace, name))

    started, cpu_started = time.perf_counter(), time.process_time()
    await asyncio.gather(*(one(namespace, name) for namespace, name in keys))
    seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu_started
    sent = kube.requests - requests_before
    writes = {method: n for method, n in sent.items() if method not in {"GET", "WATCH"}}
    return PassResult(seconds, cpu_seconds, sent.total(), sent["GET"], writes, _rss_mib())


async def _settled(cache: WatchCache) -> None:
    """Until the watch events of pass 1 have all arrived: the cache stops growing for half a second."""
    size = -1
    while size != len(cache):
        size = len(cache)
        await asyncio.sleep(0.5)


async def operate(url: str, args: argparse.Namespace, profiler: cProfile.Profile | None) -> dict[str, object]:
    """The operator process: pass 1, then ``--rounds`` no-change rounds; the results as one JSON document."""
    keys = apibase_keys(args.count, args.namespaces)
    configuration = Configuration(host=url)
    configuration.connection_pool_maxsize = REQUEST_THREADS + len(MANAGED_KINDS)  # as wiring.kube_configuration
    api = ApiClient(configuration)
    kube = CountingClient(api)
    cache = WatchCache(kube) if args.mode == "cached" else None
    reconciler = Reconciler(
        kube=kube,
        vault_reader=lambda spec, workload: FakeVault(),
        hash_key=b"operator-bench-hash-key-32-bytes",
        analysis=PassingAnalysis(),  # type: ignore[arg-type]
        config=OperatorConfig(vault_mounts=frozenset({"secret"})),
        metrics=OperatorMetrics(),
        clock=lambda: NOW,
        cache=cache,
    )

    async def read_back(namespace: str, name: str) -> Mapping[str, object]:
        found = await kube.get_apibase(namespace, name)
        if found is None:
            raise LookupError(f"ApiBase {namespace}/{name} vanished")
        return found

    rounds: list[PassResult] = []
    try:
        if cache is not None:
            cache.start()
            await cache.wait_synced(seconds=30.0)
        if profiler is not None:
            profiler.enable()
        created = await run_pass(reconciler, kube, keys, read_back, args.concurrency)
        if profiler is not None:
            profiler.disable()
        if cache is not None:
            await _settled(cache)
        rounds = [await run_pass(reconciler, kube, keys, read_back, args.concurrency) for _ in range(args.rounds)]
    finally:
        if cache is not None:
            await cache.stop()
        api.close()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    return {"create": asdict(created), "rounds": [asdict(one) for one in rounds], "peak_rss_mib": peak}


@dataclass(frozen=True)
class ModeResult:
    create: PassResult
    rounds: list[PassResult]
    peak_rss_mib: float

    @classmethod
    def parse(cls, document: str) -> ModeResult:
        data = json.loads(document)
        return cls(
            PassResult(**data["create"]), [PassResult(**one) for one in data["rounds"]], float(data["peak_rss_mib"])
        )


def run_mode(mode: str, args: argparse.Namespace) -> ModeResult:
    """A fresh emulator process and an operator process (this script, ``--mode``) against it."""
    here = Path(__file__).resolve().parent
    emulator_command = [sys.executable, str(here / "operator_emulator.py")]
    emulator_command += ["--count", str(args.count), "--namespaces", str(args.namespaces)]
    emulator_command += ["--raw-kmock"] if args.raw_kmock else []
    with subprocess.Popen(emulator_command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True) as emulator:
        assert emulator.stdout is not None
        assert emulator.stdin is not None
        url = emulator.stdout.readline().strip()
        command = [sys.executable, __file__, "--mode", mode, "--url", url]
        command += [f"--{name}={getattr(args, name)}" for name in ("count", "concurrency", "namespaces")]
        command += [f"--rounds={args.rounds if mode == 'cached' else args.baseline_rounds}"]
        if args.profile and mode == "cached":
            command += ["--profile", args.profile]
        done = subprocess.run(command, check=True, capture_output=True, text=True)
        emulator.stdin.close()
    return ModeResult.parse(done.stdout.splitlines()[-1])


def report(results: Mapping[str, ModeResult], count: int) -> int:
    print(f"{count:,} ApiBases ({', '.join(SHAPES)}); operator and emulator in separate processes")
    print(f"{'':<22}" + "".join(f"{mode:>40}" for mode in results))

    def row(title: str, cell: Callable[[ModeResult], str]) -> None:
        print(f"{title:<22}" + "".join(f"{cell(result):>40}" for result in results.values()))

    row("create: time", lambda r: f"{r.create.seconds:.1f} s")
    row("create: operator CPU", lambda r: f"{r.create.cpu_seconds:.1f} s")
    row("create: requests", lambda r: f"{r.create.requests:,} ({r.create.requests / count:.1f}/ApiBase)")
    row("create: writes", lambda r: f"{sum(r.create.writes.values()):,}")
    print(f"{'':<22}" + "".join(f"{'time, requests/ApiBase, writes, RSS':>40}" for _ in results))
    for index in range(max(len(result.rounds) for result in results.values())):

        def cell(result: ModeResult, index: int = index) -> str:
            if index >= len(result.rounds):
                return "-"
            one = result.rounds[index]
            per = one.requests / count
            return f"{one.seconds:.1f} s  {per:.2f}  {sum(one.writes.values())}  {one.rss_mib:.0f} MiB"

        row(f"resync {index + 1}", cell)
    row("operator peak RSS", lambda r: f"{r.peak_rss_mib:.0f} MiB")
    failed = [mode for mode, result in results.items() if any(sum(one.writes.values()) for one in result.rounds)]
    if failed:
        print(f"FAILED: a no-change round made write requests ({', '.join(failed)}); it must make none")
        return 1
    print("OK: no no-change round made a write request")
    return 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--count", type=int, default=1000, help="ApiBase objects (default: 1000)")
    parser.add_argument("--concurrency", type=int, default=16, help="reconciles in flight (default: 16)")
    parser.add_argument("--namespaces", type=int, default=10, help="namespaces to spread them over (default: 10)")
    parser.add_argument("--rounds", type=int, default=10, help="no-change resync rounds, cached (default: 10)")
    parser.add_argument("--baseline-rounds", type=int, default=2, help="no-change rounds, uncached (default: 2)")
    parser.add_argument("--modes", default=",".join(MODES), help="which of uncached,cached to run (default: both)")
    parser.add_argument("--raw-kmock", action="store_true", help="kmock as it is (minutes for a few dozen)")
    parser.add_argument("--profile", metavar="FILE", help="cProfile stats of the cached create pass to FILE")
    parser.add_argument("--mode", choices=MODES, help=argparse.SUPPRESS)  # the operator process
    parser.add_argument("--url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.mode is not None:
        profiler = cProfile.Profile() if args.profile else None
        print(json.dumps(asyncio.run(operate(args.url, args, profiler))))
        if profiler is not None:
            profiler.dump_stats(args.profile)
        return
    results = {mode: run_mode(mode, args) for mode in args.modes.split(",")}
    sys.exit(report(results, args.count))


if __name__ == "__main__":
    main()
