"""Business counters fed from the application's own outcomes, without the application knowing about Prometheus.

- Events: a module counts its own (the ordering module subscribes to ``OrderPlaced``); events are published only
  after their transaction commits, so a rolled-back order is never counted.
- Creations: the catalog records no creation event, so ``CreationCountingService`` wraps the ``Service`` port and
  calls back on every ``Ok`` from ``create`` (``GenericService`` returns ``Ok`` only after the commit).
- Logins: ``observe_login`` counts an ``Err`` from ``PasswordLogin`` under its error code.

Public API: ``CreationCountingService(inner, on_created)``, ``observe_login(metrics, result)``.
"""

from __future__ import annotations

from collections.abc import Callable

from apibase.application.pass_through_service import PassThroughReads
from apibase.application.ports.service import Service
from apibase.core.errors import AnyAppError
from apibase.core.result import Err, Result
from apibase.infrastructure.observability.metrics import Metrics

__all__ = ["CreationCountingService", "observe_login"]


def observe_login(metrics: Metrics, result: Result[object, AnyAppError]) -> None:
    """Count a refused login under its error code (bounded: codes are an enum); a success counts nothing."""
    if isinstance(result, Err):
        metrics.login_failed(result.error.code.value)


class CreationCountingService[TEntity, TCreate, TUpdate, TResponse, ID](
    PassThroughReads[TEntity, TCreate, TUpdate, TResponse, ID]
):
    """``Service`` that delegates every use case and calls ``on_created`` after each successful ``create``."""

    def __init__(
        self, inner: Service[TEntity, TCreate, TUpdate, TResponse, ID], on_created: Callable[[], None]
    ) -> None:
        super().__init__(inner)
        self._on_created = on_created

    async def create(self, data: TCreate, *, actor: str | None = None) -> Result[TResponse, AnyAppError]:
        result = await self._inner.create(data, actor=actor)
        if result.is_ok():
            self._on_created()
        return result

    async def update(
        self,
        entity_id: ID,
        data: TUpdate,
        *,
        expected_version: int | None = None,
        actor: str | None = None,
    ) -> Result[TResponse, AnyAppError]:
        return await self._inner.update(entity_id, data, expected_version=expected_version, actor=actor)
