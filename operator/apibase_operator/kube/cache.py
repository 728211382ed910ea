"""The operator's watch caches: one :class:`Informer` per owned kind (per watched namespace), read by reconcile.

A resync of an unchanged ApiBase reads every owned object and lists them for pruning; from these caches that
costs no request at all. Once a kind's first listing has arrived, its cache is authoritative, as
controller-runtime treats its informers: an object it does not hold does not exist (as the operator's), so a
create asks nothing before applying. Until then (or while the server does not serve the kind) the caches
cannot answer, and the caller asks the API server. A stale answer costs at most one redundant apply, and the
watch event that brings the cache up to date wakes the ApiBase again.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from apibase_operator.kube.client import KubeClient
from apibase_operator.kube.informer import Informer
from apibase_operator.kube.kinds import MANAGED_KINDS, Kind
from apibase_operator.reconcile.labels import MANAGED_BY

__all__ = ["OWNED", "WatchCache"]

#: What every object the operator owns carries: the server-side selector of every watch.
OWNED: Mapping[str, str] = {"app.kubernetes.io/managed-by": MANAGED_BY}


@dataclass(eq=False)
class WatchCache:
    """Informers for ``kinds`` in ``namespaces`` (empty: one cluster-wide watch per kind).

    ``on_change`` hears of every object added, changed or deleted after the caches filled: the operator
    wakes the object's ApiBase with it, which repairs drift.
    """

    kube: KubeClient
    namespaces: Sequence[str] = ()
    kinds: Sequence[Kind] = MANAGED_KINDS
    on_change: Callable[[Mapping[str, object]], None] | None = None
    informers: dict[Kind, list[Informer]] = field(default_factory=dict, init=False)
    _tasks: list[asyncio.Task[None]] = field(default_factory=list, init=False)

    def __post_init__(self) -> None:
        scopes: Sequence[str | None] = tuple(self.namespaces) or (None,)
        for kind in self.kinds:
            self.informers[kind] = [
                Informer(self.kube, kind, namespace, OWNED, on_change=self._changed) for namespace in scopes
            ]

    def _changed(self, obj: Mapping[str, object]) -> None:
        if self.on_change is not None:
            self.on_change(obj)

    def start(self) -> None:
        """Start every list-and-watch loop on the running event loop."""
        for informer in self._all():
            self._tasks.append(asyncio.create_task(informer.run(), name=f"watch {informer.kind.plural}"))

    async def wait_synced(self, seconds: float) -> bool:
        """Wait until every cache has its first listing; False if some did not within ``seconds``."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await asyncio.gather(*(informer.wait_synced() for informer in self._all()))
        return all(informer.synced for informer in self._all())

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()

    def __len__(self) -> int:
        return sum(len(informer) for informer in self._all())

    def answers(self, kind: Kind, namespace: str) -> bool:
        """True when a listed cache covers ``kind`` in ``namespace``: its answers, misses included, are final."""
        return self._covering(kind, namespace) is not None

    def get(self, kind: Kind, namespace: str, name: str) -> dict[str, object] | None:
        """The cached object; None when it is not cached, or the cache cannot say (see :meth:`answers`)."""
        informer = self._covering(kind, namespace)
        return informer.get(namespace, name) if informer is not None else None

    def owned_by(self, kind: Kind, namespace: str, owner: str) -> list[dict[str, object]] | None:
        """The cached objects of ``kind`` that ``owner`` owns, or None when the cache cannot say."""
        informer = self._covering(kind, namespace)
        return informer.owned_by(namespace, owner) if informer is not None else None

    def _covering(self, kind: Kind, namespace: str) -> Informer | None:
        for informer in self.informers.get(kind, ()):
            if informer.synced and informer.covers(namespace):
                return informer
        return None

    def _all(self) -> list[Informer]:
        return [informer for informers in self.informers.values() for informer in informers]
