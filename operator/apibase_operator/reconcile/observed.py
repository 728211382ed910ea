"""What the operator observed and remembers between reconciliations: the only input besides the spec.

Keeping it a small value object is what makes :func:`~apibase_operator.reconcile.desired.desired_objects`
pure: the canary controller and the Vault sync decide these values; reconcile only turns them into objects.
The synced secret is typed structurally (:class:`SyncedSecretLike`) so that reconcile does not import the
Vault client; :class:`apibase_operator.vault.SyncedSecret` is what the operator passes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

__all__ = ["Observed", "SyncedSecretLike"]

_MAX_WEIGHT = 100


class SyncedSecretLike(Protocol):
    """The values read from Vault for the target Secret and the hash that stands for them."""

    @property
    def name(self) -> str: ...

    @property
    def data(self) -> Mapping[str, bytes]: ...

    @property
    def hash(self) -> str: ...


@dataclass(frozen=True, slots=True)
class Observed:
    """Canary progress and secret state.

    ``canary_weight`` is the percentage of traffic the canary receives; it only matters while
    ``canary_active`` (and ``spec.canary`` is set). ``secret`` is the freshly synced Secret, if any;
    ``secret_hash`` is the last known hash (from status), used for the restart annotation when no
    fresh ``secret`` is given, so that a Vault outage neither rolls the pods nor drops the annotation.
    """

    canary_weight: int = 0
    canary_active: bool = False
    secret: SyncedSecretLike | None = None
    secret_hash: str | None = None

    def __post_init__(self) -> None:
        if not 0 <= self.canary_weight <= _MAX_WEIGHT:
            raise ValueError(f"canary_weight must be between 0 and 100, not {self.canary_weight}")

    @property
    def current_secret_hash(self) -> str | None:
        """The hash of the values the pods should run with: the fresh one first."""
        return self.secret.hash if self.secret is not None else self.secret_hash
