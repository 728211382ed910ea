from __future__ import annotations

from dataclasses import FrozenInstanceError

import pytest

from apibase_operator.reconcile import Observed
from apibase_operator.vault import SyncedSecret

pytestmark = pytest.mark.unit


def test_defaults_mean_no_canary_and_no_secret():
    observed = Observed()

    assert (observed.canary_weight, observed.canary_active, observed.secret, observed.current_secret_hash) == (
        0,
        False,
        None,
        None,
    )


@pytest.mark.parametrize("weight", [-1, 101])
def test_a_weight_outside_0_to_100_is_refused(weight):
    with pytest.raises(ValueError, match="between 0 and 100"):
        Observed(canary_weight=weight)


def test_it_is_immutable():
    with pytest.raises(FrozenInstanceError):
        Observed().canary_weight = 5  # type: ignore[misc]


def test_the_fresh_secret_hash_wins_over_the_remembered_one():
    secret = SyncedSecret(name="orders-vault", data={"k": b"v"}, hash="sha256:new")

    assert Observed(secret_hash="sha256:old").current_secret_hash == "sha256:old"
    assert Observed(secret=secret, secret_hash="sha256:old").current_secret_hash == "sha256:new"
