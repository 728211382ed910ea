"""The errors an operation's OpenAPI documents: every problem status it can answer, as ``application/problem+json``.

Most statuses follow from what the generated document already states about an operation, so a route declares
nothing and a resource added the documented way is complete: a ``security`` requirement means 401 (no or bad
credentials) and 403 (a missing permission, or a tenant header naming another tenant); a path parameter means 404;
an ``If-Match`` header means 412; any parameter or body means 422; the rate limiter can answer 429 anywhere.
What only the route knows (a duplicate is a 409, a wrong password a 401) it declares with
``problem_responses({409: "..."})``. Every 4xx/5xx response refers to one ``Problem`` component schema.

Public API:

- ``PROBLEM_SCHEMA_NAME``, ``PROBLEM_SCHEMA_REF`` and ``problem_schema()``: the RFC 9457 body as JSON Schema.
- ``problem_responses(described) -> dict``: ``responses=`` entries for route-specific problems.
- ``DEFAULT_PROBLEM_RESPONSE``: the ``default`` entry (any other error, 5xx included).
- ``document_problems(document) -> None``: adds the inferred problem responses and the component in place.
"""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping
from typing import Final

from pydantic import JsonValue

from apibase.core.problem_details import ProblemDetail
from apibase.interface.http.problems import PROBLEM_MEDIA_TYPE

__all__ = [
    "DEFAULT_PROBLEM_RESPONSE",
    "PROBLEM_SCHEMA_NAME",
    "PROBLEM_SCHEMA_REF",
    "document_problems",
    "problem_responses",
    "problem_schema",
]

PROBLEM_SCHEMA_NAME: Final = "Problem"
PROBLEM_SCHEMA_REF: Final = f"#/components/schemas/{PROBLEM_SCHEMA_NAME}"

#: What each inferred status means, in the words a client needs to react to it.
_DESCRIPTIONS: Final[Mapping[int, str]] = {
    401: "No credentials, or a bearer token or API key that does not verify",
    403: "The caller lacks a permission this operation needs, or the tenant header names another tenant",
    404: "Nothing with this id exists in the caller's tenant",
    412: "The If-Match version is not the current one: read the resource again",
    422: "A parameter or the body is invalid; `errors` lists each one with its location",
    429: "Too many requests: wait for the Retry-After seconds",
}
_HEADERS: Final[Mapping[int, dict[str, JsonValue]]] = {
    401: {"WWW-Authenticate": {"description": "Bearer challenge", "schema": {"type": "string"}}},
    429: {"Retry-After": {"description": "Seconds until a retry may succeed", "schema": {"type": "integer"}}},
}
_METHODS: Final = frozenset({"get", "put", "post", "delete", "options", "head", "patch", "trace"})


def problem_schema() -> dict[str, JsonValue]:
    """The problem body: ``ProblemDetail`` plus the ``request_id`` every response carries."""
    schema = ProblemDetail.model_json_schema()
    schema["properties"]["request_id"] = {
        "anyOf": [{"type": "string"}, {"type": "null"}],
        "description": "The request's X-Request-ID, for support and log correlation",
    }
    return schema


def _problem_content() -> dict[str, JsonValue]:
    return {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": PROBLEM_SCHEMA_REF}}}


def problem_responses(described: Mapping[int, str]) -> dict[int | str, dict[str, object]]:
    """``responses=`` entries for problems only the route knows about, e.g. ``{409: "The SKU is taken"}``."""
    return {status: {"description": text, "content": _problem_content()} for status, text in described.items()}


#: Any other error (5xx included). Its presence also stops FastAPI from documenting its own 422 body.
DEFAULT_PROBLEM_RESPONSE: Final[dict[int | str, dict[str, object]]] = {
    "default": {"description": "Error: an RFC 9457 problem with a stable `code`", "content": _problem_content()}
}


def document_problems(document: MutableMapping[str, JsonValue]) -> None:
    """Add to each operation of a generated OpenAPI ``document`` the problem responses it can answer."""
    components = document.setdefault("components", {})
    if isinstance(components, dict):
        components.setdefault("schemas", {})
        if isinstance(schemas := components["schemas"], dict):
            schemas[PROBLEM_SCHEMA_NAME] = problem_schema()
    paths = document.get("paths")
    for item in paths.values() if isinstance(paths, dict) else ():
        for method, operation in item.items() if isinstance(item, dict) else ():
            if method in _METHODS and isinstance(operation, dict):
                _document_operation(operation)


def _document_operation(operation: dict[str, JsonValue]) -> None:
    responses = operation.setdefault("responses", {})
    if not isinstance(responses, dict):
        return
    for inferred in _inferred_statuses(operation):
        entry: dict[str, JsonValue] = {"description": _DESCRIPTIONS[inferred]}
        if inferred in _HEADERS:
            entry["headers"] = _HEADERS[inferred]
        responses.setdefault(str(inferred), entry)
    for status, response in responses.items():
        if status.isdigit() and int(status) >= 400 and isinstance(response, dict):
            response["content"] = _problem_content()
    ordered = sorted(responses.items(), key=lambda pair: (not pair[0].isdigit(), pair[0]))
    responses.clear()
    responses.update(ordered)


def _inferred_statuses(operation: Mapping[str, JsonValue]) -> list[int]:
    parameters = operation.get("parameters")
    parameters = parameters if isinstance(parameters, list) else []
    located = {
        (str(parameter.get("in")), str(parameter.get("name", "")).lower())
        for parameter in parameters
        if isinstance(parameter, dict)
    }
    statuses = [429]
    if operation.get("security"):
        statuses += [401, 403]
    if any(where == "path" for where, _ in located):
        statuses.append(404)
    if ("header", "if-match") in located:
        statuses.append(412)
    if located or "requestBody" in operation:
        statuses.append(422)
    return statuses
