"""Canary analysis against a real Prometheus server (the ``prometheus`` binary) on a free loopback port.

Needs the binary on PATH — on Debian/Ubuntu ``apt-get install prometheus`` — and skips with that hint when it is
absent. PromQL constants (``vector(0.2)``) need no scraped data, so a fresh empty server answers within a second.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from apibase.testing.processes import free_port, stop_process
from apibase_operator.canary import AnalysisResult, PrometheusAnalysis
from apibase_operator.crd.models import CanaryAnalysis

pytestmark = pytest.mark.integration

_READY_WITHIN_SECONDS = 15.0


@pytest.fixture(scope="module")
def prometheus_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    binary = shutil.which("prometheus")
    if binary is None:
        pytest.skip("the prometheus binary is not on PATH (Debian/Ubuntu: apt-get install prometheus)")
    work: Path = tmp_path_factory.mktemp("prometheus")
    config = work / "prometheus.yml"
    config.write_text("global:\n  scrape_interval: 15s\n")
    url = f"http://127.0.0.1:{free_port()}"
    with (work / "prometheus.log").open("wb") as log:
        process = subprocess.Popen(  # noqa: S603 - a fixed binary and arguments, no shell
            [
                binary,
                f"--config.file={config}",
                f"--storage.tsdb.path={work / 'data'}",
                f"--web.listen-address={url.removeprefix('http://')}",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + _READY_WITHIN_SECONDS
        while True:
            if process.poll() is not None:
                pytest.fail(f"prometheus exited with {process.returncode}:\n{(work / 'prometheus.log').read_text()}")
            try:
                if httpx.get(f"{url}/-/ready", timeout=1.0).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"prometheus not ready within {_READY_WITHIN_SECONDS}s")
            time.sleep(0.1)
        yield url
    finally:
        stop_process(process)


async def evaluate(url: str, query: str, max_value: float | None = 0.5) -> AnalysisResult:
    return await PrometheusAnalysis().evaluate(CanaryAnalysis(prometheus_url=url, query=query, max_value=max_value))


async def test_a_value_within_bounds_passes(prometheus_url: str) -> None:
    result = await evaluate(prometheus_url, "vector(0.2)")

    assert (result.passed, result.value, result.reason) == (True, 0.2, "AnalysisPassed")


async def test_a_value_above_max_fails(prometheus_url: str) -> None:
    result = await evaluate(prometheus_url, "vector(1)")

    assert (result.passed, result.value, result.reason) == (False, 1.0, "ThresholdExceeded")


async def test_a_scalar_is_read(prometheus_url: str) -> None:
    result = await evaluate(prometheus_url, "scalar(vector(0.3))")

    assert (result.passed, result.value) == (True, 0.3)


async def test_a_series_nobody_scraped_is_no_data(prometheus_url: str) -> None:
    result = await evaluate(prometheus_url, 'http_requests_total{job="none"}')

    assert (result.passed, result.reason) == (False, "NoData")


async def test_a_syntax_error_is_a_failed_query(prometheus_url: str) -> None:
    result = await evaluate(prometheus_url, "sum(")

    assert (result.passed, result.reason) == (False, "QueryFailed")
    assert "HTTP 400: bad_data" in result.message
