"""kopf wiring: which cluster events lead to a reconciliation. All decisions live in ``runtime``.

- one daemon per ApiBase reconciles it when it appears (or the operator starts), then again at the time the
  reconciliation asked for (a canary step's end, a Vault refresh, at the latest the resync interval): see
  ``schedule``;
- spec updates and changes to owned objects (someone edited or deleted one: drift repair) wake that daemon;
  owned objects are watched by the operator's own watch caches (``kube.cache``), label-selected to its objects,
  which also answer the reconciler's reads, so kopf watches ApiBases only;
- deletion runs behind kopf's finalizer and removes every owned object.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

import kopf

from apibase_operator import GROUP, PLURAL, VERSION
from apibase_operator.kube.cache import WatchCache
from apibase_operator.kube.informer import OWNER_LABEL
from apibase_operator.runtime import Reconciler
from apibase_operator.schedule import Schedule
from apibase_operator.wiring import kube_configuration, reconciler_from_env

__all__ = ["CACHE_SYNC_SECONDS", "ERROR_BACKOFF_SECONDS"]

#: After a reconciliation raised, kopf restarts the ApiBase's daemon this much later.
ERROR_BACKOFF_SECONDS = 10.0
#: How long start-up waits for the watch caches' first listings; reads fall back to the API server until then.
CACHE_SYNC_SECONDS = 60.0


@kopf.on.login()
def login(**_: object) -> kopf.ConnectionInfo:
    """The same credentials as the reconciler's client (see ``wiring.kube_configuration``)."""
    configuration = kube_configuration()
    bearer = str(configuration.api_key.get("authorization", "")).removeprefix("Bearer ").strip()
    return kopf.ConnectionInfo(
        server=configuration.host,
        ca_path=configuration.ssl_ca_cert,
        insecure=not configuration.verify_ssl,
        certificate_path=configuration.cert_file,
        private_key_path=configuration.key_file,
        scheme="Bearer" if bearer else None,
        token=bearer or None,
    )


@kopf.on.startup()
async def configure(settings: kopf.OperatorSettings, memo: kopf.Memo, logger: kopf.Logger, **_: object) -> None:
    # kopf's own per-handler events would be writes on every resync; ours say what changed, and only then.
    settings.posting.level = logging.WARNING
    settings.watching.server_timeout = 300
    if getattr(memo, "reconciler", None) is None:
        memo.reconciler = reconciler_from_env()
    memo.schedule = schedule = Schedule()
    reconciler = _reconciler(memo)
    namespaces: tuple[str, ...] = tuple(getattr(memo, "namespaces", None) or ())

    def owner_changed(obj: Mapping[str, object]) -> None:
        """Wake the ApiBase an owned object belongs to; an unchanged owner makes no writes, so no loop."""
        metadata = obj.get("metadata")
        labels = metadata.get("labels") if isinstance(metadata, Mapping) else None
        owner = labels.get(OWNER_LABEL) if isinstance(labels, Mapping) else None
        namespace = metadata.get("namespace") if isinstance(metadata, Mapping) else None
        if isinstance(owner, str) and isinstance(namespace, str):
            schedule.wake(namespace, owner)

    reconciler.cache = cache = WatchCache(reconciler.kube, namespaces, on_change=owner_changed)
    cache.start()
    if not await cache.wait_synced(seconds=CACHE_SYNC_SECONDS):
        logger.warning("watch caches not filled in %.0f s: reading from the API server meanwhile", CACHE_SYNC_SECONDS)


@kopf.on.cleanup()
async def stop_watching(memo: kopf.Memo, **_: object) -> None:
    cache = _reconciler(memo).cache
    if cache is not None:
        await cache.stop()


def _reconciler(memo: kopf.Memo) -> Reconciler:
    reconciler: Reconciler = memo.reconciler
    return reconciler


def _schedule(memo: kopf.Memo) -> Schedule:
    schedule: Schedule = memo.schedule
    return schedule


@kopf.daemon(GROUP, VERSION, PLURAL, backoff=ERROR_BACKOFF_SECONDS, cancellation_timeout=10.0)
async def reconcile_on_schedule(
    namespace: str | None, name: str, memo: kopf.Memo, logger: kopf.Logger, **_: object
) -> None:
    """The ApiBase's reconciliation loop; kopf cancels it when the ApiBase is deleted or the operator stops."""
    reconciler = _reconciler(memo)
    namespace = namespace or ""  # kopf types it optional for cluster-wide kinds; an ApiBase always has one

    async def reconcile() -> float | None:
        # Read afresh: kopf's copy can lag behind the status this loop has just written.
        apibase = await reconciler.kube.get_apibase(namespace, name)
        metadata = (apibase or {}).get("metadata")
        if apibase is None or not isinstance(metadata, Mapping) or metadata.get("deletionTimestamp"):
            return None
        result = await reconciler.reconcile(apibase)
        logger.debug("reconciled with %d write(s); next in %.1f s", result.writes, result.requeue_after_seconds)
        return result.requeue_after_seconds

    await _schedule(memo).run(namespace, name, reconcile)


@kopf.on.update(GROUP, VERSION, PLURAL, field="spec")
async def spec_changed(namespace: str | None, name: str, memo: kopf.Memo, **_: object) -> None:
    _schedule(memo).wake(namespace or "", name)


@kopf.on.delete(GROUP, VERSION, PLURAL)
async def delete(body: kopf.Body, memo: kopf.Memo, logger: kopf.Logger, **_: object) -> None:
    removed = await _reconciler(memo).cleanup(body)
    logger.info("removed %d owned object(s)", removed)
