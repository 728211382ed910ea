"""Take out of an application's middleware stack the FastAPI layers that would only pass each request on.

FastAPI builds every application's stack alike: ``ServerErrorMiddleware``, ``ExceptionTelemetryMiddleware``,
``AppBodyLimitMiddleware``, the user's middleware, ``ExceptionMiddleware``, ``AsyncExitStackMiddleware``, the
router. A request to a versioned route crosses that twice, the root's and the version application's. Two of
those layers have nothing to do in the service:

- ``AppBodyLimitMiddleware`` of an application without ``max_body_size`` (the service bounds bodies in its own
  ``body_limit`` layer, with its problem document) mounted in none that has one: it only looks for a parent's
  limit that nobody set;
- ``AsyncExitStackMiddleware`` of a version application mounted in a FastAPI root: the root's, right around its
  router, already gave the request the exit stack that closes uploaded files, and closes it once the mount
  returns.

The error, telemetry and exception layers stay: the version application's ``ServerErrorMiddleware`` turns an
unhandled error into the 500 problem every outer layer (ids, security headers, logs, metrics) sees, and its
``ExceptionMiddleware`` answers with that application's handlers.

Public API: ``drop_idle_layers(app, *, mounted_in=None)``.
"""

from __future__ import annotations

import types

from fastapi import FastAPI
from fastapi._body_limit import AppBodyLimitMiddleware
from fastapi.middleware.asyncexitstack import AsyncExitStackMiddleware
from starlette.routing import Router
from starlette.types import ASGIApp

__all__ = ["drop_idle_layers"]


def drop_idle_layers(app: FastAPI, *, mounted_in: FastAPI | None = None) -> None:
    """Build ``app``'s stack without its idle FastAPI layers; ``mounted_in``: the FastAPI app it is mounted in.
    Call before the first request (and before anything else wraps ``build_middleware_stack``)."""
    idle: set[type] = set()
    if app.max_body_size is None and (mounted_in is None or mounted_in.max_body_size is None):
        idle.add(AppBodyLimitMiddleware)
    if mounted_in is not None:
        idle.add(AsyncExitStackMiddleware)
    if not idle:
        return
    build = app.build_middleware_stack

    def build_middleware_stack(self: FastAPI) -> ASGIApp:
        return _without(build(), frozenset(idle))

    app.build_middleware_stack = types.MethodType(build_middleware_stack, app)  # type: ignore[method-assign]


def _without(stack: ASGIApp, idle: frozenset[type]) -> ASGIApp:
    """``stack`` with every layer of an ``idle`` type spliced out, down to the router."""
    outer: object | None = None
    layer: object = stack
    while not isinstance(layer, Router) and (inner := getattr(layer, "app", None)) is not None:
        if type(layer) in idle:
            if outer is None:
                stack = inner
            else:
                outer.app = inner  # type: ignore[attr-defined]
        else:
            outer = layer
        layer = inner
    return stack
