"""Metrics: own registry per app, histogram buckets, pool gauges at scrape time, exemplars, multiprocess files."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF
from prometheus_client import values
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from apibase.infrastructure.observability.metrics import DURATION_BUCKETS, Metrics, prepare_multiprocess_dir

pytestmark = pytest.mark.unit

OPENMETRICS = "application/openmetrics-text; version=1.0.0"


def samples(metrics: Metrics, name: str) -> dict[tuple[tuple[str, str], ...], float]:
    """Every sample called ``name`` in the text exposition, keyed by its sorted labels."""
    body, _ = metrics.render(None)
    return {
        tuple(sorted(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(body.decode())
        for sample in family.samples
        if sample.name == name
    }


def test_each_instance_owns_its_registry() -> None:
    first, second = Metrics(), Metrics()
    first.request_finished("GET", "/a", 200, 0.01)
    first.request_finished("GET", "/a", 200, 0.01)
    second.request_finished("GET", "/a", 200, 0.01)

    key = (("method", "GET"), ("route", "/a"), ("status", "200"))
    assert samples(first, "http_requests_total")[key] == 2
    assert samples(second, "http_requests_total")[key] == 1


def test_every_label_set_is_its_own_series_each_time_it_is_observed() -> None:
    metrics = Metrics()
    for method, route, status in [("GET", "/a", 200), ("GET", "/a", 404), ("POST", "/a", 200), ("GET", "/b", 200)] * 2:
        metrics.request_finished(method, route, status, 0.01)
    metrics.request_finished("GET", "/a", 404, 0.01)

    counts = samples(metrics, "http_requests_total")
    durations = samples(metrics, "http_request_duration_seconds_count")
    assert counts == {
        (("method", "GET"), ("route", "/a"), ("status", "200")): 2,
        (("method", "GET"), ("route", "/a"), ("status", "404")): 3,
        (("method", "POST"), ("route", "/a"), ("status", "200")): 2,
        (("method", "GET"), ("route", "/b"), ("status", "200")): 2,
    }
    assert durations == {
        (("method", "GET"), ("route", "/a")): 5,
        (("method", "POST"), ("route", "/a")): 2,
        (("method", "GET"), ("route", "/b")): 2,
    }


def test_the_duration_histogram_uses_the_latency_buckets() -> None:
    metrics = Metrics()
    metrics.request_finished("GET", "/a", 200, 0.03)
    metrics.request_finished("GET", "/a", 200, 45.0)

    buckets = samples(metrics, "http_request_duration_seconds_bucket")
    by_bound = {dict(labels)["le"]: value for labels, value in buckets.items()}
    assert [float(bound) for bound in by_bound if bound != "+Inf"] == list(DURATION_BUCKETS)
    assert (by_bound["0.025"], by_bound["0.05"], by_bound["30.0"], by_bound["+Inf"]) == (0, 1, 1, 2)


def test_business_counters() -> None:
    metrics = Metrics()
    placed, created = metrics.counter("orders_placed", "Orders placed"), metrics.counter("things", "Things")
    placed()
    placed()
    created()
    metrics.login_failed("auth.invalid_credentials")

    assert samples(metrics, "orders_placed_total") == {(): 2}
    assert samples(metrics, "things_total") == {(): 1}
    assert samples(metrics, "login_failures_total") == {(("reason", "auth.invalid_credentials"),): 1}


def test_render_negotiates_the_format() -> None:
    metrics = Metrics()
    text_body, text_type = metrics.render("text/plain")
    open_body, open_type = metrics.render(OPENMETRICS)

    assert text_type.startswith("text/plain; version=0.0.4")
    assert open_type.startswith("application/openmetrics-text; version=1.0.0")
    assert open_body.endswith(b"# EOF\n")
    assert not text_body.endswith(b"# EOF\n")


# -- database pools ---------------------------------------------------------------------------------------


@pytest.fixture
async def sqlite_engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    engine = create_async_engine(f"sqlite+aiosqlite:///{tmp_path / 'pool.db'}", pool_size=3, max_overflow=2)
    yield engine
    await engine.dispose()


def pool_gauges(metrics: Metrics) -> dict[str, float]:
    found: dict[str, float] = {}
    for name in ("db_pool_size", "db_pool_checked_in", "db_pool_checked_out", "db_pool_overflow"):
        for labels, value in samples(metrics, name).items():
            assert labels == (("pool", "primary"),)
            found[name] = value
    return found


async def test_pool_gauges_read_the_queue_pool_at_scrape_time(sqlite_engine: AsyncEngine) -> None:
    metrics = Metrics()
    metrics.track_database(sqlite_engine, name="primary")

    async with sqlite_engine.connect() as first, sqlite_engine.connect() as second:
        await first.execute(text("SELECT 1"))
        await second.execute(text("SELECT 1"))
        busy = pool_gauges(metrics)
    idle = pool_gauges(metrics)

    assert busy == {"db_pool_size": 3, "db_pool_checked_in": 0, "db_pool_checked_out": 2, "db_pool_overflow": 0}
    assert idle == {"db_pool_size": 3, "db_pool_checked_in": 2, "db_pool_checked_out": 0, "db_pool_overflow": 0}


async def test_pool_gauges_follow_the_new_pool_after_dispose(sqlite_engine: AsyncEngine) -> None:
    metrics = Metrics()
    metrics.track_database(sqlite_engine, name="primary")
    async with sqlite_engine.connect() as connection:
        await connection.execute(text("SELECT 1"))
    await sqlite_engine.dispose()

    assert pool_gauges(metrics)["db_pool_checked_in"] == 0


async def test_pools_without_a_queue_are_skipped() -> None:
    engine = create_async_engine("sqlite+aiosqlite:///:memory:")  # StaticPool
    metrics = Metrics()
    metrics.track_database(engine, name="primary")
    async with engine.connect() as connection:
        await connection.execute(text("SELECT 1"))
        assert samples(metrics, "db_pool_size") == {}
    await engine.dispose()


# -- exemplars --------------------------------------------------------------------------------------------


def test_a_recording_span_becomes_an_exemplar_in_openmetrics_only() -> None:
    tracer = TracerProvider().get_tracer(__name__)
    metrics = Metrics()
    with tracer.start_as_current_span("request") as span:
        metrics.request_finished("GET", "/a", 200, 0.02)
        trace_id = format(span.get_span_context().trace_id, "032x")

    open_body, _ = metrics.render(OPENMETRICS)
    text_body, _ = metrics.render(None)
    exemplar = f'# {{trace_id="{trace_id}"}}'
    lines = [line for line in open_body.decode().splitlines() if exemplar in line]
    assert any(line.startswith('http_requests_total{method="GET",route="/a",status="200"}') for line in lines)
    assert any(line.startswith('http_request_duration_seconds_bucket{le="0.025"') for line in lines)
    assert trace_id not in text_body.decode()


def test_no_exemplar_without_a_recording_span() -> None:
    unsampled = TracerProvider(sampler=ALWAYS_OFF).get_tracer(__name__)
    metrics = Metrics()
    metrics.request_finished("GET", "/a", 200, 0.02)
    with unsampled.start_as_current_span("dropped"):
        metrics.request_finished("GET", "/a", 200, 0.02)

    assert "trace_id" not in metrics.render(OPENMETRICS)[0].decode()


# -- multiprocess mode ------------------------------------------------------------------------------------


@pytest.fixture
def multiprocess_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """What importing prometheus_client with PROMETHEUS_MULTIPROC_DIR set does: values live in mmapped files."""
    directory = tmp_path / "prometheus"
    directory.mkdir()
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(directory))
    value_class = values.MultiProcessValue()
    monkeypatch.setattr(values, "ValueClass", value_class)
    yield directory
    value_class.close_all_files()


async def test_multiprocess_mode_renders_from_the_files(multiprocess_dir: Path, sqlite_engine: AsyncEngine) -> None:
    metrics = Metrics()
    metrics.track_database(sqlite_engine, name="primary")
    with metrics.in_flight():
        metrics.request_finished("GET", "/a", 200, 0.01)
        assert samples(metrics, "http_requests_in_flight") == {(): 1}
    metrics.counter("orders_placed", "Orders placed")()

    assert metrics.multiprocess_dir == str(multiprocess_dir)
    assert samples(metrics, "http_requests_total") == {(("method", "GET"), ("route", "/a"), ("status", "200")): 1}
    assert samples(metrics, "orders_placed_total") == {(): 1}
    assert pool_gauges(metrics)["db_pool_size"] == 3


def test_close_drops_the_live_gauges_of_this_process_but_keeps_its_counts(multiprocess_dir: Path) -> None:
    metrics = Metrics()
    with metrics.in_flight():
        metrics.request_finished("GET", "/a", 200, 0.01)
    pid = os.getpid()
    assert {path.name for path in multiprocess_dir.iterdir()} == {
        f"counter_{pid}.db",
        f"histogram_{pid}.db",
        f"gauge_livesum_{pid}.db",
    }

    metrics.close()

    assert not (multiprocess_dir / f"gauge_livesum_{os.getpid()}.db").exists()
    assert samples(metrics, "http_requests_in_flight") == {}
    assert samples(metrics, "http_requests_total") == {(("method", "GET"), ("route", "/a"), ("status", "200")): 1}


def test_close_outside_multiprocess_mode_does_nothing(tmp_path: Path) -> None:
    metrics = Metrics()
    metrics.request_finished("GET", "/a", 200, 0.01)
    metrics.close()
    assert metrics.multiprocess_dir is None
    assert samples(metrics, "http_requests_total")


def test_prepare_multiprocess_dir_removes_only_metric_files(tmp_path: Path) -> None:
    directory = tmp_path / "prometheus"
    assert prepare_multiprocess_dir(directory) == directory
    (directory / "counter_1.db").write_bytes(b"stale")
    (directory / "gauge_livesum_1.db").write_bytes(b"stale")
    (directory / "notes.txt").write_text("keep")

    prepare_multiprocess_dir(directory)

    assert [path.name for path in directory.iterdir()] == ["notes.txt"]
