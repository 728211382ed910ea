"""kopf wiring: which cluster events lead to a reconciliation. All decisions live in ``runtime``.

- create, resume and spec updates of an ApiBase reconcile at once;
- a timer resyncs every ApiBase (level-based: canary steps, Vault refreshes and missed events are caught);
- changes to owned objects (someone edited or deleted one) reconcile their owner: drift repair;
- deletion runs behind kopf's finalizer and removes every owned object.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

import kopf

from apibase_operator import GROUP, PLURAL, VERSION
from apibase_operator.runtime import MANAGED_BY, Reconciler
from apibase_operator.wiring import config_from_env, kube_configuration, reconciler_from_env

__all__ = ["OWNED_KINDS", "RESYNC_SECONDS"]

RESYNC_SECONDS = config_from_env().resync_seconds
#: Owned kinds watched for drift (group, version, plural); kopf skips any whose CRD is not installed.
OWNED_KINDS = (
    ("apps", "v1", "deployments"),
    ("", "v1", "services"),
    ("", "v1", "secrets"),
    ("networking.istio.io", "v1", "virtualservices"),
    ("networking.istio.io", "v1", "destinationrules"),
    ("dapr.io", "v1alpha1", "components"),
)
_OWNED = {"app.kubernetes.io/managed-by": MANAGED_BY}


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
async def configure(settings: kopf.OperatorSettings, memo: kopf.Memo, **_: object) -> None:
    # kopf's own per-handler events would be writes on every resync; ours say what changed, and only then.
    settings.posting.level = logging.WARNING
    settings.watching.server_timeout = 300
    if getattr(memo, "reconciler", None) is None:
        memo.reconciler = reconciler_from_env()


def _reconciler(memo: kopf.Memo) -> Reconciler:
    reconciler: Reconciler = memo.reconciler
    return reconciler


@kopf.on.resume(GROUP, VERSION, PLURAL)
@kopf.on.create(GROUP, VERSION, PLURAL)
@kopf.on.update(GROUP, VERSION, PLURAL, field="spec")
async def reconcile(body: kopf.Body, memo: kopf.Memo, **_: object) -> None:
    await _reconciler(memo).reconcile(body)


@kopf.timer(GROUP, VERSION, PLURAL, interval=RESYNC_SECONDS, idle=5)
async def resync(body: kopf.Body, memo: kopf.Memo, **_: object) -> None:
    await _reconciler(memo).reconcile(body)


@kopf.on.delete(GROUP, VERSION, PLURAL)
async def delete(body: kopf.Body, memo: kopf.Memo, logger: kopf.Logger, **_: object) -> None:
    removed = await _reconciler(memo).cleanup(body)
    logger.info("removed %d owned object(s)", removed)


async def _owner_changed(body: kopf.Body, memo: kopf.Memo, **_: object) -> None:
    """Reconcile the ApiBase an owned object belongs to; an unchanged owner makes no writes, so no loop."""
    metadata: Mapping[str, object] = body.get("metadata", {})
    labels = metadata.get("labels") or {}
    owner = labels.get("app.kubernetes.io/instance") if isinstance(labels, Mapping) else None
    namespace = metadata.get("namespace")
    if not isinstance(owner, str) or not isinstance(namespace, str):
        return
    reconciler = _reconciler(memo)
    apibase = await reconciler.kube.get_apibase(namespace, owner)
    owner_metadata = (apibase or {}).get("metadata")
    if apibase is not None and isinstance(owner_metadata, Mapping) and not owner_metadata.get("deletionTimestamp"):
        await reconciler.reconcile(apibase)


for _group, _version, _plural in OWNED_KINDS:
    kopf.on.event(_group, _version, _plural, labels=_OWNED)(_owner_changed)
