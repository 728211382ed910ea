"""The Vault sync against a real OpenBao dev server: token auth, rotation, refusals, outages and Kubernetes auth.

Each test writes under its own KV path, so they share one server (the session ``openbao`` fixture) safely;
the outage tests start their own server to seal and stop it.
"""

from __future__ import annotations

import base64
import contextlib
import socket
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Protocol

import hvac
import pytest

from apibase_operator.crd.models import SecretKeyRef, Vault, VaultAuth
from apibase_operator.vault import (
    HvacVaultReader,
    VaultAccessDenied,
    VaultKeyMissing,
    VaultPathNotFound,
    VaultUnavailable,
    hash_secret_data,
    secret_drifted,
    sync_secret,
)

pytestmark = pytest.mark.integration


class OpenBao(Protocol):
    """What the conftest's ``openbao`` fixture yields."""

    address: str
    root_token: str


TOKEN_AUTH = VaultAuth.model_validate({"tokenSecret": {"name": "vault-token", "key": "token"}})
DB_PASSWORD = "s3cr3t-db-password"
HASH_KEY = b"openbao-tests-hash-key-32-bytes!"


@dataclass
class StaticCredentials:
    """The Kubernetes side of a login, fixed: a token Secret's value (or a function of its ref) and a JWT."""

    token: str | Callable[[SecretKeyRef], str] = ""
    jwt: str = ""

    def vault_token(self, ref: SecretKeyRef) -> str:
        return self.token(ref) if callable(self.token) else self.token

    def service_account_jwt(self) -> str:
        return self.jwt


#: A throwaway self-signed CA certificate (its key was discarded). OpenBao's Kubernetes auth needs one to accept
#: its configuration outside a pod; nothing ever connects to the Kubernetes host it is paired with.
TEST_CA_PEM = """-----BEGIN CERTIFICATE-----
MIIBeTCCAR+gAwIBAgIUXZ4xYJ20bMCDRzTFIOXW2Jmzl/wwCgYIKoZIzj0EAwIw
EjEQMA4GA1UEAwwHdGVzdC1jYTAeFw0yNjExMjYwNDIyMjZaFw0zNjExMjMwNDIy
MjZaMBIxEDAOBgNVBAMMB3Rlc3QtY2EwWTATBgcqhkjOPQIBBggqhkjOPQMBBwNC
AAREw3M/M4oOZMQGxh7DS+8SgEIvJQrkxOWIhaCg0XP1SMh1FOifCynaFdYfahIu
H4ZEt/jORQ+FHuegp4Ymahu4o1MwUTAdBgNVHQ4EFgQU98a9EjXrEebL7JGBWxqk
taUTUIwwHwYDVR0jBBgwFoAU98a9EjXrEebL7JGBWxqktaUTUIwwDwYDVR0TAQH/
BAUwAwEB/zAKBggqhkjOPQQDAgNIADBFAiB8utEO1rwqKBoa9MIXb4c5vzAgIB//
pkRfdFPzOif7aQIhANJ7uGXgc+Z8MpvDzw1KGMGRRMZs+tx3TsvIfMf6I/Zs
-----END CERTIFICATE-----
"""


@pytest.fixture
def root(openbao: OpenBao) -> Iterator[hvac.Client]:
    client = hvac.Client(url=openbao.address, token=openbao.root_token)
    yield client
    client.adapter.close()


@pytest.fixture
def base_path() -> str:
    """A KV path of this test's own."""
    return f"orders-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def make_reader() -> Iterator[Callable[..., HvacVaultReader]]:
    readers: list[HvacVaultReader] = []

    def make(
        address: str, token: str | Callable[[SecretKeyRef], str], jwt: str = "", **kwargs: object
    ) -> HvacVaultReader:
        kwargs.setdefault("auth", TOKEN_AUTH)
        reader = HvacVaultReader(address, credentials=StaticCredentials(token, jwt), **kwargs)
        readers.append(reader)
        return reader

    yield make
    for reader in readers:
        reader.close()


def spec_for(address: str, base_path: str) -> Vault:
    return Vault.model_validate(
        {
            "address": address,
            "auth": {"tokenSecret": {"name": "vault-token", "key": "token"}},
            "paths": [
                {"path": f"{base_path}/db", "keys": {"password": "DB_PASSWORD", "user": "DB_USER"}},
                {"path": f"{base_path}/config", "keys": {"port": "DB_PORT"}},
            ],
        }
    )


def write(root: hvac.Client, path: str, secret: dict[str, object]) -> None:
    root.secrets.kv.v2.create_or_update_secret(path=path, secret=secret, mount_point="secret")


def as_api_secret(data: dict[str, bytes]) -> dict[str, object]:
    return {"data": {key: base64.b64encode(value).decode() for key, value in data.items()}}


# --- token auth: the happy path and rotation ---------------------------------------------------------------------


def test_sync_with_token_auth_maps_values_and_hashes_them(
    openbao: OpenBao, root: hvac.Client, base_path: str, make_reader
) -> None:
    write(root, f"{base_path}/db", {"password": DB_PASSWORD, "user": "orders"})
    write(root, f"{base_path}/config", {"port": 5432})
    reader = make_reader(openbao.address, openbao.root_token)

    synced = sync_secret(
        spec_for(openbao.address, base_path), "orders", reader, allowed_mounts=frozenset({"secret"}), hash_key=HASH_KEY
    )

    expected = {"DB_PASSWORD": DB_PASSWORD.encode(), "DB_USER": b"orders", "DB_PORT": b"5432"}
    assert synced.name == "orders-vault"
    assert dict(synced.data) == expected
    assert synced.hash == hash_secret_data(expected, HASH_KEY)
    assert DB_PASSWORD not in repr(synced)
    assert not secret_drifted(synced.hash, as_api_secret(expected), HASH_KEY)


def test_rotating_a_value_changes_the_hash_and_the_old_secret_drifts(
    openbao: OpenBao, root: hvac.Client, base_path: str, make_reader
) -> None:
    write(root, f"{base_path}/db", {"password": DB_PASSWORD, "user": "orders"})
    write(root, f"{base_path}/config", {"port": "5432"})
    reader = make_reader(openbao.address, openbao.root_token)
    spec = spec_for(openbao.address, base_path)
    before = sync_secret(spec, "orders", reader, allowed_mounts=None, hash_key=HASH_KEY)
    unchanged = sync_secret(spec, "orders", reader, allowed_mounts=None, hash_key=HASH_KEY)

    write(root, f"{base_path}/db", {"password": "rotated-password", "user": "orders"})
    after = sync_secret(spec, "orders", reader, allowed_mounts=None, hash_key=HASH_KEY)

    assert unchanged.hash == before.hash
    assert after.hash != before.hash
    assert after.data["DB_PASSWORD"] == b"rotated-password"
    assert secret_drifted(after.hash, as_api_secret(dict(before.data)), HASH_KEY)


def test_a_key_deleted_in_vault_is_a_missing_key(
    openbao: OpenBao, root: hvac.Client, base_path: str, make_reader
) -> None:
    write(root, f"{base_path}/db", {"password": DB_PASSWORD, "user": "orders"})
    write(root, f"{base_path}/config", {"port": "5432"})
    reader = make_reader(openbao.address, openbao.root_token)
    spec = spec_for(openbao.address, base_path)
    sync_secret(spec, "orders", reader, allowed_mounts=None, hash_key=HASH_KEY)

    write(root, f"{base_path}/db", {"user": "orders"})  # a new version without the password

    with pytest.raises(VaultKeyMissing, match=f"key 'password' is missing at secret/{base_path}/db"):
        sync_secret(spec, "orders", reader, allowed_mounts=None, hash_key=HASH_KEY)


def test_a_missing_path_a_deleted_version_and_a_missing_mount_are_not_found(
    openbao: OpenBao, root: hvac.Client, base_path: str, make_reader
) -> None:
    reader = make_reader(openbao.address, openbao.root_token)
    with pytest.raises(VaultPathNotFound, match=f"reading secret/{base_path}/nothing"):
        reader.read("secret", f"{base_path}/nothing")

    write(root, f"{base_path}/db", {"password": DB_PASSWORD})
    root.secrets.kv.v2.delete_latest_version_of_secret(path=f"{base_path}/db", mount_point="secret")
    with pytest.raises(VaultPathNotFound) as deleted:
        reader.read("secret", f"{base_path}/db")
    assert DB_PASSWORD not in str(deleted.value)

    with pytest.raises(VaultPathNotFound, match="reading no-such-mount/x"):
        reader.read("no-such-mount", "x")


# --- access ------------------------------------------------------------------------------------------------------


def test_a_token_without_a_policy_for_the_path_is_access_denied(
    openbao: OpenBao, root: hvac.Client, base_path: str, make_reader
) -> None:
    write(root, f"{base_path}/db", {"password": DB_PASSWORD})
    weak = root.auth.token.create(policies=["default"], ttl="5m")["auth"]["client_token"]

    with pytest.raises(VaultAccessDenied, match="permission denied") as caught:
        make_reader(openbao.address, weak).read("secret", f"{base_path}/db")

    assert weak not in f"{caught.value} {caught.value!r}"
    assert openbao.root_token not in str(caught.value)


def test_a_revoked_token_is_replaced_by_the_one_now_in_the_secret(
    openbao: OpenBao, root: hvac.Client, base_path: str, make_reader
) -> None:
    """The Secret was rotated (old token revoked): one denied read, one fresh token, one retry."""
    write(root, f"{base_path}/db", {"password": DB_PASSWORD})
    policy = f'path "secret/data/{base_path}/*" {{ capabilities = ["read"] }}'
    root.sys.create_or_update_policy(name=base_path, policy=policy)
    tokens = [root.auth.token.create(policies=[base_path], ttl="5m")["auth"]["client_token"] for _ in range(2)]
    in_secret = [tokens[0]]
    reader = make_reader(openbao.address, lambda _: in_secret[0])
    assert reader.read("secret", f"{base_path}/db") == {"password": DB_PASSWORD}

    root.auth.token.revoke(tokens[0])
    in_secret[0] = tokens[1]

    assert reader.read("secret", f"{base_path}/db") == {"password": DB_PASSWORD}


# --- Kubernetes auth ---------------------------------------------------------------------------------------------


@pytest.fixture
def kubernetes_mount(root: hvac.Client, base_path: str) -> Iterator[str]:
    """The kubernetes auth method at a mount of this test's own, configured as far as possible without a cluster."""
    mount = f"k8s-{base_path}"
    root.sys.enable_auth_method("kubernetes", path=mount)
    yield mount
    root.sys.disable_auth_method(path=mount)


def test_kubernetes_login_with_a_bogus_jwt_is_access_denied(
    openbao: OpenBao, root: hvac.Client, kubernetes_mount: str, make_reader
) -> None:
    """OpenBao answers 403 "permission denied" when the JWT does not verify, before asking any API server.

    A JWT that does not even parse is refused before any TokenReview; the refusal must be clean. (The full
    login as a workload, with a TokenReview answered, is in test_vault_workload_identity.py.)
    """
    root.auth.kubernetes.configure(
        kubernetes_host="https://127.0.0.1:1",  # never contacted: the JWT fails before any TokenReview
        kubernetes_ca_cert=TEST_CA_PEM,
        disable_local_ca_jwt=True,
        mount_point=kubernetes_mount,
    )
    root.auth.kubernetes.create_role(
        "orders",
        bound_service_account_names=["orders"],
        bound_service_account_namespaces=["shop"],
        policies=["default"],
        mount_point=kubernetes_mount,
    )
    jwt = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzeXN0ZW06c2VydmljZWFjY291bnQ6c2hvcDpvcmRlcnMifQ.Ym9ndXM"
    auth = VaultAuth.model_validate({"kubernetes": {"role": "orders", "mountPath": kubernetes_mount}})
    reader = make_reader(openbao.address, "unused", jwt=jwt, auth=auth)

    with pytest.raises(VaultAccessDenied, match="permission denied") as caught:
        reader.read("secret", "anything")

    assert f"Kubernetes login (role 'orders', auth mount '{kubernetes_mount}')" in str(caught.value)
    assert jwt not in f"{caught.value} {caught.value!r}"


def test_kubernetes_login_with_an_unknown_role_is_access_denied(
    openbao: OpenBao, kubernetes_mount: str, make_reader
) -> None:
    """OpenBao answers 400 "invalid role name" (even before the method is configured): we call that denied."""
    auth = VaultAuth.model_validate({"kubernetes": {"role": "nobody", "mountPath": kubernetes_mount}})
    reader = make_reader(openbao.address, "unused", jwt="bogus.jwt.sig", auth=auth)

    with pytest.raises(VaultAccessDenied, match="check the role and the auth mount"):
        reader.read("secret", "anything")


# --- outages -----------------------------------------------------------------------------------------------------


def test_a_closed_port_is_unavailable_at_once(unused_port: int, make_reader) -> None:
    address = f"http://127.0.0.1:{unused_port}"
    reader = make_reader(address, "any-token", timeout=1)
    started = time.monotonic()

    with pytest.raises(VaultUnavailable, match=r"cannot connect to http://127\.0\.0\.1"):
        reader.read("secret", "orders/db")

    assert time.monotonic() - started < 2


def test_a_server_that_never_answers_is_unavailable_after_the_timeout(make_reader) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()  # the kernel accepts the connection; nobody ever reads or answers
        reader = make_reader(f"http://127.0.0.1:{silent.getsockname()[1]}", "any-token", timeout=0.3)
        started = time.monotonic()

        with pytest.raises(VaultUnavailable, match="timed out"):
            reader.read("secret", "orders/db")

        assert time.monotonic() - started < 3


def test_a_sealed_then_stopped_server_is_unavailable(
    openbao_factory: Callable[[], contextlib.AbstractContextManager[OpenBao]], base_path: str, make_reader
) -> None:
    with openbao_factory() as server:
        own_root = hvac.Client(url=server.address, token=server.root_token)
        try:
            write(own_root, f"{base_path}/db", {"password": DB_PASSWORD})
            reader = make_reader(server.address, server.root_token, timeout=1)
            assert reader.read("secret", f"{base_path}/db") == {"password": DB_PASSWORD}

            own_root.sys.seal()
            with pytest.raises(VaultUnavailable, match="sealed"):
                reader.read("secret", f"{base_path}/db")
        finally:
            own_root.adapter.close()

    started = time.monotonic()
    with pytest.raises(VaultUnavailable, match="cannot connect"):
        reader.read("secret", f"{base_path}/db")
    assert time.monotonic() - started < 2
