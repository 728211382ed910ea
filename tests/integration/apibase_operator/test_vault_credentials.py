"""The operator's real wiring against kmock (the cluster) and a real OpenBao: whose credentials reach Vault.

- ``auth.tokenSecret``: the Secret is read in the ApiBase's namespace; a missing Secret or key is
  ``SecretsSynced=False`` (``VaultTokenMissing``) on an ApiBase that still gets its Deployment and a status.
- ``auth.kubernetes``: the operator requests a token of the ApiBase's own ServiceAccount (TokenRequest) and logs
  in with it. OpenBao's kubernetes auth method is configured with kmock as its Kubernetes host, and kmock
  answers its TokenReview for the tokens it issued, as an API server would: so a Vault role bound to one
  namespace's ServiceAccount refuses every other namespace's ApiBase.
"""

from __future__ import annotations

import base64
import logging
import re
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field

import hvac
import jwt
import kmock
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from kubernetes.client import ApiClient, Configuration

from apibase_operator.kube.client import KubeClient
from apibase_operator.kube.kinds import kind_of
from apibase_operator.runtime import OperatorConfig, Reconciler
from apibase_operator.vault.credentials import TOKEN_EXPIRATION_SECONDS
from apibase_operator.wiring import reconciler_for
from tests.integration.apibase_operator.conftest import OpenBao
from tests.integration.apibase_operator.test_vault_openbao import TEST_CA_PEM

pytestmark = pytest.mark.integration

HASH_KEY = b"credentials-tests-hash-key-32by!"
DB_PASSWORD = "s3cr3t-shop-password"
OPERATOR_TOKEN = "kmock-operator-token"
DEPLOYMENT = kind_of({"apiVersion": "apps/v1", "kind": "Deployment"})
SECRET = kind_of({"apiVersion": "v1", "kind": "Secret"})
TOKEN_REQUEST = re.compile(r"^/api/v1/namespaces/([^/]+)/serviceaccounts/([^/]+)/token$")
KINDS = {
    "apibase.dev/v1alpha1/apibases": ("ApiBase", ["status"]),
    "apps/v1/deployments": ("Deployment", []),
    "v1/services": ("Service", []),
    "v1/secrets": ("Secret", []),
    "v1/serviceaccounts": ("ServiceAccount", []),
    "v1/events": ("Event", []),
    "policy/v1/poddisruptionbudgets": ("PodDisruptionBudget", []),
}


@dataclass
class FakeTokenIssuer:
    """The API server's side of ServiceAccount tokens: TokenRequest issues signed JWTs, TokenReview checks them."""

    emulator: kmock.KubernetesEmulator
    key: ec.EllipticCurvePrivateKey = field(default_factory=lambda: ec.generate_private_key(ec.SECP256R1()))
    issued: dict[str, tuple[str, str, list[str]]] = field(default_factory=dict)
    requests: list[tuple[str, str, dict[str, object]]] = field(default_factory=list)
    reviews: list[dict[str, object]] = field(default_factory=list)

    def token_request(self, request: kmock.Request) -> object:
        namespace, account = TOKEN_REQUEST.fullmatch(request.url.path).groups()  # type: ignore[union-attr]
        self.requests.append((namespace, account, request.data))
        try:
            self.emulator.objects["v1/serviceaccounts", namespace, account]
        except KeyError:  # (``in`` does not parse the resource string)
            return kmock.Response(status=404, payload={"kind": "Status", "code": 404})
        spec = request.data["spec"]
        audiences, now = list(spec["audiences"]), int(time.time())
        claims = {
            "iss": "https://kubernetes.default.svc",
            "sub": f"system:serviceaccount:{namespace}:{account}",
            "aud": audiences,
            "iat": now,
            "nbf": now,
            "exp": now + int(spec["expirationSeconds"]),
            "kubernetes.io": {"namespace": namespace, "serviceaccount": {"name": account, "uid": f"uid-{account}"}},
        }
        token = jwt.encode(claims, self.key, algorithm="ES256")
        self.issued[token] = (namespace, account, audiences)
        return {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "status": {"token": token}}

    def token_review(self, request: kmock.Request) -> object:
        spec = request.data["spec"]
        self.reviews.append(spec)
        known = self.issued.get(spec["token"])
        wanted = spec.get("audiences") or []
        if known is None or (wanted and not set(wanted) & set(known[2])):
            return {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview", "status": {"authenticated": False}}
        namespace, account, audiences = known
        user = {"username": f"system:serviceaccount:{namespace}:{account}", "uid": f"uid-{account}", "groups": []}
        status = {"authenticated": True, "user": user, "audiences": wanted or audiences}
        return {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview", "status": status}


@dataclass
class Cluster:
    emulator: kmock.KubernetesEmulator
    kube: KubeClient
    api: ApiClient
    issuer: FakeTokenIssuer

    def reconciler(self, openbao: OpenBao, **config: object) -> Reconciler:
        policy = OperatorConfig(vault_addresses=frozenset({openbao.address}), **config)  # type: ignore[arg-type]
        return reconciler_for(self.api, policy, HASH_KEY)

    def put(self, namespace: str, name: str, vault: dict[str, object], generation: int = 1) -> None:
        self.emulator.objects["apibase.dev/v1alpha1/apibases", namespace, name] = {
            "apiVersion": "apibase.dev/v1alpha1",
            "kind": "ApiBase",
            "metadata": {"name": name, "namespace": namespace, "uid": f"uid-{name}", "generation": generation},
            "spec": {"image": "ghcr.io/acme/orders:1.4.2", "vault": vault},
        }

    def put_secret(self, namespace: str, name: str, data: dict[str, str]) -> None:
        self.emulator.objects["v1/secrets", namespace, name] = {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": name, "namespace": namespace},
            "data": {key: base64.b64encode(value.encode()).decode() for key, value in data.items()},
        }

    async def reconcile(self, reconciler: Reconciler, namespace: str, name: str) -> dict[str, object]:
        body = await self.kube.get_apibase(namespace, name)
        assert body is not None
        await reconciler.reconcile(body)
        found = await self.kube.get_apibase(namespace, name)
        assert found is not None
        return found


def condition(body: dict[str, object], type_: str) -> tuple[str, str, str]:
    conditions = body["status"]["conditions"]  # type: ignore[index]
    found = next(c for c in conditions if c["type"] == type_)  # type: ignore[union-attr]
    return found["status"], found["reason"], found["message"]


@pytest.fixture
async def cluster(kmock: kmock.KubernetesEmulator) -> AsyncIterator[Cluster]:
    for resource, (kind, subresources) in KINDS.items():
        kmock.resources[resource] = {"kind": kind, "namespaced": True, "subresources": subresources}
    issuer = FakeTokenIssuer(kmock)
    kmock["post", TOKEN_REQUEST] << issuer.token_request
    kmock["post", "/apis/authentication.k8s.io/v1/tokenreviews"] << issuer.token_review
    configuration = Configuration(host=str(kmock.url).rstrip("/"))
    configuration.api_key["authorization"] = f"Bearer {OPERATOR_TOKEN}"
    api = ApiClient(configuration)
    yield Cluster(kmock, KubeClient(api), api, issuer)
    api.close()


@pytest.fixture
def root(openbao: OpenBao) -> Iterator[hvac.Client]:
    client = hvac.Client(url=openbao.address, token=openbao.root_token)
    yield client
    client.adapter.close()


@pytest.fixture
def base() -> str:
    return f"creds-{uuid.uuid4().hex[:8]}"


# --- auth.tokenSecret: in the ApiBase's namespace ---------------------------------------------------------------


def token_vault(openbao: OpenBao, base: str) -> dict[str, object]:
    return {
        "address": openbao.address,
        "auth": {"tokenSecret": {"name": "vault-token", "key": "token"}},
        "paths": [{"path": f"{base}/db", "keys": {"password": "DB_PASSWORD"}}],
    }


@pytest.mark.parametrize(
    ("namespace", "data", "message"),
    [
        (None, {}, "cannot read Secret shop/vault-token for the Vault token: not found"),
        ("apibase-system", {"token": "ROOT"}, "cannot read Secret shop/vault-token for the Vault token: not found"),
        ("shop", {"vault-token": "ROOT"}, "Secret shop/vault-token has no key 'token' for the Vault token"),
    ],
    ids=["missing", "in-the-operator-namespace", "wrong-key"],
)
async def test_a_token_secret_that_is_not_where_the_spec_says_is_a_condition_not_a_stall(
    cluster: Cluster,
    openbao: OpenBao,
    root: hvac.Client,
    base: str,
    caplog: pytest.LogCaptureFixture,
    namespace: str | None,
    data: dict[str, str],
    message: str,
) -> None:
    root.secrets.kv.v2.create_or_update_secret(path=f"{base}/db", secret={"password": DB_PASSWORD})
    if namespace is not None:
        cluster.put_secret(namespace, "vault-token", data)
    cluster.put("shop", "orders", token_vault(openbao, base))

    with caplog.at_level(logging.WARNING, logger="apibase_operator.runtime"):
        body = await cluster.reconcile(cluster.reconciler(openbao), "shop", "orders")

    assert condition(body, "SecretsSynced") == ("False", "VaultTokenMissing", message)
    assert await cluster.kube.get(DEPLOYMENT, "shop", "orders") is not None  # the rest does not wait for Vault
    assert await cluster.kube.get(SECRET, "shop", "orders-vault") is None
    assert f"ApiBase shop/orders: secrets not synced (VaultTokenMissing): {message}" in caplog.text


async def test_a_token_secret_in_the_apibase_namespace_is_used(
    cluster: Cluster, openbao: OpenBao, root: hvac.Client, base: str
) -> None:
    root.secrets.kv.v2.create_or_update_secret(path=f"{base}/db", secret={"password": DB_PASSWORD})
    cluster.put_secret("shop", "vault-token", {"token": openbao.root_token})
    cluster.put("shop", "orders", token_vault(openbao, base))

    body = await cluster.reconcile(cluster.reconciler(openbao), "shop", "orders")

    assert condition(body, "SecretsSynced")[:2] == ("True", "Synced")
    secret = await cluster.kube.get(SECRET, "shop", "orders-vault")
    assert secret is not None
    assert base64.b64decode(secret["data"]["DB_PASSWORD"]).decode() == DB_PASSWORD  # type: ignore[index]
    assert body["status"]["secretHash"].startswith("hmac-sha256:")  # type: ignore[index]


# --- auth.kubernetes: as the workload ---------------------------------------------------------------------------


@pytest.fixture
def kubernetes_auth(cluster: Cluster, root: hvac.Client, base: str) -> Iterator[str]:
    """OpenBao's kubernetes auth at a mount of this test's own, reviewing tokens with kmock; two teams' roles."""
    mount = f"k8s-{base}"
    root.sys.enable_auth_method("kubernetes", path=mount)
    root.auth.kubernetes.configure(
        kubernetes_host=str(cluster.emulator.url).rstrip("/"),
        kubernetes_ca_cert=TEST_CA_PEM,  # required by OpenBao; kmock speaks plain HTTP
        disable_local_ca_jwt=True,  # the reviewer JWT is the client's own: no operator credential involved
        mount_point=mount,
    )
    for team, account in (("shop", "orders"), ("dev", "app")):
        policy = f'path "secret/data/{base}/{team}/*" {{ capabilities = ["read"] }}'
        root.sys.create_or_update_policy(name=f"{base}-{team}", policy=policy)
        root.auth.kubernetes.create_role(
            f"{team}-{account}",
            bound_service_account_names=[account],
            bound_service_account_namespaces=[team],
            audience="vault",
            policies=[f"{base}-{team}"],
            mount_point=mount,
        )
    root.secrets.kv.v2.create_or_update_secret(path=f"{base}/shop/db", secret={"password": DB_PASSWORD})
    yield mount
    root.sys.disable_auth_method(path=mount)


def kubernetes_vault(openbao: OpenBao, mount: str, role: str, path: str) -> dict[str, object]:
    return {
        "address": openbao.address,
        "auth": {"kubernetes": {"role": role, "mountPath": mount}},
        "paths": [{"path": path, "keys": {"password": "DB_PASSWORD"}}],
    }


async def test_the_workload_logs_in_as_its_own_service_account_and_gets_its_secret(
    cluster: Cluster, openbao: OpenBao, kubernetes_auth: str, base: str
) -> None:
    cluster.put("shop", "orders", kubernetes_vault(openbao, kubernetes_auth, "shop-orders", f"{base}/shop/db"))

    body = await cluster.reconcile(cluster.reconciler(openbao), "shop", "orders")

    assert condition(body, "SecretsSynced")[:2] == ("True", "Synced")
    secret = await cluster.kube.get(SECRET, "shop", "orders-vault")
    assert secret is not None
    assert base64.b64decode(secret["data"]["DB_PASSWORD"]).decode() == DB_PASSWORD  # type: ignore[index]
    # One TokenRequest, for the ServiceAccount the operator created first, with the audience and a short life.
    assert await cluster.kube.get(kind_of({"apiVersion": "v1", "kind": "ServiceAccount"}), "shop", "orders")
    assert [(ns, account, data["spec"]) for ns, account, data in cluster.issuer.requests] == [
        ("shop", "orders", {"audiences": ["vault"], "expirationSeconds": TOKEN_EXPIRATION_SECONDS})
    ]
    # OpenBao reviewed exactly that token, for its audience: the operator's own credential never reached it.
    (review,) = cluster.issuer.reviews
    assert cluster.issuer.issued[review["token"]] == ("shop", "orders", ["vault"])  # type: ignore[index]
    assert review["audiences"] == ["vault"]
    assert OPERATOR_TOKEN not in str(cluster.issuer.reviews)


async def test_another_namespace_cannot_borrow_a_role_or_read_a_path_of_another_team(
    cluster: Cluster, openbao: OpenBao, kubernetes_auth: str, base: str
) -> None:
    reconciler = cluster.reconciler(openbao)
    # Team dev names team shop's role: OpenBao refuses the login of dev's ServiceAccount.
    cluster.put("dev", "app", kubernetes_vault(openbao, kubernetes_auth, "shop-orders", f"{base}/shop/db"))
    body = await cluster.reconcile(reconciler, "dev", "app")
    status, reason, message = condition(body, "SecretsSynced")
    assert (status, reason) == ("False", "VaultAccessDenied")
    assert "Kubernetes login (role 'shop-orders'" in message
    assert await cluster.kube.get(SECRET, "dev", "app-vault") is None

    # Team dev logs in with its own role and names team shop's path: its policy refuses the read.
    cluster.put("dev", "app", kubernetes_vault(openbao, kubernetes_auth, "dev-app", f"{base}/shop/db"), generation=2)
    body = await cluster.reconcile(reconciler, "dev", "app")
    assert condition(body, "SecretsSynced") == (
        "False",
        "VaultAccessDenied",
        f"reading secret/{base}/shop/db at {openbao.address}: permission denied",
    )
    assert await cluster.kube.get(SECRET, "dev", "app-vault") is None
    assert {(ns, account) for ns, account, _ in cluster.issuer.requests} == {("dev", "app")}
    assert await cluster.kube.get(DEPLOYMENT, "dev", "app") is not None


async def test_a_token_for_another_audience_is_refused(
    cluster: Cluster, openbao: OpenBao, kubernetes_auth: str, base: str
) -> None:
    cluster.put("shop", "orders", kubernetes_vault(openbao, kubernetes_auth, "shop-orders", f"{base}/shop/db"))

    body = await cluster.reconcile(cluster.reconciler(openbao, vault_audience="not-vault"), "shop", "orders")

    assert condition(body, "SecretsSynced")[:2] == ("False", "VaultAccessDenied")
    assert cluster.issuer.requests[0][2]["spec"]["audiences"] == ["not-vault"]  # type: ignore[index]
    assert await cluster.kube.get(SECRET, "shop", "orders-vault") is None


async def test_a_service_account_token_that_cannot_be_requested_is_a_missing_token(
    cluster: Cluster, openbao: OpenBao, kubernetes_auth: str, base: str
) -> None:
    """spec.serviceAccountName names an account nobody created: the TokenRequest is answered 404."""
    cluster.put("shop", "orders", kubernetes_vault(openbao, kubernetes_auth, "shop-orders", f"{base}/shop/db"))
    body = cluster.emulator.objects["apibase.dev/v1alpha1/apibases", "shop", "orders"]
    body.patch({"spec": {"serviceAccountName": "ghost"}})

    found = await cluster.reconcile(cluster.reconciler(openbao), "shop", "orders")

    assert condition(found, "SecretsSynced") == (
        "False",
        "VaultTokenMissing",
        "cannot request a token for ServiceAccount shop/ghost: not found",
    )
    assert cluster.issuer.reviews == []  # nothing was sent to Vault
