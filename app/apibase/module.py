"""The module system: a feature reaches the service only through the small ``Module`` protocol (ADR 0005).

A module *declares* what exists without a running app (its name, permissions, tables and migration branch: the
CLI migrates from these alone) and *builds* what needs the kernel's infrastructure (routers, handlers on the
buses, health checks, background tasks, event handlers). ``create_app(settings, modules=[...])`` composes them;
the kernel never imports a feature, and deleting a feature is deleting its package and its line in the list.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final, Protocol

from fastapi import APIRouter

from apibase.application.subscriptions import Subscription
from apibase.domain.events import DomainEvent
from apibase.domain.identity.permissions import Permission, PermissionRegistry
from apibase.infrastructure.persistence.branches import Migrations

if TYPE_CHECKING:
    from apibase.kernel import Kernel

__all__ = [
    "ALL_VERSIONS",
    "BackgroundTask",
    "EventHandler",
    "Features",
    "HealthCheck",
    "Migrations",
    "Module",
    "migration_branches",
    "permission_registry",
]

#: The key of ``Features.routers`` for routers every API version serves.
ALL_VERSIONS: Final = "*"

type EventHandler = Callable[[DomainEvent], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class HealthCheck:
    """A readiness check; a check that is not ``vital`` reports ``degraded`` instead of taking the pod out."""

    name: str
    check: Callable[[], Awaitable[None]]
    timeout_seconds: float = 2.0
    vital: bool = True


@dataclass(frozen=True, slots=True)
class BackgroundTask:
    """A coroutine the kernel's supervisor runs for the app's lifetime, restarted with backoff if it crashes."""

    name: str
    run: Callable[[], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Features:
    """What a module built on the kernel: everything optional, so a module states only what it has."""

    #: API version name (``"v2"``) or ``ALL_VERSIONS`` → the routers that version serves.
    routers: Mapping[str, Sequence[APIRouter]] = field(default_factory=dict)
    #: Routers outside the versioned API (``/.well-known/...``), mounted on the root app.
    root_routers: Sequence[APIRouter] = ()
    health_checks: Sequence[HealthCheck] = ()
    background_tasks: Sequence[BackgroundTask] = ()
    #: In-process subscribers, called after the unit of work that raised the event has committed (best effort:
    #: counters and caches; what must not be lost subscribes through ``subscriptions``).
    event_handlers: Mapping[type[DomainEvent], Sequence[EventHandler]] = field(default_factory=dict)
    #: The domain events this module raises: they leave through the outbox and are listed in the AsyncAPI document.
    published_events: Sequence[type[DomainEvent]] = ()
    #: Handlers for events delivered by the broker (at least once, deduplicated by the inbox).
    subscriptions: Sequence[Subscription] = ()
    #: Path patterns whose request body is a file, not JSON (exempt from the JSON-only and text checks).
    upload_paths: Sequence[str] = ()
    #: Called at start-up (after migrations) and at shutdown, in module order and in reverse.
    on_start: Callable[[], Awaitable[None]] | None = None
    on_stop: Callable[[], Awaitable[None]] | None = None


class Module(Protocol):
    """A feature of the service. Declarations are read without a running app; ``build`` runs once per app."""

    @property
    def name(self) -> str: ...

    @property
    def permissions(self) -> Mapping[Permission, str]:
        """The permissions this module's routes and handlers check, each with a one-line description; declared
        here, granted to roles by the service's role policy (``admin`` holds them all)."""
        ...

    @property
    def migrations(self) -> Migrations | None: ...

    def build(self, kernel: Kernel) -> Features:
        """Register handlers on ``kernel.commands``/``kernel.queries`` and return what else the module serves."""
        ...


def permission_registry(modules: Iterable[Module]) -> PermissionRegistry:
    """Every permission the modules declare; two modules describing one permission differently is an error."""
    registry = PermissionRegistry()
    for module in modules:
        registry.declare_all(module.permissions)
    return registry


def migration_branches(modules: Iterable[Module]) -> list[Migrations]:
    """The modules' own migration branches, in module order (the kernel's branch is always added by ``migrate``)."""
    return [module.migrations for module in modules if module.migrations is not None]
