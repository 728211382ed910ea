"""Reconcile: turns an ApiBase and what the operator observed into the objects that should exist.

Everything here is pure; the operator's handlers do the I/O (apply, delete, read Vault, query Prometheus).

Public API:

- ``desired_objects(resource, observed) -> list[dict[str, object]]``: every owned object, sorted by kind and name.
- ``Observed(canary_weight=0, canary_active=False, secret=None, secret_hash=None)`` and
  ``SyncedSecretLike`` (``name``, ``data``, ``hash``; the Vault module's ``SyncedSecret``): the observed state.
- ``labels_for(resource, component, track=None)``, ``owner_reference(resource)``: what every object carries.
- ``revision_hash(pod_template) -> str``: the short fingerprint recorded as stable/canary revision.
"""

from __future__ import annotations

from apibase_operator.reconcile.desired import canary_running, desired_objects
from apibase_operator.reconcile.labels import labels_for, owner_reference, selector_for
from apibase_operator.reconcile.observed import Observed, SyncedSecretLike
from apibase_operator.reconcile.revision import revision_hash

__all__ = [
    "Observed",
    "SyncedSecretLike",
    "canary_running",
    "desired_objects",
    "labels_for",
    "owner_reference",
    "revision_hash",
    "selector_for",
]
