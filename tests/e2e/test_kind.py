"""The kind end-to-end flow of ``scripts/e2e-kind.sh``, step by step, driving kind, docker, helm and kubectl.

Each test is one step and they run in file order against one cluster (module-scoped fixtures): the operator is
installed from ``charts/apibase-operator`` -> the minimal sample becomes Ready -> the service answers
``/health/ready`` and a product CRUD round trip through a port-forward -> [Istio/Dapr sidecars and objects] ->
[Dapr: an order placed reaches the catalog's sales counter through daprd] ->
a canary's ``.status.canaryWeight`` moves step by step until it is promoted -> [a Vault secret is rotated] ->
deleting the ApiBase removes every owned object. The cluster is deleted at the end unless it existed before.

Without kind, kubectl, helm (on PATH or from ``scripts/install-helm.sh``) or a running Docker daemon every test is
skipped, with the missing pieces as reason. The operator chart needs Kubernetes 1.31+ (kind v0.24+, or
KIND_NODE_IMAGE).

Environment:
    APIBASE_E2E_CLUSTER       kind cluster name (default apibase-e2e-pytest); an existing one is reused, not deleted
    APIBASE_E2E_KEEP_CLUSTER  1: do not delete the cluster afterwards
    APIBASE_E2E_SKIP_BUILD    1: use already built apibase-service:TAG and apibase-operator:TAG
    APIBASE_E2E_TAG           image tag (default e2e)
    APIBASE_E2E_TIMEOUT       seconds for each wait (default 300)
    APIBASE_E2E_WITH_ISTIO / APIBASE_E2E_WITH_DAPR / APIBASE_E2E_WITH_VAULT   1: include that part
    APIBASE_E2E_CHART         the operator chart (default charts/apibase-operator; a directory or a packaged .tgz)
    APIBASE_E2E_HELM_ARGS     extra arguments for `helm install` of the operator chart (shell-quoted)
    KIND_NODE_IMAGE, OPENBAO_IMAGE
"""

from __future__ import annotations

import base64
import json
import os
import shlex
import shutil
import socket
import subprocess
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
CHART = Path(os.environ.get("APIBASE_E2E_CHART") or ROOT / "charts" / "apibase-operator")
CRD = ROOT / "operator" / "apibase_operator" / "crd" / "apibase.dev_apibases.yaml"
SAMPLE = ROOT / "manifests" / "samples" / "apibase-minimal.yaml"


#: Tools are looked up on PATH, after .cache/tools/bin (where scripts/install-helm.sh puts helm).
TOOL_PATH = os.pathsep.join([str(ROOT / ".cache" / "tools" / "bin"), os.environ.get("PATH", os.defpath)])


def _flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in {"1", "true", "yes", "on"}


CLUSTER_NAME = os.environ.get("APIBASE_E2E_CLUSTER", "apibase-e2e-pytest")
TAG = os.environ.get("APIBASE_E2E_TAG", "e2e")
TIMEOUT = float(os.environ.get("APIBASE_E2E_TIMEOUT", "300"))
WITH_ISTIO = _flag("APIBASE_E2E_WITH_ISTIO")
WITH_DAPR = _flag("APIBASE_E2E_WITH_DAPR")
WITH_VAULT = _flag("APIBASE_E2E_WITH_VAULT")
SERVICE_IMAGE = f"apibase-service:{TAG}"
CANARY_IMAGE = f"apibase-service:{TAG}-canary"
OPERATOR_IMAGE = f"apibase-operator:{TAG}"
OPERATOR_NAMESPACE = "apibase-system"
RELEASE = "apibase-operator"
OPENBAO_IMAGE = os.environ.get("OPENBAO_IMAGE", "quay.io/openbao/openbao:2.5.4")
VAULT_NAMESPACE = "vault"
VAULT_ADDRESS = f"http://openbao.{VAULT_NAMESPACE}.svc:8200"
VAULT_TOKEN_SECRET = "openbao-token"  # the name of the Secret holding the dev token
MANAGED_BY = "app.kubernetes.io/managed-by=apibase-operator"
SECRET_HASH_ANNOTATION = "apibase.dev/secret-hash"
CANARY_STEPS = [25, 50, 100]


# -- prerequisites ---------------------------------------------------------------------------------------------------
def _run(
    command: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    input_text: str | None = None,
    timeout: float = TIMEOUT,
    check: bool = True,
) -> subprocess.CompletedProcess[str]:
    """Run a tool found on PATH; on failure (with ``check``) fail the test with its output."""
    executable = shutil.which(command[0], path=TOOL_PATH)
    if executable is None:
        pytest.fail(f"{command[0]} is not on PATH")
    result = subprocess.run(  # noqa: S603 - tools from PATH with fixed arguments, no shell
        [executable, *command[1:]],
        env=dict(env) if env is not None else None,
        input=input_text,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if check and result.returncode != 0:
        pytest.fail(
            f"`{shlex.join(command)}` exited {result.returncode}:\n{result.stdout[-3000:]}{result.stderr[-3000:]}"
        )
    return result


def missing_prerequisites() -> str | None:
    """Why the suite cannot run here (every missing piece at once), or None."""
    missing = [tool for tool in ("kind", "kubectl", "helm") if shutil.which(tool, path=TOOL_PATH) is None]
    problems = [f"{tool} is not installed" for tool in missing]
    docker = shutil.which("docker", path=TOOL_PATH)
    if docker is None:
        problems.append("docker is not installed")
    else:
        try:
            info = subprocess.run(  # noqa: S603 - the docker CLI, fixed arguments
                [docker, "info", "--format", "{{.ServerVersion}}"],
                capture_output=True,
                text=True,
                timeout=30,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as error:
            problems.append(f"Docker daemon unavailable (`docker info`: {error})")
        else:
            if info.returncode != 0 or not info.stdout.strip():
                detail = (info.stderr.strip().splitlines() or ["no server version"])[-1]
                problems.append(f"Docker daemon unavailable (`docker info`: {detail})")
    if not problems:
        return None
    return "the kind e2e suite needs kind, kubectl, helm and a running Docker daemon: " + "; ".join(problems)


@pytest.fixture(scope="module", autouse=True)
def prerequisites() -> None:
    reason = missing_prerequisites()
    if reason:
        pytest.skip(reason)


# -- helpers ---------------------------------------------------------------------------------------------------------
def eventually[T](probe: Callable[[], T | None], what: str, timeout: float = TIMEOUT, interval: float = 2.0) -> T:
    """Poll ``probe`` until it returns something truthy; fail with ``what`` and the last value otherwise."""
    deadline = time.monotonic() + timeout
    last: T | None = None
    while True:
        last = probe()
        if last:
            return last
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:.0f}s waiting for {what} (last: {last!r})")
        time.sleep(interval)


def condition(obj: Mapping[str, Any], kind: str) -> str | None:
    conditions = obj.get("status", {}).get("conditions") or []
    return next((c.get("status") for c in conditions if c.get("type") == kind), None)


def _short(name: str) -> str:
    """``deployment.apps/hello`` -> ``deployment/hello``."""
    kind, _, rest = name.partition("/")
    return f"{kind.partition('.')[0]}/{rest}"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass(frozen=True)
class Cluster:
    name: str
    kubeconfig: Path

    @property
    def env(self) -> dict[str, str]:
        return {**os.environ, "PATH": TOOL_PATH, "KUBECONFIG": str(self.kubeconfig), "DOCKER_BUILDKIT": "1"}

    def run(self, *command: str, input_text: str | None = None, check: bool = True) -> str:
        return _run(command, env=self.env, input_text=input_text, check=check).stdout

    def kubectl(self, *args: str, input_text: str | None = None, check: bool = True) -> str:
        return self.run("kubectl", *args, input_text=input_text, check=check)

    def get(self, namespace: str | None, *what: str) -> dict[str, Any] | None:
        """The object (or list) as JSON, or None when it does not exist; ``namespace`` None for cluster objects."""
        scope = ["-n", namespace] if namespace else []
        result = _run(["kubectl", *scope, "get", *what, "-o", "json"], env=self.env, check=False)
        if result.returncode != 0:
            if "NotFound" in result.stderr or "not found" in result.stderr:
                return None
            pytest.fail(f"kubectl get {' '.join(what)} failed: {result.stderr}")
        document: dict[str, Any] = json.loads(result.stdout)
        return document

    def names(self, namespace: str, kinds: str, selector: str) -> list[str]:
        output = self.kubectl("-n", namespace, "get", kinds, "-l", selector, "-o", "name", "--ignore-not-found")
        return output.split()


@dataclass(frozen=True)
class ApiBase:
    cluster: Cluster
    name: str
    namespace: str

    def get(self) -> dict[str, Any]:
        obj = self.cluster.get(self.namespace, "apibase", self.name)
        assert obj is not None, f"ApiBase {self.name} is gone"
        return obj

    def patch(self, spec: Mapping[str, object]) -> None:
        self.cluster.kubectl(
            "-n", self.namespace, "patch", "apibase", self.name, "--type", "merge", "-p", json.dumps({"spec": spec})
        )

    def ready_now(self) -> dict[str, Any] | None:
        """The ApiBase when Ready is True for its current generation (not a stale Ready of the previous one)."""
        obj = self.get()
        current = obj["metadata"].get("generation") == obj.get("status", {}).get("observedGeneration")
        return obj if current and condition(obj, "Ready") == "True" else None

    def wait_ready(self) -> dict[str, Any]:
        return eventually(self.ready_now, f"ApiBase {self.name} Ready at its current generation")

    def rollout(self, deployment: str | None = None) -> None:
        self.cluster.kubectl(
            "-n",
            self.namespace,
            "rollout",
            "status",
            f"deployment/{deployment or self.name}",
            f"--timeout={TIMEOUT:.0f}s",
        )

    def pod_containers(self) -> list[set[str]]:
        pods = self.cluster.get(self.namespace, "pods", "-l", f"app.kubernetes.io/instance={self.name}")
        items = (pods or {}).get("items", [])
        return [
            {c["name"] for c in [*pod["spec"].get("containers", []), *pod["spec"].get("initContainers", [])]}
            for pod in items
            if not pod["metadata"].get("deletionTimestamp")
        ]


@contextmanager
def port_forward(api: ApiBase, remote_port: int = 80) -> Iterator[str]:
    """``kubectl port-forward svc/NAME``: one pod for the whole block, so its SQLite database stays the same."""
    kubectl = shutil.which("kubectl", path=TOOL_PATH)
    assert kubectl is not None
    port = free_port()
    command = [kubectl, "-n", api.namespace, "port-forward", f"svc/{api.name}", f"{port}:{remote_port}"]
    process = subprocess.Popen(  # noqa: S603 - kubectl with fixed arguments
        command, env=api.cluster.env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    base = f"http://127.0.0.1:{port}"

    def answers() -> bool:
        if process.poll() is not None:
            pytest.fail(f"kubectl port-forward exited {process.returncode}")
        try:
            return httpx.get(f"{base}/health/live", timeout=2).status_code == 200
        except httpx.TransportError:
            return False

    try:
        eventually(answers, "the port-forward", timeout=60, interval=0.5)
        yield base
    finally:
        process.terminate()
        try:
            process.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.communicate()


# -- fixtures: one cluster, built images, the operator, one ApiBase --------------------------------------------------
@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    kubeconfig = tmp_path_factory.mktemp("kind") / "kubeconfig"
    existing = _run(["kind", "get", "clusters"], check=False).stdout.split()
    created = CLUSTER_NAME not in existing
    if created:
        node_image = os.environ.get("KIND_NODE_IMAGE")
        image = ["--image", node_image] if node_image else []
        _run(
            [
                "kind",
                "create",
                "cluster",
                "--name",
                CLUSTER_NAME,
                "--kubeconfig",
                str(kubeconfig),
                "--wait",
                "180s",
                *image,
            ],
            timeout=max(TIMEOUT, 600),
        )
    else:
        kubeconfig.write_text(_run(["kind", "get", "kubeconfig", "--name", CLUSTER_NAME]).stdout, encoding="utf-8")
    try:
        yield Cluster(CLUSTER_NAME, kubeconfig)
    finally:
        if created and not _flag("APIBASE_E2E_KEEP_CLUSTER"):
            _run(["kind", "delete", "cluster", "--name", CLUSTER_NAME], check=False, timeout=300)


@pytest.fixture(scope="module")
def images(cluster: Cluster) -> dict[str, str]:
    """Both Dockerfile targets, built and loaded into the kind nodes; the canary is the service under another tag."""
    if not _flag("APIBASE_E2E_SKIP_BUILD"):
        for target, tag in (("service", SERVICE_IMAGE), ("operator", OPERATOR_IMAGE)):
            _run(["docker", "build", "--target", target, "--tag", tag, str(ROOT)], env=cluster.env, timeout=1800)
    _run(["docker", "tag", SERVICE_IMAGE, CANARY_IMAGE])
    cluster.run("kind", "load", "docker-image", "--name", cluster.name, SERVICE_IMAGE, CANARY_IMAGE, OPERATOR_IMAGE)
    return {"service": SERVICE_IMAGE, "canary": CANARY_IMAGE, "operator": OPERATOR_IMAGE}


def _helm_repo(cluster: Cluster, name: str, url: str) -> None:
    cluster.run("helm", "repo", "add", name, url, "--force-update")


@pytest.fixture(scope="module")
def platform(cluster: Cluster) -> None:
    """Istio, Dapr and an OpenBao dev server, each only when asked for."""
    timeout = f"{TIMEOUT:.0f}s"
    if WITH_ISTIO:
        _helm_repo(cluster, "istio", "https://istio-release.storage.googleapis.com/charts")
        version = ["--version", os.environ["ISTIO_VERSION"]] if os.environ.get("ISTIO_VERSION") else []
        for release, chart in (("istio-base", "istio/base"), ("istiod", "istio/istiod")):
            cluster.run(
                "helm", "upgrade", "--install", release, chart, "--namespace", "istio-system", "--create-namespace",
                "--wait", "--timeout", timeout, *version,
            )  # fmt: skip
    if WITH_DAPR:
        _helm_repo(cluster, "dapr", "https://dapr.github.io/helm-charts")
        version = ["--version", os.environ["DAPR_VERSION"]] if os.environ.get("DAPR_VERSION") else []
        cluster.run(
            "helm", "upgrade", "--install", "dapr", "dapr/dapr", "--namespace", "dapr-system", "--create-namespace",
            "--wait", "--timeout", timeout, *version,
        )  # fmt: skip
    if WITH_VAULT:
        cluster.kubectl("apply", "-f", "-", input_text=yaml.safe_dump_all(_openbao_objects(), sort_keys=False))
        cluster.kubectl("-n", VAULT_NAMESPACE, "rollout", "status", "deployment/openbao", f"--timeout={timeout}")


def _openbao_objects() -> list[dict[str, object]]:
    """An in-memory OpenBao dev server (root token ``root``): for this test only, never for anything real."""
    labels = {"app": "openbao"}
    container = {
        "name": "openbao",
        "image": OPENBAO_IMAGE,
        "command": ["bao", "server", "-dev", "-dev-root-token-id=root", "-dev-listen-address=0.0.0.0:8200"],
        "ports": [{"name": "http", "containerPort": 8200}],
        "readinessProbe": {"httpGet": {"path": "/v1/sys/health", "port": 8200}, "periodSeconds": 2},
    }
    metadata = {"name": "openbao", "namespace": VAULT_NAMESPACE, "labels": labels}
    return [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": VAULT_NAMESPACE}},
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": metadata,
            "spec": {
                "replicas": 1,
                "selector": {"matchLabels": labels},
                "template": {"metadata": {"labels": labels}, "spec": {"containers": [container]}},
            },
        },
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": metadata,
            "spec": {"selector": labels, "ports": [{"name": "http", "port": 8200, "targetPort": 8200}]},
        },
    ]


def bao(cluster: Cluster, *args: str) -> str:
    return cluster.kubectl(
        "-n", VAULT_NAMESPACE, "exec", "deployment/openbao", "--",
        "env", "BAO_ADDR=http://127.0.0.1:8200", "BAO_TOKEN=root", "bao", *args,
    )  # fmt: skip


@pytest.fixture(scope="module")
def operator(cluster: Cluster, images: dict[str, str], platform: None) -> str:
    """``helm install`` of the operator chart with the image just loaded; returns its Deployment."""
    if not CHART.exists():
        pytest.fail(f"the operator chart is missing: {CHART}")
    repository, _, tag = images["operator"].rpartition(":")
    # A fast resync (anything missed is caught within 5 s) and the Vault policy: only the
    # dev server, only secret/e2e (APIBASE_OPERATOR_VAULT_ADDRESSES / APIBASE_OPERATOR_VAULT_MOUNTS).
    cluster.run(
        "helm", "upgrade", "--install", RELEASE, str(CHART), "--namespace", OPERATOR_NAMESPACE, "--create-namespace",
        "--set", f"image.repository={repository}", "--set-string", f"image.tag={tag}",
        "--set", "image.pullPolicy=IfNotPresent", "--set", "operator.resyncSeconds=5",
        "--set", f"vault.allowedAddresses={{{VAULT_ADDRESS}}}", "--set", "vault.allowedMounts={secret/e2e}",
        *shlex.split(os.environ.get("APIBASE_E2E_HELM_ARGS", "")),
    )  # fmt: skip
    if cluster.get(None, "crd", "apibases.apibase.dev") is None:
        cluster.kubectl("apply", "-f", str(CRD))  # the release did not install the CRD (crds.install=false)
    cluster.kubectl("wait", "--for=condition=Established", "crd/apibases.apibase.dev", f"--timeout={TIMEOUT:.0f}s")
    deployments = cluster.names(OPERATOR_NAMESPACE, "deployments", f"app.kubernetes.io/instance={RELEASE}")
    assert deployments, f"no Deployment labelled app.kubernetes.io/instance={RELEASE} in {OPERATOR_NAMESPACE}"
    cluster.kubectl("-n", OPERATOR_NAMESPACE, "rollout", "status", deployments[0], f"--timeout={TIMEOUT:.0f}s")
    return deployments[0]


@pytest.fixture(scope="module")
def apibase(cluster: Cluster, operator: str, images: dict[str, str]) -> ApiBase:
    """``manifests/samples/apibase-minimal.yaml`` with the image just built."""
    document = yaml.safe_load(SAMPLE.read_text(encoding="utf-8"))
    document["spec"]["image"] = images["service"]
    namespace = document["metadata"].get("namespace", "default")
    cluster.kubectl("apply", "-f", "-", input_text=yaml.safe_dump(document, sort_keys=False))
    return ApiBase(cluster, document["metadata"]["name"], namespace)


# -- the steps -------------------------------------------------------------------------------------------------------
def test_the_operator_runs_from_the_chart(cluster: Cluster, operator: str) -> None:
    deployment = cluster.get(OPERATOR_NAMESPACE, operator)
    assert deployment is not None
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    assert container["image"] == OPERATOR_IMAGE
    assert container["args"][0] == "run", "the image's ENTRYPOINT is apibase-operator; the chart passes `run`"
    env = {item["name"]: item.get("value") for item in container.get("env", [])}
    assert env["APIBASE_OPERATOR_VAULT_ADDRESSES"] == VAULT_ADDRESS
    assert deployment["status"].get("availableReplicas", 0) >= 1


def test_the_sample_becomes_ready_with_its_owned_objects(cluster: Cluster, apibase: ApiBase) -> None:
    cluster.kubectl(
        "-n", apibase.namespace, "wait", "--for=condition=Ready", f"apibase/{apibase.name}", f"--timeout={TIMEOUT:.0f}s"
    )  # fmt: skip
    obj = apibase.wait_ready()
    assert obj["status"].get("stableImage", SERVICE_IMAGE) == SERVICE_IMAGE
    owned = cluster.names(
        apibase.namespace,
        "deployments,services,serviceaccounts,poddisruptionbudgets",
        f"app.kubernetes.io/instance={apibase.name},{MANAGED_BY}",
    )
    for kind in ("deployment", "service", "serviceaccount", "poddisruptionbudget"):
        assert f"{kind}/{apibase.name}" in {_short(name) for name in owned}, owned
    deployment = cluster.get(apibase.namespace, "deployment", apibase.name)
    assert deployment is not None
    pod = deployment["spec"]["template"]["spec"]
    assert pod["containers"][0]["image"] == SERVICE_IMAGE
    assert pod["containers"][0]["securityContext"]["readOnlyRootFilesystem"] is True


def test_health_and_a_product_crud_round_trip_over_a_port_forward(apibase: ApiBase) -> None:
    sku = f"E2E-{int(time.time()) % 100000}"
    product = {"sku": sku, "name": "Gear", "price": "9.99", "currency": "EUR", "stock": 5}
    with port_forward(apibase) as base, httpx.Client(base_url=base, timeout=10) as http:
        ready = http.get("/health/ready")
        assert ready.status_code == 200, ready.text
        assert ready.json()["status"] == "ok"

        created = http.post("/api/v1/products", json=product)
        assert created.status_code == 201, created.text
        url = f"/api/v1/products/{created.json()['data']['id']}"
        fetched = http.get(url)
        assert fetched.status_code == 200
        assert fetched.json()["data"]["sku"] == sku
        patched = http.patch(url, json={"price": "12.50"}, headers={"If-Match": fetched.headers["etag"]})
        assert patched.status_code == 200, patched.text
        assert patched.json()["data"]["price"] == "12.50"
        assert http.get("/api/v1/products", params={"sku": sku}).json()["total"] == 1
        assert http.delete(url).status_code == 204
        assert http.get(url).status_code == 404


@pytest.mark.skipif(
    not (WITH_ISTIO or WITH_DAPR),
    reason="Istio and Dapr are off: set APIBASE_E2E_WITH_ISTIO=1 / APIBASE_E2E_WITH_DAPR=1",
)
def test_istio_and_dapr_give_the_pods_sidecars_and_objects(cluster: Cluster, apibase: ApiBase) -> None:
    spec: dict[str, object] = {}
    sidecars = set()
    if WITH_ISTIO:
        # PERMISSIVE: the port-forward and kubelet reach the pods without a mesh certificate.
        spec["istio"] = {"enabled": True, "mtlsMode": "PERMISSIVE"}
        sidecars.add("istio-proxy")
    if WITH_DAPR:
        spec["dapr"] = {"enabled": True, "components": [{"name": "e2e-pubsub", "type": "pubsub.in-memory"}]}
        sidecars.add("daprd")
    apibase.patch(spec)
    apibase.wait_ready()
    apibase.rollout()
    eventually(
        lambda: (pods := apibase.pod_containers()) and all(sidecars <= names for names in pods),
        f"pods with the {sorted(sidecars)} sidecars",
    )
    if WITH_ISTIO:
        for kind in ("virtualservices.networking.istio.io", "destinationrules.networking.istio.io"):
            assert cluster.get(apibase.namespace, kind, apibase.name) is not None, kind
        for kind in ("peerauthentications.security.istio.io", "authorizationpolicies.security.istio.io"):
            assert cluster.get(apibase.namespace, kind, apibase.name) is not None, kind
    if WITH_DAPR:
        assert cluster.get(apibase.namespace, "components.dapr.io", "e2e-pubsub") is not None


@pytest.mark.skipif(not WITH_DAPR, reason="Dapr is off: set APIBASE_E2E_WITH_DAPR=1 to install it in the cluster")
def test_an_order_placed_reaches_the_catalog_through_daprd(cluster: Cluster, apibase: ApiBase) -> None:
    """The Dapr path against real daprd: outbox -> relay -> the Dapr publisher (SDK, gRPC) -> pubsub component ->
    daprd reads ``GET /dapr/subscribe`` and POSTs the CloudEvent to the subscription's route -> inbox -> the
    catalog's sales counter. The operator hands the component name to the app (``APIBASE_DAPR__PUBSUB``,
    ``APIBASE_EVENTS__PUBLISHER=dapr``); the same flow runs here against the stand-in sidecar."""
    apibase.patch({"dapr": {"enabled": True, "components": [{"name": "e2e-pubsub", "type": "pubsub.in-memory"}]}})
    apibase.wait_ready()
    apibase.rollout()
    eventually(lambda: (pods := apibase.pod_containers()) and all("daprd" in names for names in pods), "daprd")
    deployment = cluster.get(apibase.namespace, "deployment", apibase.name)
    assert deployment is not None
    env = {item["name"]: item.get("value") for item in deployment["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert (env.get("APIBASE_EVENTS__PUBLISHER"), env.get("APIBASE_DAPR__PUBSUB")) == ("dapr", "e2e-pubsub")
    sku = f"E2E-DAPR-{int(time.time()) % 100000}"
    product = {"sku": sku, "name": "Gear", "price": "9.99", "currency": "EUR", "stock": 5}
    with port_forward(apibase) as base, httpx.Client(base_url=base, timeout=10) as http:
        announced = http.get("/dapr/subscribe")
        assert announced.status_code == 200, announced.text
        assert {entry["pubsubname"] for entry in announced.json()} == {"e2e-pubsub"}
        assert all(entry.get("deadLetterTopic") for entry in announced.json())
        created = http.post("/api/v1/products", json=product)
        assert created.status_code == 201, created.text
        product_id = created.json()["data"]["id"]
        order = {"customer_email": "ada@example.com", "lines": [{"product_id": product_id, "quantity": 2}]}
        placed = http.post("/api/v1/orders", json=order)
        assert placed.status_code == 201, placed.text

        def units_ordered() -> int | None:
            sales = http.get(f"/api/v2/products/{product_id}/sales")
            return units if sales.status_code == 200 and (units := sales.json()["data"]["units_ordered"]) else None

        assert eventually(units_ordered, "the catalog to count the order delivered by daprd", interval=1.0) == 2


def test_a_canary_moves_its_weight_step_by_step_and_is_promoted(cluster: Cluster, apibase: ApiBase) -> None:
    apibase.patch({"canary": {"image": CANARY_IMAGE, "steps": CANARY_STEPS, "stepIntervalSeconds": 10}})
    weights: list[int] = []

    def promoted() -> bool:
        status = apibase.get().get("status", {})
        weight = int(status.get("canaryWeight") or 0)
        if not weights or weights[-1] != weight:
            weights.append(weight)
        return status.get("stableImage") == CANARY_IMAGE and weight == 0

    eventually(promoted, f"the canary {CANARY_IMAGE} to be promoted", interval=1.0)
    moving = [weight for weight in weights if weight > 0]
    assert moving, f"no canary weight above 0 was observed: {weights}"
    assert moving == sorted(moving), f"the weight went back during the rollout: {weights}"
    assert set(moving) <= set(CANARY_STEPS), weights

    obj = apibase.wait_ready()
    assert obj["status"].get("canaryImage") == CANARY_IMAGE
    deployment = cluster.get(apibase.namespace, "deployment", apibase.name)
    assert deployment is not None
    assert deployment["spec"]["template"]["spec"]["containers"][0]["image"] == CANARY_IMAGE
    eventually(
        lambda: cluster.get(apibase.namespace, "deployment", f"{apibase.name}-canary") is None,
        "the canary Deployment to be removed",
    )
    if WITH_ISTIO:

        def all_on_stable() -> bool:
            service = cluster.get(apibase.namespace, "virtualservices.networking.istio.io", apibase.name) or {}
            routes = service.get("spec", {}).get("http", [{}])[0].get("route", [])
            return [route.get("weight") for route in routes] == [100]

        eventually(all_on_stable, "the VirtualService to route 100% to stable")
    apibase.rollout()


@pytest.mark.skipif(not WITH_VAULT, reason="Vault is off: set APIBASE_E2E_WITH_VAULT=1 to run an OpenBao dev server")
def test_a_rotated_vault_secret_reaches_the_secret_and_restarts_the_pods(cluster: Cluster, apibase: ApiBase) -> None:
    path = f"e2e/{apibase.name}"
    target = f"{apibase.name}-vault"
    bao(cluster, "kv", "put", "-mount=secret", path, "greeting=v1")
    cluster.kubectl(
        "-n", OPERATOR_NAMESPACE, "apply", "-f", "-",
        input_text=json.dumps({
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": VAULT_TOKEN_SECRET},
            "stringData": {"token": "root"},
        }),
    )  # fmt: skip
    apibase.patch(
        {
            "vault": {
                "address": VAULT_ADDRESS,
                "auth": {"tokenSecret": {"name": VAULT_TOKEN_SECRET, "key": "token"}},
                "paths": [{"path": path, "keys": {"greeting": "E2E_GREETING"}}],
                "refreshIntervalSeconds": 10,
                "restartOnRotation": True,
            }
        }
    )

    def greeting() -> str | None:
        secret = cluster.get(apibase.namespace, "secret", target)
        value = (secret or {}).get("data", {}).get("E2E_GREETING")
        return base64.b64decode(value).decode() if value else None

    eventually(lambda: greeting() == "v1", f"Secret {target} to hold v1")
    obj = apibase.wait_ready()
    assert condition(obj, "SecretsSynced") == "True"
    before = obj["status"]["secretHash"]

    bao(cluster, "kv", "put", "-mount=secret", path, "greeting=v2")
    eventually(lambda: greeting() == "v2", f"Secret {target} to hold the rotated v2")
    after = eventually(
        lambda: (h := apibase.get()["status"].get("secretHash")) != before and h, "status.secretHash to change"
    )

    def template_hash() -> bool:
        deployment = cluster.get(apibase.namespace, "deployment", apibase.name) or {}
        annotations = deployment.get("spec", {}).get("template", {}).get("metadata", {}).get("annotations", {})
        return annotations.get(SECRET_HASH_ANNOTATION) == after

    eventually(template_hash, "the pod template to carry the new hash (a rolling restart)")
    apibase.rollout()


def test_deleting_the_apibase_removes_every_owned_object(cluster: Cluster, apibase: ApiBase) -> None:
    cluster.kubectl(
        "-n", apibase.namespace, "delete", "apibase", apibase.name, "--wait", f"--timeout={TIMEOUT:.0f}s"
    )  # fmt: skip
    kinds = [
        "deployments",
        "services",
        "serviceaccounts",
        "secrets",
        "poddisruptionbudgets",
        "horizontalpodautoscalers",
    ]
    if WITH_ISTIO:
        kinds += [
            "virtualservices.networking.istio.io",
            "destinationrules.networking.istio.io",
            "peerauthentications.security.istio.io",
            "authorizationpolicies.security.istio.io",
        ]
    if WITH_DAPR:
        kinds.append("components.dapr.io")
    selector = f"app.kubernetes.io/instance={apibase.name},{MANAGED_BY}"
    eventually(
        lambda: cluster.names(apibase.namespace, ",".join(kinds), selector) == [],
        f"every object labelled {selector} to be deleted",
    )
    assert cluster.get(apibase.namespace, "apibase", apibase.name) is None
