"""Rate limiting per client, per user and per route, with the ``limits`` library, answered as 429 problems.

Counting happens before the application runs, so a flood costs one storage round-trip per request and no
handler work. Counters live in the ``limits`` storage it is given (``apibase.infrastructure.rate_limiting``
builds one in Redis, shared by every worker and replica), else in process memory. Every limited response
carries the IETF ``RateLimit-Limit``, ``RateLimit-Remaining`` and ``RateLimit-Reset`` headers for the tightest
limit that applied, so well-behaved clients can slow down before they are refused; a refusal adds
``Retry-After``.

Which limits apply to a request (each counted separately, all must allow it):

- the client limit, per client IP: the ASGI peer address, or the ``X-Forwarded-For`` entry written by the
  outermost trusted proxy when ``trusted_proxy_hops`` says that many proxies append to it (the header is
  otherwise trivially forged);
- the user limit, per user id, when the ``user_id`` callable finds one in the scope (authentication fills
  ``scope["state"]["user_id"]``; see ``user_id_from_state``);
- the first matching route limit, per caller (user id, else client IP): keys are route templates matched
  in full (``/api/v1/orders/{order_id}``) or path prefixes ending in ``*`` (``/api/v1/auth/*``).

Paths under ``exempt_path_prefixes`` (the health probes by default) are never limited.

Public API: ``RateLimitMiddleware(app, *, settings=RateLimitSettings(), storage=None, user_id=no_user)``
(pure ASGI), ``RateLimitSettings``, ``RateLimitStrategy``, ``UserIdExtractor``, ``no_user``,
``user_id_from_state``.
"""

from __future__ import annotations

import logging
import math
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Final, Literal

from limits import RateLimitItem, parse
from limits.aio.storage import MemoryStorage, Storage
from limits.aio.strategies import FixedWindowRateLimiter, MovingWindowRateLimiter, RateLimiter
from limits.errors import StorageError
from limits.util import WindowStats
from starlette.datastructures import Headers
from starlette.routing import compile_path
from starlette.types import ASGIApp, Receive, Scope, Send

from apibase.core.errors import TooManyRequestsError
from apibase.interface.http.middleware.header_stage import with_header_edit
from apibase.interface.http.middleware.response_headers import adding_missing
from apibase.interface.http.problems import send_problem

__all__ = [
    "RateLimitMiddleware",
    "RateLimitSettings",
    "RateLimitStrategy",
    "UserIdExtractor",
    "no_user",
    "user_id_from_state",
]

logger = logging.getLogger(__name__)

type RateLimitStrategy = Literal["moving-window", "fixed-window"]
#: Finds the authenticated user's id in the ASGI scope, or ``None`` for an anonymous request.
type UserIdExtractor = Callable[[Scope], str | None]

_UNKNOWN_CLIENT: Final = "unknown"
#: ``_rate_limit_headers``' names, in its order, as ASGI sends them.
_HEADER_NAMES: Final = (b"ratelimit-limit", b"ratelimit-remaining", b"ratelimit-reset")


def no_user(scope: Scope) -> str | None:
    """The default extractor: no user limit until authentication is wired."""
    return None


def user_id_from_state(scope: Scope) -> str | None:
    """Reads ``scope["state"]["user_id"]``, where the authentication step leaves it."""
    state = scope.get("state")
    user_id = state.get("user_id") if isinstance(state, Mapping) else None
    return str(user_id) if isinstance(user_id, str | int) and not isinstance(user_id, bool) and user_id != "" else None


@dataclass(frozen=True, slots=True)
class RateLimitSettings:
    """The limits (``limits`` notation: ``"100/minute"``, ``"10 per second; 1000/day"``) and how to apply them.

    ``None`` for ``client_limit`` or ``user_limit`` switches that limit off. ``fail_open`` lets requests through
    (and logs) when the storage cannot be reached: an outage of the counter should not become an outage of the API.
    """

    client_limit: str | None = "100/minute"
    user_limit: str | None = None
    route_limits: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    strategy: RateLimitStrategy = "moving-window"
    trusted_proxy_hops: int = 0
    exempt_path_prefixes: tuple[str, ...] = ("/health/",)
    fail_open: bool = True

    def __post_init__(self) -> None:
        for value in (self.client_limit, self.user_limit, *self.route_limits.values()):
            if value is not None:
                parse(value)  # a typo fails at start-up, with the library's own message
        for key in self.route_limits:
            if not key.startswith("/"):
                raise ValueError(f"route limit key {key!r} must be a path template or prefix starting with '/'")
        if self.strategy not in ("moving-window", "fixed-window"):
            raise ValueError(f"unknown rate-limit strategy {self.strategy!r}")
        if self.trusted_proxy_hops < 0:
            raise ValueError("trusted_proxy_hops must not be negative")
        object.__setattr__(self, "route_limits", MappingProxyType(dict(self.route_limits)))


@dataclass(frozen=True, slots=True)
class _Rule:
    """One route limit: a full-path regex (template) or a prefix."""

    name: str
    item: RateLimitItem
    pattern: re.Pattern[str] | None
    prefix: str | None

    def matches(self, path: str) -> bool:
        if self.prefix is not None:
            return path.startswith(self.prefix)
        return self.pattern is not None and self.pattern.match(path) is not None


def _rule(name: str, limit: str) -> _Rule:
    if name.endswith("*"):
        return _Rule(name, parse(limit), None, name.removesuffix("*"))
    pattern, _, _ = compile_path(name)  # Starlette's own route syntax, convertors included
    return _Rule(name, parse(limit), pattern, None)


@dataclass(frozen=True, slots=True)
class _Check:
    item: RateLimitItem
    identifiers: tuple[str, ...]

    @property
    def key(self) -> str:
        """``item.key_for(*identifiers)`` for string identifiers, without its per-part ``safe_string`` calls."""
        item = self.item
        return f"{item.namespace}/{'/'.join(self.identifiers)}/{item.amount}/{item.multiples}/{item.GRANULARITY.name}"


class _MemoryFixedWindow:
    """Fixed-window counting straight in a ``MemoryStorage``'s own tables, the library's ``incr`` step for step.

    The library's ``incr`` starts a task on every call (its sweep of expired keys) and takes a lock around code
    that never awaits: most of a request's rate-limit cost. Here the same tables are updated synchronously (so
    ``reset``, ``get``, ``test`` and the storage's sweep see the very same counts), and once a second a hit goes
    through the library instead, which keeps its sweep running: the tables stay bounded by the active callers.
    """

    SWEEP_SECONDS: Final = 1.0

    def __init__(self, storage: MemoryStorage) -> None:
        self._storage = storage
        self._next_sweep = 0.0

    async def hit(self, key: str, expiry: int) -> tuple[int, float]:
        """The key's new count and its window's end."""
        storage, now = self._storage, time.time()
        if now >= self._next_sweep:
            self._next_sweep = now + self.SWEEP_SECONDS
            count = await storage.incr(key, expiry)
            return count, await storage.get_expiry(key)
        counts, expirations = storage.storage, storage.expirations
        if expirations.get(key, 0) <= now:
            counts.pop(key, None)
            expirations.pop(key, None)
            storage.locks.pop(key, None)
        count = counts[key] + 1
        counts[key] = count
        if count == 1:
            expirations[key] = now + expiry
        return count, expirations.get(key, now)


class RateLimitMiddleware:
    """Pure ASGI: counts each HTTP request against its limits; over any of them, a 429 ``common.rate_limited``."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        settings: RateLimitSettings | None = None,
        storage: Storage | None = None,
        user_id: UserIdExtractor = no_user,
    ) -> None:
        self.app = app
        self.settings = settings or RateLimitSettings()
        self.storage = storage if storage is not None else MemoryStorage()
        self.user_id = user_id
        self.limiter: RateLimiter = (
            MovingWindowRateLimiter(self.storage)
            if self.settings.strategy == "moving-window"
            else FixedWindowRateLimiter(self.storage)
        )
        self._fixed_window = isinstance(self.limiter, FixedWindowRateLimiter)
        storage = self.storage
        # Only the library's own class: a subclass may count elsewhere (or count its calls).
        self._memory = _MemoryFixedWindow(storage) if self._fixed_window and type(storage) is MemoryStorage else None
        self._client_item = parse(self.settings.client_limit) if self.settings.client_limit else None
        self._user_item = parse(self.settings.user_limit) if self.settings.user_limit else None
        self._rules = tuple(_rule(name, limit) for name, limit in self.settings.route_limits.items())

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = str(scope.get("path", ""))
        if scope["type"] != "http" or path.startswith(self.settings.exempt_path_prefixes):
            await self.app(scope, receive, send)
            return
        checks = self._checks(scope, path)
        try:
            verdict = await self._count(checks)
        except StorageError:
            if not self.settings.fail_open:
                raise
            logger.warning(
                "rate-limit storage unavailable; letting %s %s through", scope["method"], path, exc_info=True
            )
            await self.app(scope, receive, send)
            return
        if verdict is None:  # no limit applies
            await self.app(scope, receive, send)
            return
        allowed, item, stats = verdict
        headers = _rate_limit_headers(item, stats)
        if not allowed:
            retry_after = max(1, int(headers["RateLimit-Reset"]))
            error = TooManyRequestsError(
                f"Rate limit of {item} exceeded; retry in {retry_after} seconds.",
                retry_after_seconds=retry_after,
            )
            problem = error.to_problem_detail(instance=path)
            await send_problem(scope, receive, send, problem, headers={**headers, "Retry-After": str(retry_after)})
            return

        encoded = tuple(zip(_HEADER_NAMES, (value.encode("ascii") for value in headers.values()), strict=True))
        await self.app(scope, receive, with_header_edit(scope, send, adding_missing(encoded)))

    def _checks(self, scope: Scope, path: str) -> list[_Check]:
        client = self._client_ip(scope)
        user = self.user_id(scope)
        checks: list[_Check] = []
        if self._client_item is not None:
            checks.append(_Check(self._client_item, ("client", client)))
        if self._user_item is not None and user is not None:
            checks.append(_Check(self._user_item, ("user", user)))
        for rule in self._rules:
            if rule.matches(path):
                caller = ("user", user) if user is not None else ("client", client)
                checks.append(_Check(rule.item, ("route", rule.name, *caller)))
                break
        return checks

    async def _count(self, checks: list[_Check]) -> tuple[bool, RateLimitItem, WindowStats] | None:
        """Hit each limit in turn; the first refusal wins, else the limit with the fewest requests left."""
        tightest: tuple[bool, RateLimitItem, WindowStats] | None = None
        for check in checks:
            allowed, stats = await self._hit(check)
            if not allowed:
                return False, check.item, stats
            if tightest is None or stats.remaining < tightest[2].remaining:
                tightest = True, check.item, stats
        return tightest

    async def _hit(self, check: _Check) -> tuple[bool, WindowStats]:
        """Count one request and read the window's state.

        A fixed window's ``incr`` already returns the new count, so only its expiry is read back: two storage
        round trips instead of the three of ``hit`` + ``get_window_stats``, one key built instead of three.
        """
        item = check.item
        if not self._fixed_window:
            allowed = await self.limiter.hit(item, *check.identifiers)
            return allowed, await self.limiter.get_window_stats(item, *check.identifiers)
        key = check.key
        if self._memory is not None:
            count, reset = await self._memory.hit(key, item.get_expiry())
        else:
            count = await self.storage.incr(key, item.get_expiry())
            reset = await self.storage.get_expiry(key)
        return count <= item.amount, WindowStats(reset, max(0, item.amount - count))

    def _client_ip(self, scope: Scope) -> str:
        hops = self.settings.trusted_proxy_hops
        if hops:
            forwarded = Headers(scope=scope).getlist("x-forwarded-for")
            entries = [entry.strip() for value in forwarded for entry in value.split(",") if entry.strip()]
            if len(entries) >= hops:
                return entries[-hops]  # what the outermost trusted proxy saw; anything left of it is client-made
        client = scope.get("client")
        return str(client[0]) if client else _UNKNOWN_CLIENT


def _rate_limit_headers(item: RateLimitItem, stats: WindowStats) -> dict[str, str]:
    """The IETF draft's fields; the reset is in seconds from now, never negative."""
    reset = max(0, math.ceil(stats.reset_time - time.time()))
    return {
        "RateLimit-Limit": str(item.amount),
        "RateLimit-Remaining": str(max(0, stats.remaining)),
        "RateLimit-Reset": str(reset),
    }
