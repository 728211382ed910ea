"""The key ring from settings: configured keys, a derived key outside production, refusal in production."""

from __future__ import annotations

import base64

import pytest

from apibase.core.settings import DEVELOPMENT_SECRET_KEY, Environment, Settings
from apibase.infrastructure.crypto.key_ring_from_settings import (
    DERIVED_KID,
    KEYS_VARIABLE,
    derived_key,
    development_encryptor,
    encryptor_from_settings,
    key_ring_from_settings,
)

pytestmark = pytest.mark.unit

SECRET = "a-production-secret-that-is-long-enough"
K1 = base64.b64encode(bytes(range(32))).decode()
K2 = base64.urlsafe_b64encode(bytes(range(100, 132))).decode().rstrip("=")


def settings(**overrides: object) -> Settings:
    return Settings(**overrides)  # type: ignore[arg-type]


@pytest.mark.parametrize("environment", [Environment.DEVELOPMENT, Environment.TEST, Environment.STAGING])
def test_without_keys_outside_production_a_key_is_derived_from_the_secret(environment: Environment) -> None:
    ring = key_ring_from_settings(settings(environment=environment, security={"secret_key": SECRET}))

    assert (ring.kids, ring.primary_kid) == ((DERIVED_KID,), DERIVED_KID)


def test_the_derived_key_is_stable_so_data_survives_restarts_and_differs_per_secret() -> None:
    first = encryptor_from_settings(settings(security={"secret_key": SECRET}))
    token = first.encrypt("12 Main St", field="f", record_id="r")

    again = encryptor_from_settings(settings(security={"secret_key": SECRET}))
    assert again.decrypt(token, field="f", record_id="r") == "12 Main St"
    assert derived_key(SECRET).secret != derived_key(SECRET + "x").secret
    assert derived_key(SECRET).secret != SECRET.encode()[:32]


def test_the_development_encryptor_uses_the_default_secret() -> None:
    token = development_encryptor().encrypt("x", field="f", record_id="r")

    assert encryptor_from_settings(settings()).decrypt(token, field="f", record_id="r") == "x"
    assert development_encryptor() is development_encryptor()
    assert development_encryptor().ring.kids == (derived_key(DEVELOPMENT_SECRET_KEY).kid,)


def test_production_without_keys_refuses_to_start() -> None:
    with pytest.raises(ValueError, match=KEYS_VARIABLE):
        key_ring_from_settings(settings(environment=Environment.PRODUCTION, security={"secret_key": SECRET}))


def test_configured_keys_with_a_primary() -> None:
    ring = key_ring_from_settings(
        settings(
            environment=Environment.PRODUCTION,
            security={"secret_key": SECRET},
            encryption={"keys": {"k1": K1, "k2": K2}, "primary": "k1"},
        )
    )

    assert (ring.kids, ring.primary_kid) == (("k1", "k2"), "k1")


def test_one_configured_key_needs_no_primary() -> None:
    ring = key_ring_from_settings(settings(encryption={"keys": {"k1": K1}}))

    assert (ring.kids, ring.primary_kid) == (("k1",), "k1")


@pytest.mark.parametrize(
    ("encryption", "message"),
    [
        ({"keys": {"k1": K1, "k2": K2}}, "set APIBASE_ENCRYPTION__PRIMARY"),
        ({"keys": {"k1": K1}, "primary": "k9"}, "APIBASE_ENCRYPTION__PRIMARY is 'k9'"),
        ({"primary": "k1"}, "APIBASE_ENCRYPTION__KEYS is empty"),
        ({"keys": {"k1": "not base64!"}}, "APIBASE_ENCRYPTION__KEYS: key 'k1'"),
        ({"keys": {"k1": base64.b64encode(bytes(16)).decode()}}, "must be 32 bytes"),
        ({"keys": {"bad kid": K1}}, "APIBASE_ENCRYPTION__KEYS: a key id"),
    ],
)
def test_misconfigured_keys_are_refused_naming_the_variable(encryption: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message) as raised:
        key_ring_from_settings(settings(encryption=encryption))

    assert K1 not in str(raised.value)
