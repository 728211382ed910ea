"""Canary analysis against a real HTTP server on 127.0.0.1.

The server stands in for Prometheus: it answers ``GET /api/v1/query`` with the JSON shapes the Prometheus HTTP API
documents (vector, scalar, empty vector, error object) plus the failures a real one can produce (HTTP 500, a body
that is not JSON, silence). The query text picks the answer, so each test says what Prometheus "returns".
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from apibase_operator.canary import AnalysisReason, AnalysisResult, PrometheusAnalysis
from apibase_operator.crd.models import CanaryAnalysis

pytestmark = pytest.mark.unit


def vector(*values: str) -> dict[str, object]:
    return {
        "status": "success",
        "data": {
            "resultType": "vector",
            "result": [{"metric": {"pod": f"p{i}"}, "value": [1_700_000_000.5, v]} for i, v in enumerate(values)],
        },
    }


def data(result_type: str, result: object) -> dict[str, object]:
    return {"status": "success", "data": {"resultType": result_type, "result": result}}


JSON_ANSWERS: dict[str, tuple[int, object]] = {
    "ok": (200, vector("0.01")),
    "high": (200, vector("0.2")),
    "low": (200, vector("3")),
    "scalar": (200, data("scalar", [1_700_000_000.5, "0.02"])),
    "empty": (200, vector()),
    "nan": (200, vector("NaN")),
    "two_series": (200, vector("0.01", "0.02")),
    "matrix": (200, data("matrix", [])),
    "vector_not_list": (200, data("vector", {})),
    "no_data_field": (200, {"status": "success"}),
    "bad_sample": (200, data("vector", [{"metric": {}, "value": [1]}])),
    "bad_number": (200, data("scalar", [1, "many"])),
    "series_not_object": (200, data("vector", ["0.1"])),
    "not_an_object": (200, ["success"]),
    "syntax": (400, {"status": "error", "errorType": "bad_data", "error": "parse error: unexpected end of input"}),
    "error_without_detail": (422, {"status": "error"}),
    "overloaded": (503, {"status": "error", "errorType": "unavailable", "error": "too many queries"}),
    "throttled": (429, {"status": "error"}),
}
RAW_ANSWERS: dict[str, tuple[int, bytes]] = {
    "boom": (500, b"internal error"),
    "malformed": (200, b'{"status": "success", "data": {'),
    "html": (302, b"<html>login</html>"),
}


@dataclass
class FakePrometheus:
    """What the stand-in server saw; ``url`` is its base address."""

    url: str
    paths: list[str] = field(default_factory=list)


async def _serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, seen: FakePrometheus) -> None:
    head = await reader.readuntil(b"\r\n\r\n")
    target = head.split(b" ", 2)[1].decode()
    seen.paths.append(target)
    query = parse_qs(urlsplit(target).query).get("query", [""])[0]
    if query == "hang":
        await reader.read()  # never answer; return once the client gives up and hangs up
        writer.close()
        return
    if query in RAW_ANSWERS:
        status, body = RAW_ANSWERS[query]
    else:
        status, payload = JSON_ANSWERS.get(query, (404, {"status": "error", "error": "unknown test query"}))
        body = json.dumps(payload).encode()
    writer.write(
        f"HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n"
        f"Connection: close\r\n\r\n".encode()
        + body
    )
    await writer.drain()
    writer.close()
    await writer.wait_closed()


@pytest.fixture
async def prometheus() -> AsyncIterator[FakePrometheus]:
    seen = FakePrometheus(url="")
    server = await asyncio.start_server(lambda r, w: _serve(r, w, seen), "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    seen.url = f"http://127.0.0.1:{port}/"
    async with server:
        yield seen
        server.close()
        await server.wait_closed()


def analysis(url: str, query: str, max_value: float | None = 0.05, min_value: float | None = None) -> CanaryAnalysis:
    return CanaryAnalysis(prometheus_url=url, query=query, max_value=max_value, min_value=min_value)


async def evaluate(prometheus: FakePrometheus, query: str, **bounds: float | None) -> AnalysisResult:
    async with httpx.AsyncClient() as client:
        return await PrometheusAnalysis(client, timeout=2.0).evaluate(analysis(prometheus.url, query, **bounds))


async def test_a_vector_within_bounds_passes(prometheus: FakePrometheus) -> None:
    result = await evaluate(prometheus, "ok")

    assert result == AnalysisResult(
        passed=True, value=0.01, reason=AnalysisReason.PASSED, message="value 0.01 is within bounds"
    )
    assert prometheus.paths == ["/api/v1/query?query=ok"]


async def test_a_scalar_within_bounds_passes(prometheus: FakePrometheus) -> None:
    result = await evaluate(prometheus, "scalar", max_value=0.05, min_value=0.0)

    assert (result.passed, result.value, result.reason) == (True, 0.02, "AnalysisPassed")


async def test_a_value_above_max_fails_with_threshold_exceeded(prometheus: FakePrometheus) -> None:
    result = await evaluate(prometheus, "high")

    assert result == AnalysisResult(
        passed=False, value=0.2, reason="ThresholdExceeded", message="value 0.2 is above maxValue 0.05"
    )


async def test_a_value_below_min_fails_with_below_minimum(prometheus: FakePrometheus) -> None:
    result = await evaluate(prometheus, "low", max_value=None, min_value=5.0)

    assert result == AnalysisResult(
        passed=False, value=3.0, reason="BelowMinimum", message="value 3 is below minValue 5"
    )


async def test_a_value_between_both_bounds_passes(prometheus: FakePrometheus) -> None:
    assert (await evaluate(prometheus, "low", max_value=10.0, min_value=1.0)).passed


@pytest.mark.parametrize("query", ["empty", "nan"])
async def test_no_data_fails_the_step(prometheus: FakePrometheus, query: str) -> None:
    result = await evaluate(prometheus, query)

    assert (result.passed, result.value, result.reason) == (False, None, "NoData")
    assert "does not advance" in result.message


@pytest.mark.parametrize(
    ("query", "detail"),
    [
        ("two_series", "returned 2 series"),
        ("matrix", "resultType 'matrix'"),
        ("vector_not_list", "resultType 'vector'"),
        ("no_data_field", "resultType None"),
        ("bad_sample", "malformed sample"),
        ("bad_number", "'many' is not a number"),
        ("series_not_object", "malformed sample '0.1'"),
        ("not_an_object", "expected a JSON object"),
        ("syntax", "HTTP 400: bad_data: parse error"),
        ("error_without_detail", "HTTP 422: error: {'status': 'error'}"),
        ("malformed", "HTTP 200, not JSON"),
        ("html", "HTTP 302, not JSON"),
    ],
)
async def test_an_answer_that_is_not_one_number_fails_with_query_failed(
    prometheus: FakePrometheus, query: str, detail: str
) -> None:
    result = await evaluate(prometheus, query)

    assert (result.passed, result.value, result.reason) == (False, None, "QueryFailed")
    assert detail in result.message


@pytest.mark.parametrize(("query", "status"), [("boom", 500), ("overloaded", 503), ("throttled", 429)])
async def test_a_failing_prometheus_fails_with_prometheus_unavailable(
    prometheus: FakePrometheus, query: str, status: int
) -> None:
    result = await evaluate(prometheus, query)

    assert result == AnalysisResult(
        passed=False, value=None, reason="PrometheusUnavailable", message=f"Prometheus answered HTTP {status}"
    )


async def test_a_silent_prometheus_times_out_as_unavailable(prometheus: FakePrometheus) -> None:
    result = await PrometheusAnalysis(timeout=0.2).evaluate(analysis(prometheus.url, "hang"))

    assert (result.passed, result.reason) == (False, "PrometheusUnavailable")
    assert result.message == "Prometheus is unreachable: ReadTimeout"


async def test_an_unreachable_prometheus_is_unavailable() -> None:
    server = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    server.close()
    await server.wait_closed()  # the port is now closed: connections are refused

    result = await PrometheusAnalysis(timeout=1.0).evaluate(analysis(f"http://127.0.0.1:{port}", "ok"))

    assert (result.passed, result.value, result.reason) == (False, None, "PrometheusUnavailable")
    assert result.message.startswith("Prometheus is unreachable: ")


async def test_an_invalid_url_is_unavailable_not_an_exception() -> None:
    result = await PrometheusAnalysis().evaluate(analysis("http://[::1", "ok"))

    assert (result.passed, result.reason) == (False, "PrometheusUnavailable")


async def test_credentials_in_the_url_stay_out_of_the_message() -> None:
    result = await PrometheusAnalysis(timeout=0.5).evaluate(analysis("http://scraper:s3cret@127.0.0.1:1", "ok"))

    assert result.reason == "PrometheusUnavailable"
    assert "s3cret" not in result.message


async def test_without_a_client_it_opens_its_own(prometheus: FakePrometheus) -> None:
    result = await PrometheusAnalysis().evaluate(analysis(prometheus.url.rstrip("/"), "ok"))

    assert result.passed
    assert prometheus.paths == ["/api/v1/query?query=ok"]


async def test_long_error_texts_are_shortened(prometheus: FakePrometheus) -> None:
    JSON_ANSWERS["long"] = (400, {"status": "error", "errorType": "bad_data", "error": "x" * 5000})
    try:
        result = await evaluate(prometheus, "long")
    finally:
        del JSON_ANSWERS["long"]

    assert result.reason == "QueryFailed"
    assert result.message.endswith("...")
    assert len(result.message) < 400
