"""One reconciliation of one ApiBase: read Vault, move the canary, apply what changed, prune, report.

Everything the cluster sees goes through :class:`KubeClient`; every decision is made by the pure modules
(``reconcile``, ``canary.progression``, ``vault.sync``). A write happens only when the cluster differs from
the desired state, so a resync of an unchanged ApiBase makes no write request at all; with a
:class:`WatchCache` it makes no read request either (owned objects are read from the watch caches, and the API
server only while a kind's cache has not been listed). What a reconciliation wrote is told by one Event.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
from collections.abc import Callable, Mapping
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import cast

from pydantic import ValidationError

from apibase_operator.canary.analysis import AnalysisResult, PrometheusAnalysis
from apibase_operator.canary.progression import CanaryAction, CanaryDecision, CanaryStatus, next_canary_state
from apibase_operator.changes import ChangeLog
from apibase_operator.conditions import set_condition
from apibase_operator.crd.models import (
    ApiBaseResource,
    ApiBaseStatus,
    ConditionStatus,
    ConditionType,
    Vault,
)
from apibase_operator.kube.cache import WatchCache
from apibase_operator.kube.client import KubeClient, KubeError
from apibase_operator.kube.compare import contains
from apibase_operator.kube.kinds import MANAGED_KINDS, Kind, kind_of
from apibase_operator.metrics import METRICS, OperatorMetrics
from apibase_operator.reconcile.desired import desired_objects
from apibase_operator.reconcile.observed import Observed
from apibase_operator.reconcile.revision import revision_hash
from apibase_operator.reconcile.secrets import target_secret_name
from apibase_operator.reconcile.validation import name_problem
from apibase_operator.reconcile.workload import service_account, service_account_name
from apibase_operator.vault.client import VaultError, VaultReader
from apibase_operator.vault.credentials import DEFAULT_AUDIENCE, Workload
from apibase_operator.vault.sync import SyncedSecret, sync_secret

__all__ = ["OperatorConfig", "ReconcileResult", "Reconciler", "owned_selector"]

MANAGED_BY = "apibase-operator"
_log = logging.getLogger(__name__)
#: SecretsSynced reasons that are configuration errors (the spec asks for what policy forbids), not outages.
_POLICY_REASONS = frozenset({"VaultAddressNotAllowed", "VaultPathNotAllowed", "VaultMappingInvalid"})


@dataclass(frozen=True)
class OperatorConfig:
    """Operator-wide policy, from the operator's environment (never from an ApiBase)."""

    resync_seconds: float = 60.0
    #: Vault mounts (or mount/path prefixes) an ApiBase may read; None allows every mount.
    vault_mounts: frozenset[str] | None = None
    #: Vault addresses the operator sends credentials to; None allows any (tests only: set it in production).
    vault_addresses: frozenset[str] | None = None
    #: The audience of the ServiceAccount tokens requested for ``auth.kubernetes``; Vault roles check it.
    vault_audience: str = DEFAULT_AUDIENCE
    #: Worker threads for Vault syncs (blocking I/O): how many ApiBases may wait on Vault at once.
    vault_workers: int = 4
    #: Seconds one request to Vault may take (connect, then each read).
    vault_timeout_seconds: float = 5.0


@dataclass(frozen=True)
class ReconcileResult:
    writes: int
    requeue_after_seconds: float
    status: Mapping[str, object]


def owned_selector(name: str) -> dict[str, str]:
    return {"app.kubernetes.io/instance": name, "app.kubernetes.io/managed-by": MANAGED_BY}


@dataclass
class Reconciler:
    """Reconciles ApiBases; ``hash_key`` keys ``status.secretHash`` (see :mod:`apibase_operator.hash_key`).

    Vault syncs block (hvac, and the Kubernetes client for credentials), so they run on ``vault_executor``,
    a bounded pool of their own: a hanging Vault neither stalls the event loop (every other ApiBase) nor
    takes the default executor's threads, which the Kubernetes calls use.

    Owned objects are read from ``cache`` when it can answer (a miss in a listed cache means "absent"); without
    one, or before a kind is listed, from the API server.
    """

    kube: KubeClient
    vault_reader: Callable[[Vault, Workload], VaultReader]
    hash_key: bytes
    analysis: PrometheusAnalysis = field(default_factory=PrometheusAnalysis)
    config: OperatorConfig = OperatorConfig()
    metrics: OperatorMetrics = METRICS
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    vault_executor: Executor | None = None
    cache: WatchCache | None = None

    def __post_init__(self) -> None:
        if self.vault_executor is None:
            self.vault_executor = ThreadPoolExecutor(self.config.vault_workers, thread_name_prefix="vault")

    async def reconcile(self, body: Mapping[str, object]) -> ReconcileResult:
        with self.metrics.reconciling():
            try:
                return await self._reconcile(body)
            except Exception as error:
                await self._report_failure(body, error)
                raise

    async def _report_failure(self, body: Mapping[str, object], error: Exception) -> None:
        """A failure no step handled still shows on the ApiBase (best effort: the API server may be the cause)."""
        meta = cast("Mapping[str, str]", body["metadata"])
        _log.error("ApiBase %s/%s: reconciliation failed", meta.get("namespace"), meta.get("name"), exc_info=error)
        try:
            old = ApiBaseStatus.model_validate(body.get("status") or {})
            generation = int(cast("Mapping[str, int]", body["metadata"]).get("generation") or 1)
            message = f"reconciliation failed ({type(error).__name__}); see the operator's log"
            status = self._degraded(old, "ReconcileError", message, generation, self.clock())
            await self.kube.patch_status(meta["namespace"], meta["name"], status.model_dump(mode="json", by_alias=True))
        except Exception:
            _log.warning("ApiBase %s/%s: could not record the failure", meta.get("namespace"), meta.get("name"))

    async def _reconcile(self, body: Mapping[str, object]) -> ReconcileResult:
        writes_before = self.kube.write_count
        now = self.clock()
        generation = int(cast("Mapping[str, int]", body["metadata"]).get("generation") or 1)
        old_status = ApiBaseStatus.model_validate(body.get("status") or {})
        try:
            resource = ApiBaseResource.model_validate(body)
        except ValidationError as error:
            status = self._degraded(old_status, "InvalidSpec", _first_error(error), generation, now)
            return await self._finish(body, old_status, status, writes_before, self.config.resync_seconds)
        if (problem := name_problem(resource.metadata.name)) is not None:
            status = self._degraded(old_status, "InvalidName", f"metadata.name: {problem}", generation, now)
            return await self._finish(body, old_status, status, writes_before, self.config.resync_seconds)
        if resource.spec.paused:
            status = self._with(
                old_status,
                ConditionType.PROGRESSING,
                ConditionStatus.FALSE,
                "Paused",
                "reconciliation is paused (spec.paused)",
                generation,
                now,
            )
            return await self._finish(body, old_status, status, writes_before, self.config.resync_seconds)

        status = old_status.model_copy(update={"observed_generation": generation})
        log = ChangeLog()
        secret, status = await self._sync_vault(resource, status, now, log)
        decision = await self._canary(resource, status, now)
        status = self._record_canary(resource, status, decision, generation, now)
        effective = self._effective(resource, status)
        observed = Observed(
            canary_weight=decision.weight,
            canary_active=decision.status.active,
            secret=secret,
            secret_hash=status.secret_hash,
        )
        desired = desired_objects(effective, observed)
        status = status.model_copy(update=_revisions(resource.metadata.name, desired))
        try:
            await self._apply(resource, desired, log)
            await self._prune(resource, desired, log)
        except KubeError as error:
            self.metrics.reconcile_errors.labels(reason="KubeError").inc()
            await self._report_changes(body, log)
            await self.kube.event(body, "Warning", "ApplyFailed", str(error))
            status = self._degraded(status, "ApplyFailed", str(error), generation, now)
            return await self._finish(body, old_status, status, writes_before, 10.0)
        await self._report_changes(body, log)
        status = await self._readiness(resource, status, generation, now, log)
        status = self._policy_violations(status, generation, now)
        requeue = min(self.config.resync_seconds, decision.requeue_after_seconds or self.config.resync_seconds)
        if resource.spec.vault is not None:
            requeue = min(requeue, _until_refresh(resource.spec.vault, status, now))
        return await self._finish(body, old_status, status, writes_before, requeue)

    # -- pieces ----------------------------------------------------------------------------------------------
    def _policy_violations(self, status: ApiBaseStatus, generation: int, now: datetime) -> ApiBaseStatus:
        """A Vault setting the operator's policy refuses will not heal by retrying: that is Degraded, not a blip."""
        synced = next((c for c in status.conditions if c.type is ConditionType.SECRETS_SYNCED), None)
        if synced is None or synced.status is not ConditionStatus.FALSE or synced.reason not in _POLICY_REASONS:
            return status
        return self._with(
            status, ConditionType.DEGRADED, ConditionStatus.TRUE, synced.reason, synced.message, generation, now
        )

    def _with(
        self,
        status: ApiBaseStatus,
        type_: ConditionType,
        value: ConditionStatus,
        reason: str,
        message: str,
        generation: int,
        now: datetime,
    ) -> ApiBaseStatus:
        conditions = set_condition(
            list(status.conditions), type_, value, reason, message, generation=generation, now=now
        )
        return status.model_copy(update={"conditions": conditions})

    def _degraded(
        self, status: ApiBaseStatus, reason: str, message: str, generation: int, now: datetime
    ) -> ApiBaseStatus:
        status = self._with(status, ConditionType.DEGRADED, ConditionStatus.TRUE, reason, message, generation, now)
        return self._with(status, ConditionType.READY, ConditionStatus.FALSE, reason, message, generation, now)

    async def _sync_vault(
        self, resource: ApiBaseResource, status: ApiBaseStatus, now: datetime, log: ChangeLog
    ) -> tuple[SyncedSecret | None, ApiBaseStatus]:
        """Read Vault when it is due; on failure keep the existing Secret and say why (never the values).

        Every failure ends here as ``SecretsSynced=False`` with a reason and a log line; the other objects
        are still applied by the caller.
        """
        spec = resource.spec.vault
        if spec is None:
            return None, status
        due = status.last_secret_sync is None or (now - status.last_secret_sync).total_seconds() >= (
            spec.refresh_interval_seconds
        )
        if self.config.vault_addresses is not None and spec.address not in self.config.vault_addresses:
            # The operator would send its service-account token there: only configured servers are trusted.
            message = f"Vault address {spec.address} is not allowed by the operator configuration"
            return None, self._secrets_synced(status, ConditionStatus.FALSE, "VaultAddressNotAllowed", message, now)
        if not due:
            return None, status
        try:
            if spec.auth.kubernetes is not None and (account := service_account(resource)) is not None:
                await self._apply(resource, [account], log)  # a token can only be requested for an existing account
            secret = await self._read_vault(resource, spec)
        except VaultError as error:
            reason, message = type(error).__name__, error.reason
        except KubeError as error:
            reason, message = "ServiceAccountNotApplied", str(error)
        except Exception as error:
            _log.exception("ApiBase %s/%s: Vault sync failed", resource.metadata.namespace, resource.metadata.name)
            reason, message = "VaultSyncError", f"unexpected {type(error).__name__}; see the operator's log"
        else:
            return self._synced(secret, status, now)
        self.metrics.secret_sync("failed")
        _log.warning(
            "ApiBase %s/%s: secrets not synced (%s): %s",
            resource.metadata.namespace,
            resource.metadata.name,
            reason,
            message,
        )
        return None, self._secrets_synced(status, ConditionStatus.FALSE, reason, message, now)

    async def _read_vault(self, resource: ApiBaseResource, spec: Vault) -> SyncedSecret:
        """``sync_secret`` on the Vault worker pool, as the ApiBase's workload, with the caller's log context."""
        workload = Workload(resource.metadata.namespace, service_account_name(resource))

        def read() -> SyncedSecret:
            reader = self.vault_reader(spec, workload)
            return sync_secret(
                spec,
                resource.metadata.name,
                reader,
                allowed_mounts=self.config.vault_mounts,
                hash_key=self.hash_key,
            )

        context = contextvars.copy_context()
        return await asyncio.get_running_loop().run_in_executor(self.vault_executor, context.run, read)

    def _synced(self, secret: SyncedSecret, status: ApiBaseStatus, now: datetime) -> tuple[SyncedSecret, ApiBaseStatus]:
        self.metrics.secret_sync("ok")
        message = f"{len(secret.data)} key(s) synced into Secret {secret.name}"
        status = self._secrets_synced(status, ConditionStatus.TRUE, "Synced", message, now)
        return secret, status.model_copy(update={"last_secret_sync": now, "secret_hash": secret.hash})

    def _secrets_synced(
        self, status: ApiBaseStatus, value: ConditionStatus, reason: str, message: str, now: datetime
    ) -> ApiBaseStatus:
        generation = status.observed_generation or 1
        return self._with(status, ConditionType.SECRETS_SYNCED, value, reason, message, generation, now)

    async def _canary(self, resource: ApiBaseResource, status: ApiBaseStatus, now: datetime) -> CanaryDecision:
        current = CanaryStatus(
            weight=status.canary_weight,
            step=status.canary_step,
            step_started_at=status.canary_step_started_at,
            active=status.canary_weight > 0,
            image=status.canary_image,
        )
        stable = self._stable_image(resource, status)
        decision = next_canary_state(resource.spec.canary, current, now, None, stable_image=stable)
        if decision.action is CanaryAction.ANALYZE and resource.spec.canary is not None:
            result: AnalysisResult | None = None
            if resource.spec.canary.analysis is not None:
                result = await self.analysis.evaluate(resource.spec.canary.analysis)
            decision = next_canary_state(resource.spec.canary, current, now, result, stable_image=stable)
        if decision.action is not CanaryAction.NONE:
            self.metrics.canary_step(decision.action.value)
        return decision

    def _record_canary(
        self, resource: ApiBaseResource, status: ApiBaseStatus, decision: CanaryDecision, generation: int, now: datetime
    ) -> ApiBaseStatus:
        update: dict[str, object] = {
            "canary_weight": decision.weight,
            "canary_step": decision.step,
            "canary_step_started_at": decision.step_started_at,
            "canary_image": decision.status.image,
        }
        if decision.action is CanaryAction.PROMOTE and decision.status.image is not None:
            update |= {"stable_image": decision.status.image, "promoted_over": resource.spec.image}
        status = status.model_copy(update=update)
        for condition in decision.conditions:
            status = self._with(
                status, condition.type, condition.status, condition.reason, condition.message, generation, now
            )
        return status

    @staticmethod
    def _stable_image(resource: ApiBaseResource, status: ApiBaseStatus) -> str:
        """A promoted canary keeps running until ``spec.image`` changes; then the spec wins again."""
        if status.stable_image and status.promoted_over == resource.spec.image:
            return status.stable_image
        return resource.spec.image

    def _effective(self, resource: ApiBaseResource, status: ApiBaseStatus) -> ApiBaseResource:
        image = self._stable_image(resource, status)
        if image == resource.spec.image:
            return resource
        return resource.model_copy(update={"spec": resource.spec.model_copy(update={"image": image})})

    async def _apply(self, resource: ApiBaseResource, desired: list[dict[str, object]], log: ChangeLog) -> None:
        for obj in desired:
            kind, meta = kind_of(obj), cast("Mapping[str, str]", obj["metadata"])
            existing = await self._read(kind, meta["namespace"], meta["name"], log)
            if existing is not None and contains(existing, obj):
                continue
            log.remember(kind.kind, meta["namespace"], meta["name"], await self.kube.apply(obj))
            self.metrics.write_request("apply", kind.kind)
            log.record("Created" if existing is None else "Updated", kind.kind, meta["name"])

    async def _prune(self, resource: ApiBaseResource, desired: list[dict[str, object]], log: ChangeLog) -> None:
        """Delete owned objects that are no longer desired (a finished canary, Istio or Dapr turned off)."""
        wanted = {(str(obj["kind"]), cast("Mapping[str, str]", obj["metadata"])["name"]) for obj in desired}
        if (vault_secret := target_secret_name(resource)) is not None:
            wanted.add(("Secret", vault_secret))  # between syncs, or while Vault is down, the last values stay
        for kind in MANAGED_KINDS:
            for item in await self._owned(kind, resource.metadata.namespace, resource.metadata.name):
                name = cast("Mapping[str, str]", item["metadata"])["name"]
                if (kind.kind, name) not in wanted and await self.kube.delete(kind, resource.metadata.namespace, name):
                    self.metrics.write_request("delete", kind.kind)
                    log.record("Pruned", kind.kind, name)

    async def _report_changes(self, body: Mapping[str, object], log: ChangeLog) -> None:
        """One ``Normal`` Event naming every object this reconciliation created, updated or pruned."""
        if (summary := log.summary()) is not None:
            await self.kube.event(body, "Normal", *summary)

    async def _read(self, kind: Kind, namespace: str, name: str, log: ChangeLog) -> dict[str, object] | None:
        """What this reconciliation applied; else the watch cache, whose miss is final once the kind is listed;
        else (no cache, or not listed yet) the API server."""
        if (written := log.written(kind.kind, namespace, name)) is not None:
            return written
        if self.cache is not None and self.cache.answers(kind, namespace):
            return self.cache.get(kind, namespace, name)
        return await self.kube.get(kind, namespace, name)

    async def _owned(self, kind: Kind, namespace: str, owner: str) -> list[dict[str, object]]:
        if self.cache is not None and (cached := self.cache.owned_by(kind, namespace, owner)) is not None:
            return cached
        return await self.kube.list(kind, namespace, owned_selector(owner))

    async def _readiness(
        self, resource: ApiBaseResource, status: ApiBaseStatus, generation: int, now: datetime, log: ChangeLog
    ) -> ApiBaseStatus:
        """Ready follows the stable Deployment's availability, as the Deployment controller reports it."""
        kind = kind_of({"apiVersion": "apps/v1", "kind": "Deployment"})
        deployment = await self._read(kind, resource.metadata.namespace, resource.metadata.name, log) or {}
        observed = cast("Mapping[str, object]", deployment.get("status") or {})
        autoscaling = resource.spec.autoscaling
        wanted = autoscaling.min_replicas if autoscaling is not None and autoscaling.enabled else resource.spec.replicas
        available = int(cast("int", observed.get("availableReplicas") or 0))
        status = status.model_copy(
            update={"replicas": available, "selector": f"app.kubernetes.io/instance={resource.metadata.name}"}
        )
        status = self._with(
            status,
            ConditionType.DEGRADED,
            ConditionStatus.FALSE,
            "Reconciled",
            "all objects match the spec",
            generation,
            now,
        )
        if available >= wanted:
            return self._with(
                status,
                ConditionType.READY,
                ConditionStatus.TRUE,
                "Available",
                f"{available} replica(s) available",
                generation,
                now,
            )
        return self._with(
            status,
            ConditionType.READY,
            ConditionStatus.FALSE,
            "Progressing",
            f"{available} of {wanted} replica(s) available",
            generation,
            now,
        )

    async def _finish(
        self, body: Mapping[str, object], old: ApiBaseStatus, new: ApiBaseStatus, writes_before: int, requeue: float
    ) -> ReconcileResult:
        """Write the status only when it changed: status churn would be writes on every resync."""
        payload = new.model_dump(mode="json", by_alias=True)
        if payload != old.model_dump(mode="json", by_alias=True):  # nulls included: a merge patch clears them
            meta = cast("Mapping[str, str]", body["metadata"])
            await self.kube.patch_status(meta["namespace"], meta["name"], payload)
            self.metrics.write_request("patch", "ApiBase")
        return ReconcileResult(
            writes=self.kube.write_count - writes_before, requeue_after_seconds=requeue, status=payload
        )

    async def cleanup(self, body: Mapping[str, object]) -> int:
        """On deletion: remove every owned object now, rather than waiting for (or trusting) garbage collection."""
        meta = cast("Mapping[str, str]", body["metadata"])
        removed = 0
        for kind in MANAGED_KINDS:
            for item in await self.kube.list(kind, meta["namespace"], owned_selector(meta["name"])):
                name = cast("Mapping[str, str]", item["metadata"])["name"]
                removed += await self.kube.delete(kind, meta["namespace"], name)
        return removed


def _revisions(name: str, desired: list[dict[str, object]]) -> dict[str, str | None]:
    """Short hashes of the stable and canary pod templates, so ``kubectl get`` shows what each track runs."""
    templates = {
        cast("Mapping[str, str]", obj["metadata"])["name"]: cast("Mapping[str, object]", obj["spec"])["template"]
        for obj in desired
        if obj["kind"] == "Deployment"
    }
    stable, canary = templates.get(name), templates.get(f"{name}-canary")
    return {
        "stable_revision": revision_hash(cast("Mapping[str, object]", stable)) if stable is not None else None,
        "canary_revision": revision_hash(cast("Mapping[str, object]", canary)) if canary is not None else None,
    }


def _until_refresh(vault: Vault, status: ApiBaseStatus, now: datetime) -> float:
    """Seconds until the next Vault read is due: the rest of the interval since the last successful sync.

    A sync that was due and failed (or never succeeded) is tried again one whole interval later.
    """
    interval = float(vault.refresh_interval_seconds)
    if status.last_secret_sync is None:
        return interval
    remaining = interval - (now - status.last_secret_sync).total_seconds()
    return remaining if remaining > 0 else interval


def _first_error(error: ValidationError) -> str:
    first = error.errors()[0]
    where = ".".join(str(part) for part in first["loc"])
    return f"{where}: {first['msg']} ({error.error_count()} problem(s) in the spec)"
