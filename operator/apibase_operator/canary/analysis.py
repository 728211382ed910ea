"""Canary analysis: ask Prometheus one question and turn the answer into pass or fail.

Every doubt fails the step — no data, an unreachable Prometheus, a query error, an answer that is not one number —
because a canary must never advance blind. ``evaluate`` never raises: the reconciler gets a result it can put in a
condition as it is, and needs no error handling of its own.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

import httpx

from apibase_operator.crd.models import CanaryAnalysis

__all__ = ["AnalysisReason", "AnalysisResult", "PrometheusAnalysis"]

#: Prometheus error texts and odd payloads end up in condition messages; keep them readable.
_MAX_DETAIL: Final = 300


class AnalysisReason(StrEnum):
    """Condition reasons, CamelCase as Kubernetes conditions expect."""

    PASSED = "AnalysisPassed"
    THRESHOLD_EXCEEDED = "ThresholdExceeded"
    BELOW_MINIMUM = "BelowMinimum"
    NO_DATA = "NoData"
    PROMETHEUS_UNAVAILABLE = "PrometheusUnavailable"
    QUERY_FAILED = "QueryFailed"


@dataclass(frozen=True, slots=True)
class AnalysisResult:
    """One analysis of one canary step; ``reason`` and ``message`` go to the ``CanaryHealthy`` condition as they are."""

    passed: bool
    value: float | None
    reason: str
    message: str


class _BadAnswerError(Exception):
    """Prometheus answered, but not with one number."""


def _short(text: str) -> str:
    return text if len(text) <= _MAX_DETAIL else text[: _MAX_DETAIL - 3] + "..."


def _sample_value(sample: object) -> float:
    """A Prometheus sample is ``[<unix time>, "<value>"]``; the value is a string so that NaN and ±Inf survive JSON."""
    if not (isinstance(sample, list) and len(sample) == 2 and isinstance(sample[1], str)):
        raise _BadAnswerError(f"malformed sample {_short(repr(sample))}")
    try:
        return float(sample[1])
    except ValueError:
        raise _BadAnswerError(f"sample value {_short(repr(sample[1]))} is not a number") from None


def _value_of(payload: object) -> float | None:
    """The one number in a query answer, ``None`` for an empty vector; anything else is a bad answer."""
    if not isinstance(payload, dict):
        raise _BadAnswerError(f"expected a JSON object, got {_short(repr(payload))}")
    if payload.get("status") != "success":
        raise _BadAnswerError(f"{payload.get('errorType', 'error')}: {_short(str(payload.get('error', payload)))}")
    data = payload.get("data")
    result_type = data.get("resultType") if isinstance(data, dict) else None
    result = data.get("result") if isinstance(data, dict) else None
    if result_type == "scalar":
        return _sample_value(result)
    if result_type == "vector" and isinstance(result, list):
        if not result:
            return None
        if len(result) > 1:
            raise _BadAnswerError(f"the query returned {len(result)} series; it must return one number")
        series = result[0]
        return _sample_value(series.get("value") if isinstance(series, dict) else series)
    raise _BadAnswerError(
        f"unsupported answer (resultType {_short(repr(result_type))}); the query must return one number"
    )


class PrometheusAnalysis:
    """Runs ``CanaryAnalysis`` queries against the Prometheus HTTP API (``GET /api/v1/query``).

    Pass a shared ``client`` to reuse connections; without one, each evaluation opens and closes its own, which is
    cheap at one query per step interval and leaves nothing to clean up.

    ``PrometheusUnavailable``: no connection, a timeout, HTTP 5xx or 429 — Prometheus could not answer.
    ``QueryFailed``: it answered, but with an error (a 4xx for a bad query) or with something that is not one number.
    """

    def __init__(self, client: httpx.AsyncClient | None = None, timeout: float = 5.0) -> None:
        self._client = client
        self._timeout = timeout

    async def _get(self, url: str, query: str) -> httpx.Response:
        params = {"query": query}
        if self._client is not None:
            return await self._client.get(url, params=params, timeout=self._timeout)
        async with httpx.AsyncClient(timeout=self._timeout) as client:
            return await client.get(url, params=params)

    async def evaluate(self, analysis: CanaryAnalysis) -> AnalysisResult:
        """Query Prometheus once and judge the value against ``maxValue``/``minValue``; never raises."""
        url = analysis.prometheus_url.rstrip("/") + "/api/v1/query"
        try:
            response = await self._get(url, analysis.query)
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            detail = _short(str(exc) or type(exc).__name__)
            # No URL in the message: it may carry credentials, and anyone who can read the object reads conditions.
            return _failed(AnalysisReason.PROMETHEUS_UNAVAILABLE, f"Prometheus is unreachable: {detail}")
        if response.status_code >= 500 or response.status_code == 429:
            return _failed(AnalysisReason.PROMETHEUS_UNAVAILABLE, f"Prometheus answered HTTP {response.status_code}")
        try:
            payload: object = response.json()
        except ValueError:
            return _failed(AnalysisReason.QUERY_FAILED, f"Prometheus answered HTTP {response.status_code}, not JSON")
        try:
            value = _value_of(payload)
        except _BadAnswerError as exc:
            return _failed(AnalysisReason.QUERY_FAILED, f"HTTP {response.status_code}: {exc}")
        return _judge(analysis, value)


def _failed(reason: AnalysisReason, message: str, value: float | None = None) -> AnalysisResult:
    return AnalysisResult(passed=False, value=value, reason=reason, message=message)


def _judge(analysis: CanaryAnalysis, value: float | None) -> AnalysisResult:
    """No data fails: an error-rate query over a canary that got no traffic proves nothing, so it must not pass."""
    if value is None or math.isnan(value):
        return _failed(
            AnalysisReason.NO_DATA, f"the query returned no data ({value}); the canary does not advance without it"
        )
    if analysis.max_value is not None and value > analysis.max_value:
        return _failed(
            AnalysisReason.THRESHOLD_EXCEEDED, f"value {value:g} is above maxValue {analysis.max_value:g}", value
        )
    if analysis.min_value is not None and value < analysis.min_value:
        return _failed(AnalysisReason.BELOW_MINIMUM, f"value {value:g} is below minValue {analysis.min_value:g}", value)
    return AnalysisResult(
        passed=True, value=value, reason=AnalysisReason.PASSED, message=f"value {value:g} is within bounds"
    )
