"""The Vault → Secret sync rules, against a fake reader: mapping, hashing, refusals, drift, backoff, no leaks."""

from __future__ import annotations

import base64
import hashlib
import hmac
import random
import re

import pytest

from apibase_operator.crd.models import Vault
from apibase_operator.vault import (
    SyncedSecret,
    VaultError,
    VaultKeyMissing,
    VaultMappingInvalid,
    VaultPathNotAllowed,
    VaultPathNotFound,
    backoff_seconds,
    hash_secret_data,
    secret_drifted,
    sync_secret,
)

pytestmark = pytest.mark.unit

DB_PASSWORD = "s3cr3t-db-password"
API_KEY = "s3cr3t-api-key"
SECRET_VALUES = (DB_PASSWORD, API_KEY)
KEY = b"operator-hash-key-for-the-tests!"


class FakeReader:
    """KV v2 secrets in a dict; records every read so tests can assert nothing was requested."""

    def __init__(self, secrets: dict[tuple[str, str], dict[str, str]]) -> None:
        self.secrets = secrets
        self.calls: list[tuple[str, str]] = []

    def read(self, mount: str, path: str) -> dict[str, str]:
        self.calls.append((mount, path))
        try:
            return dict(self.secrets[mount, path])
        except KeyError:
            raise VaultPathNotFound(f"reading {mount}/{path}: not found") from None


def make_spec(**overrides: object) -> Vault:
    raw: dict[str, object] = {
        "address": "https://vault.example:8200",
        "auth": {"tokenSecret": {"name": "vault-token", "key": "token"}},
        "paths": [
            {"path": "orders/db", "keys": {"password": "DB_PASSWORD", "user": "DB_USER"}},
            {"path": "orders/api", "keys": {"key": "API_KEY"}},
        ],
    }
    raw.update(overrides)
    return Vault.model_validate(raw)


def make_reader() -> FakeReader:
    return FakeReader(
        {
            ("secret", "orders/db"): {"password": DB_PASSWORD, "user": "orders", "unused": "x"},
            ("secret", "orders/api"): {"key": API_KEY},
        }
    )


def seeded(seed: int) -> random.Random:
    return random.Random(seed)  # noqa: S311 - backoff jitter, not cryptography


def encoded(data: dict[str, bytes]) -> dict[str, object]:
    """A Secret as the API server returns it."""
    return {"apiVersion": "v1", "kind": "Secret", "data": {k: base64.b64encode(v).decode() for k, v in data.items()}}


# --- mapping -------------------------------------------------------------------------------------------------


def test_maps_each_vault_key_to_its_secret_key_with_the_default_name() -> None:
    synced = sync_secret(make_spec(), "orders", make_reader(), allowed_mounts=None, hash_key=KEY)

    assert synced.name == "orders-vault"
    assert dict(synced.data) == {
        "DB_PASSWORD": DB_PASSWORD.encode(),
        "DB_USER": b"orders",
        "API_KEY": API_KEY.encode(),
    }
    assert synced.hash == hash_secret_data(synced.data, KEY)


def test_target_secret_overrides_the_default_name() -> None:
    synced = sync_secret(
        make_spec(targetSecret="orders-creds"), "orders", make_reader(), allowed_mounts=None, hash_key=KEY
    )
    assert synced.name == "orders-creds"


def test_values_are_utf8_and_the_mount_comes_from_the_spec() -> None:
    reader = FakeReader({("kv", "app"): {"greeting": "grüß dich"}})
    spec = make_spec(mount="kv", paths=[{"path": "app", "keys": {"greeting": "GREETING"}}])

    synced = sync_secret(spec, "app", reader, allowed_mounts=frozenset({"kv"}), hash_key=KEY)

    assert synced.data["GREETING"] == "grüß dich".encode()
    assert reader.calls == [("kv", "app")]


def test_a_path_listed_twice_is_read_once() -> None:
    reader = make_reader()
    spec = make_spec(
        paths=[
            {"path": "orders/db", "keys": {"password": "DB_PASSWORD"}},
            {"path": "orders/db", "keys": {"user": "DB_USER"}},
        ]
    )

    synced = sync_secret(spec, "orders", reader, allowed_mounts=None, hash_key=KEY)

    assert reader.calls == [("secret", "orders/db")]
    assert set(synced.data) == {"DB_PASSWORD", "DB_USER"}


def test_synced_data_is_a_read_only_copy() -> None:
    data = {"A": b"1"}
    synced = SyncedSecret(name="x", data=data, hash=hash_secret_data(data, KEY))
    data["A"] = b"2"

    assert synced.data["A"] == b"1"
    with pytest.raises(TypeError):
        synced.data["A"] = b"3"  # type: ignore[index]
    assert synced == SyncedSecret(name="x", data={"A": b"1"}, hash=synced.hash)
    assert hash(synced) == hash(SyncedSecret(name="x", data={"A": b"1"}, hash=synced.hash))


# --- hash ------------------------------------------------------------------------------------------------------


def test_hash_is_prefixed_hex_hmac_sha256_and_ignores_order() -> None:
    forward = hash_secret_data({"A": b"1", "B": b"2"}, KEY)
    backward = hash_secret_data({"B": b"2", "A": b"1"}, KEY)

    assert forward == backward
    assert re.fullmatch(r"hmac-sha256:[0-9a-f]{64}", forward)


def test_hash_is_not_a_plain_sha256_of_the_values_and_depends_on_the_key() -> None:
    """A plain digest of a low-entropy value could be reversed by trying candidates; a keyed one cannot."""
    data = {"DB_PASSWORD": b"hunter2"}
    digest = hash_secret_data(data, KEY).removeprefix("hmac-sha256:")
    unkeyed = hashlib.sha256()
    for part in (b"DB_PASSWORD", b"hunter2"):
        unkeyed.update(len(part).to_bytes(8, "big"))
        unkeyed.update(part)

    assert digest not in {unkeyed.hexdigest(), hashlib.sha256(b"hunter2").hexdigest()}
    assert digest == hmac.new(KEY, unkeyed_input(data), hashlib.sha256).hexdigest()
    assert hash_secret_data(data, b"another-operator-hash-key-32byte") != hash_secret_data(data, KEY)
    assert hash_secret_data(data, bytes(KEY)) == hash_secret_data(data, KEY)  # the same key: the same hash


def unkeyed_input(data: dict[str, bytes]) -> bytes:
    """The length-prefixed encoding the HMAC runs over."""
    return b"".join(
        len(part).to_bytes(8, "big") + part for name in sorted(data) for part in (name.encode(), data[name])
    )


def test_hash_needs_a_key() -> None:
    with pytest.raises(ValueError, match="non-empty key"):
        hash_secret_data({"A": b"1"}, b"")


def test_hash_is_stable_across_syncs_and_path_order() -> None:
    first = sync_secret(make_spec(), "orders", make_reader(), allowed_mounts=None, hash_key=KEY)
    spec = make_spec(paths=list(reversed(make_spec().model_dump(by_alias=True)["paths"])))
    second = sync_secret(spec, "orders", make_reader(), allowed_mounts=None, hash_key=KEY)

    assert first.hash == second.hash


@pytest.mark.parametrize(
    "changed",
    [
        {"A": b"1", "B": b"3"},  # a value rotated
        {"A": b"1", "C": b"2"},  # a key renamed
        {"A": b"1"},  # a key dropped
        {"A": b"1", "B": b"2", "C": b""},  # an empty key added
        {"A": b"12", "B": b""},  # bytes moved between neighbours
        {"AB": b"1", "B": b"2"},  # bytes moved from value to key
    ],
)
def test_hash_changes_with_any_change_of_the_data(changed: dict[str, bytes]) -> None:
    assert hash_secret_data(changed, KEY) != hash_secret_data({"A": b"1", "B": b"2"}, KEY)


def test_rotating_a_value_in_vault_changes_the_synced_hash() -> None:
    reader = make_reader()
    before = sync_secret(make_spec(), "orders", reader, allowed_mounts=None, hash_key=KEY)
    reader.secrets["secret", "orders/db"]["password"] = "rotated"
    after = sync_secret(make_spec(), "orders", reader, allowed_mounts=None, hash_key=KEY)

    assert before.hash != after.hash


# --- refusals ------------------------------------------------------------------------------------------------


def test_a_missing_key_names_the_path_and_key_but_no_value() -> None:
    reader = make_reader()
    del reader.secrets["secret", "orders/api"]["key"]

    with pytest.raises(VaultKeyMissing) as caught:
        sync_secret(make_spec(), "orders", reader, allowed_mounts=None, hash_key=KEY)

    assert str(caught.value) == "key 'key' is missing at secret/orders/api"
    assert caught.value.reason == str(caught.value)
    assert isinstance(caught.value, VaultError)
    assert not any(value in str(caught.value) for value in SECRET_VALUES)


def test_reader_errors_pass_through() -> None:
    reader = FakeReader({})
    with pytest.raises(VaultPathNotFound, match="secret/orders/db"):
        sync_secret(make_spec(), "orders", reader, allowed_mounts=None, hash_key=KEY)


@pytest.mark.parametrize(
    "allowed",
    [frozenset({"secret"}), frozenset({"secret/"}), frozenset({"kv", "secret/orders"}), frozenset({"secret/orders/"})],
)
def test_allowed_mounts_and_prefixes_let_the_sync_through(allowed: frozenset[str]) -> None:
    assert sync_secret(make_spec(), "orders", make_reader(), allowed_mounts=allowed, hash_key=KEY).data


def test_an_exact_allowed_path_lets_the_sync_through() -> None:
    spec = make_spec(paths=[{"path": "orders/api", "keys": {"key": "API_KEY"}}])
    allowed = frozenset({"secret/orders/api"})
    assert sync_secret(spec, "orders", make_reader(), allowed_mounts=allowed, hash_key=KEY).data


@pytest.mark.parametrize(
    "allowed",
    [
        frozenset(),
        frozenset({"kv"}),
        frozenset({"secre"}),  # a prefix of the mount name is not the mount
        frozenset({"secret/order"}),  # a prefix of a segment is not a path prefix
        frozenset({"secret/orders/db"}),  # orders/api is still outside
    ],
)
def test_a_mount_or_path_outside_allowed_mounts_is_refused_before_any_request(allowed: frozenset[str]) -> None:
    reader = make_reader()

    with pytest.raises(VaultPathNotAllowed, match="outside the allowed mounts"):
        sync_secret(make_spec(), "orders", reader, allowed_mounts=allowed, hash_key=KEY)

    assert reader.calls == []


@pytest.mark.parametrize("path", ["orders/../admin", "../admin", "orders/.", "./orders"])
def test_dot_segments_are_refused_even_without_a_restriction(path: str) -> None:
    """HTTP clients collapse ``a/../b`` to ``b``: such a path would escape an allowed prefix."""
    reader = make_reader()
    spec = make_spec(paths=[{"path": path, "keys": {"k": "K"}}])

    with pytest.raises(VaultPathNotAllowed, match=r"'\.' or '\.\.' segment"):
        sync_secret(spec, "orders", reader, allowed_mounts=None, hash_key=KEY)
    with pytest.raises(VaultPathNotAllowed):
        sync_secret(spec, "orders", reader, allowed_mounts=frozenset({"secret/orders"}), hash_key=KEY)

    assert reader.calls == []


def test_two_sources_for_one_secret_key_are_refused_before_any_request() -> None:
    reader = make_reader()
    spec = make_spec(
        paths=[
            {"path": "orders/db", "keys": {"password": "PASSWORD"}},
            {"path": "orders/api", "keys": {"key": "PASSWORD"}},
        ]
    )

    with pytest.raises(VaultMappingInvalid) as caught:
        sync_secret(spec, "orders", reader, allowed_mounts=None, hash_key=KEY)

    assert str(caught.value) == (
        "Secret key 'PASSWORD' is mapped from both secret/orders/db#password and secret/orders/api#key"
    )
    assert reader.calls == []


@pytest.mark.parametrize("secret_key", ["has space", "slash/key", "", "x" * 254])
def test_a_secret_key_the_api_server_refuses_is_refused_before_any_request(secret_key: str) -> None:
    reader = make_reader()
    spec = make_spec(paths=[{"path": "orders/db", "keys": {"password": secret_key}}])

    with pytest.raises(VaultMappingInvalid, match="not a valid Secret key"):
        sync_secret(spec, "orders", reader, allowed_mounts=None, hash_key=KEY)

    assert reader.calls == []


def test_a_default_target_name_too_long_for_kubernetes_is_refused() -> None:
    with pytest.raises(VaultMappingInvalid, match="longer than 253"):
        sync_secret(make_spec(), "a" * 250, make_reader(), allowed_mounts=None, hash_key=KEY)


# --- drift ---------------------------------------------------------------------------------------------------


def test_a_secret_holding_the_desired_data_has_not_drifted() -> None:
    synced = sync_secret(make_spec(), "orders", make_reader(), allowed_mounts=None, hash_key=KEY)
    assert not secret_drifted(synced.hash, encoded(dict(synced.data)), KEY)


def test_an_empty_secret_matches_empty_data() -> None:
    empty = hash_secret_data({}, KEY)
    assert not secret_drifted(empty, {"kind": "Secret"}, KEY)
    assert not secret_drifted(empty, {"kind": "Secret", "data": None}, KEY)


def test_a_missing_secret_has_drifted() -> None:
    assert secret_drifted(hash_secret_data({"A": b"1"}, KEY), None, KEY)


@pytest.mark.parametrize(
    "live",
    [
        {"A": b"edited"},  # someone edited a value by hand
        {"A": b"1", "B": b"added"},  # or added a key
        {},  # or emptied it
    ],
)
def test_a_hand_edited_secret_has_drifted(live: dict[str, bytes]) -> None:
    assert secret_drifted(hash_secret_data({"A": b"1"}, KEY), encoded(live), KEY)


@pytest.mark.parametrize(
    "secret",
    [
        {"data": {"A": "not base64!"}},
        {"data": {"A": 1}},
        {"data": {1: "MQ=="}},
        {"data": ["A"]},
    ],
)
def test_an_undecodable_secret_has_drifted(secret: dict[str, object]) -> None:
    assert secret_drifted(hash_secret_data({"A": b"1"}, KEY), secret, KEY)


# --- backoff -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("attempt", range(12))
def test_backoff_stays_within_full_jitter_bounds(attempt: int) -> None:
    rng = seeded(attempt)
    ceiling = min(300, 5 * 2**attempt)
    delays = [backoff_seconds(attempt, rng=rng) for _ in range(200)]

    assert all(0 <= delay <= ceiling for delay in delays)
    assert max(delays) > ceiling / 2  # jitter spans the range, it is not stuck near zero


def test_backoff_is_reproducible_with_a_seeded_rng_and_honours_base_and_cap() -> None:
    first = [backoff_seconds(n, base=1, cap=10, rng=seeded(7)) for n in range(10)]
    second = [backoff_seconds(n, base=1, cap=10, rng=seeded(7)) for n in range(10)]

    assert first == second
    assert all(delay <= 10 for delay in first)


def test_backoff_survives_huge_attempts_and_works_without_an_rng() -> None:
    assert 0 <= backoff_seconds(10_000, rng=seeded(1)) <= 300
    assert 0 <= backoff_seconds(3) <= 40


@pytest.mark.parametrize(("attempt", "base", "cap"), [(-1, 5, 300), (0, 0, 300), (0, 5, 0)])
def test_backoff_refuses_nonsense(attempt: int, base: float, cap: float) -> None:
    with pytest.raises(ValueError, match="attempt >= 0"):
        backoff_seconds(attempt, base=base, cap=cap)


# --- no leaks ------------------------------------------------------------------------------------------------


def test_the_repr_of_a_synced_secret_shows_keys_and_hash_but_no_value() -> None:
    synced = sync_secret(make_spec(), "orders", make_reader(), allowed_mounts=None, hash_key=KEY)

    for text in (repr(synced), str(synced), f"{synced!r}"):
        assert not any(value in text for value in SECRET_VALUES)
        assert "DB_PASSWORD" in text
        assert synced.hash in text


def test_no_refusal_message_contains_a_value() -> None:
    failures: list[VaultError] = []
    reader = make_reader()
    reader.secrets["secret", "orders/api"] = {"other": API_KEY}
    for spec, allowed in [
        (make_spec(), None),
        (make_spec(), frozenset({"kv"})),
        (make_spec(paths=[{"path": "a/../b", "keys": {"k": "K"}}]), None),
        (make_spec(paths=[{"path": "orders/db", "keys": {"password": "bad key", "user": "U"}}]), None),
    ]:
        with pytest.raises(VaultError) as caught:
            sync_secret(spec, "orders", reader, allowed_mounts=allowed, hash_key=KEY)
        failures.append(caught.value)

    assert len(failures) == 4
    for failure in failures:
        assert not any(value in f"{failure} {failure!r} {failure.args}" for value in SECRET_VALUES)
