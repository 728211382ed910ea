"""The module system: a feature reaches the service only through the small ``Module`` protocol (ADR 0005).

A module *declares* what exists without a running app (its name, permissions, tables and migration branch: the
CLI migrates from these alone) and *builds* what needs the kernel's infrastructure (routers, handlers on the
buses, health checks, background tasks, event handlers). ``create_app(settings, modules=[...])`` composes them;
the kernel never imports a feature, and deleting a feature is deleting its package and its line in the list.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Final, Protocol

from fastapi import APIRouter

from apibase.domain.events import DomainEvent
from apibase.domain.identity.permissions import Permission, PermissionRegistry

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
    "permission_registry",
]

#: The key of ``Features.routers`` for routers every API version serves.
ALL_VERSIONS: Final = "*"

type EventHandler = Callable[[DomainEvent], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Migrations:
    """A module's own Alembic branch: its revisions, its tables, and its own version table.

    Its own version table (``alembic_version_<name>``) is what lets a module be removed without stranding the
    database: the other branches never meet a revision they cannot locate, and the removed module's tables and
    history stay untouched until it comes back.
    """

    name: str
    versions: Path
    #: The tables this branch owns: autogenerate compares only these, so a module never proposes to drop another's.
    tables: frozenset[str]
    #: Branches that must be at head before this one runs (e.g. ordering's lines refer to catalog's products).
    after: tuple[str, ...] = ()

    @property
    def version_table(self) -> str:
        return "alembic_version" if self.name == "apibase" else f"alembic_version_{self.name}"


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
    #: In-process subscribers, called after the unit of work that raised the event has committed.
    event_handlers: Mapping[type[DomainEvent], Sequence[EventHandler]] = field(default_factory=dict)
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
