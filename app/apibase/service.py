"""Which service this process runs: the definition ``apibase serve``, ``apibase db`` and ``apibase security`` use.

A service package publishes one ``ServiceDefinition`` (its API and its modules) under the ``apibase.services``
entry point; ``APIBASE_SERVICE=package.module:NAME`` picks another. With none installed, the kernel serves alone
(sign-up, login, audit), which is also what remains when the reference service is deleted.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from typing import Final

from fastapi import FastAPI

from apibase.core.settings import Settings, load_settings
from apibase.domain.identity.roles import RolePolicy, kernel_role_policy
from apibase.infrastructure.observability.tracing import TracingHandle
from apibase.main import RolePolicyFactory, ServiceApi, create_app, with_kernel_modules
from apibase.module import Module, permission_registry

__all__ = ["SERVICES_GROUP", "ServiceDefinition", "ServiceNotFound", "create_service_app", "load_service"]

SERVICES_GROUP: Final = "apibase.services"


class ServiceNotFound(LookupError):  # noqa: N818 - reads as the condition it reports
    """``APIBASE_SERVICE`` names nothing importable, or several services are installed and none is chosen."""


def _no_modules() -> Sequence[Module]:
    return ()


@dataclass(frozen=True)
class ServiceDefinition:
    api: ServiceApi = field(default_factory=ServiceApi)
    #: Fresh module objects on every call: each app gets its own.
    modules: Callable[[], Sequence[Module]] = _no_modules
    #: The service's one table of role grants (``admin`` holds everything; see ``RolePolicy``).
    roles: RolePolicyFactory = kernel_role_policy

    def policy(self) -> RolePolicy:
        """The role policy over every permission the service's modules, the kernel's included, declare."""
        return self.roles(permission_registry(with_kernel_modules(self.modules(), self.api)))

    def create_app(self, settings: Settings | None = None, *, tracing: TracingHandle | None = None) -> FastAPI:
        return create_app(settings, modules=self.modules(), api=self.api, roles=self.roles, tracing=tracing)


def load_service(reference: str | None = None) -> ServiceDefinition:
    """``reference`` (``package.module:NAME``), else the one installed ``apibase.services`` entry point."""
    if reference:
        module_name, _, attribute = reference.partition(":")
        try:
            found = getattr(importlib.import_module(module_name), attribute or "SERVICE")
        except (ImportError, AttributeError) as exc:
            raise ServiceNotFound(f"APIBASE_SERVICE={reference!r} names no service: {exc}") from exc
        if not isinstance(found, ServiceDefinition):
            raise ServiceNotFound(f"APIBASE_SERVICE={reference!r} is a {type(found).__name__}, not a ServiceDefinition")
        return found
    installed = list(entry_points(group=SERVICES_GROUP))
    if len(installed) > 1:
        names = ", ".join(sorted(point.value for point in installed))
        raise ServiceNotFound(f"several services are installed ({names}); choose one with APIBASE_SERVICE")
    if not installed:
        return ServiceDefinition()
    return load_service(installed[0].value)


def create_service_app() -> FastAPI:
    """uvicorn's factory (``apibase serve``): the configured service, once per worker."""
    settings = load_settings()
    return load_service(settings.service).create_app(settings)
