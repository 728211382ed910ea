"""The reusable HTTP foundation: problem responses, pure ASGI middlewares, compression, conditional
requests, health probes and API versioning. The app factory wires them (see each module's docstring).
"""

from __future__ import annotations

from apibase.interface.http.compression import CompressionMiddleware, add_compression, negotiate_encoding
from apibase.interface.http.conditional import etag_for, expected_version_from_if_match, if_none_match_matches
from apibase.interface.http.health import CheckResult, HealthCheck, HealthRegistry, build_health_router
from apibase.interface.http.middleware import BodyLimitMiddleware, JsonOnlyMiddleware, RequestIdMiddleware
from apibase.interface.http.problems import (
    PROBLEM_MEDIA_TYPE,
    ProblemResponse,
    http_problem,
    install_problem_handlers,
    problem_response,
    send_problem,
)
from apibase.interface.http.versioning import (
    PROBLEM_RESPONSES,
    ApiVersion,
    DeprecationPolicy,
    build_version_app,
    build_versioned_api,
    deprecated_operation,
    mount_versions,
)

__all__ = [
    "PROBLEM_MEDIA_TYPE",
    "PROBLEM_RESPONSES",
    "ApiVersion",
    "BodyLimitMiddleware",
    "CheckResult",
    "CompressionMiddleware",
    "DeprecationPolicy",
    "HealthCheck",
    "HealthRegistry",
    "JsonOnlyMiddleware",
    "ProblemResponse",
    "RequestIdMiddleware",
    "add_compression",
    "build_health_router",
    "build_version_app",
    "build_versioned_api",
    "deprecated_operation",
    "etag_for",
    "expected_version_from_if_match",
    "http_problem",
    "if_none_match_matches",
    "install_problem_handlers",
    "mount_versions",
    "negotiate_encoding",
    "problem_response",
    "send_problem",
]
