"""Both container images, built with podman by scripts/build-images.sh and run as Kubernetes would run them.

The service image runs with what the operator's Deployment asks for (read from ``apibase-operator render``, so a
change there changes the test): a read-only root with an emptyDir (here a tmpfs) on /tmp, its non-root numeric
user, every capability dropped, no privilege escalation. It must become live and ready, sign a tenant up, serve an
authenticated write, and stop on SIGTERM with exit status 0 in time. The operator image must answer ``--help`` and
render a sample offline. Neither image may carry the other's (or the tests') libraries, every shared library
their wheels load must be present in the base, and no shared library in the venvs may keep its debug sections.
The images' sizes are printed (and recorded in docs/deploy.md).

Skipped only when podman is not installed; CI installs it (.ci/run).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import yaml

from apibase.testing.processes import free_port

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(shutil.which("podman") is None, reason="podman is not installed (apt-get install podman)"),
]

PODMAN = shutil.which("podman") or "podman"
ROOT = Path(__file__).resolve().parents[3]
SCRIPT = ROOT / "scripts" / "build-images.sh"
SAMPLE = ROOT / "manifests" / "samples" / "apibase-minimal.yaml"
TAG = "pytest"
ENV = {**os.environ, "CONTAINERS_CONF": str(ROOT / "scripts" / "podman" / "containers.conf"), "APIBASE_IMAGE_TAG": TAG}
BUILD_TIMEOUT = 1500.0
#: The folder of a build .ci/run started early (``log``, then ``status``: the script's exit status).
BUILT_BY_CI = "APIBASE_TEST_IMAGES_BUILD"
START_TIMEOUT = 120.0
#: Seconds SIGTERM may take: the image's drain delay is 0 outside production, and uvicorn's grace is 20 s.
STOP_BOUND = 25.0
#: Modules that must not be importable in each image. The service's: the operator's and the test tools, the
#: secrets SDKs of the `aws` and `vault` extras (SERVICE_EXTRAS keeps its default, `dapr`), what uvicorn[standard]
#: would add beyond uvloop and httptools, and pip itself.
FORBIDDEN = {
    "service": (
        "boto3",
        "botocore",
        "hvac",
        "watchfiles",
        "websockets",
        "yaml",
        "pip",
        "setuptools",
        "wheel",
        "kopf",
        "kubernetes",
        "kubernetes_validate",
        "pytest",
        "hypothesis",
        "polyfactory",
        "schemathesis",
        "moto",
        "kmock",
        "mypy",
        "ruff",
    ),
    "operator": ("fastapi", "starlette", "sqlalchemy", "uvicorn", "alembic", "asyncpg", "pytest", "hypothesis"),
}
#: A module each image needs: the forbidden check is only meaningful if this one is found.
EXPECTED = {"service": "fastapi", "operator": "kopf"}
#: The venv's ELF files (64-bit little-endian, as on x86-64 and arm64) and those with a ``.debug_*`` section, read
#: from the section headers (a string search would also find the section names Rust's backtrace code holds).
DEBUG_SECTIONS_PROBE = r"""
import json, pathlib, struct
checked, debug = 0, []
for path in pathlib.Path('/opt/apibase/venv').rglob('*.so*'):
    data = path.read_bytes() if path.is_file() and not path.is_symlink() else b''
    if data[:6] != b'\x7fELF\x02\x01':
        continue
    checked += 1
    (offset,), (size, count, names) = struct.unpack_from('<Q', data, 0x28), struct.unpack_from('<HHH', data, 0x3A)
    headers = [struct.unpack_from('<IIQQQQ', data, offset + index * size) for index in range(count)]
    for header in headers:
        start = headers[names][4] + header[0]
        name = data[start : data.index(b'\0', start)].decode()
        if name.startswith('.debug_'):
            debug.append(f'{path}: {name}')
            break
print(json.dumps({'checked': checked, 'debug': debug}))
"""


def podman(*args: str, timeout: float = 120.0, input_text: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - fixed arguments, no shell
        [PODMAN, *args], capture_output=True, text=True, timeout=timeout, check=False, env=ENV, input=input_text
    )


def checked(*args: str, timeout: float = 120.0, input_text: str | None = None) -> str:
    result = podman(*args, timeout=timeout, input_text=input_text)
    assert result.returncode == 0, f"podman {' '.join(args)} exited {result.returncode}:\n{result.stderr[-4000:]}"
    return result.stdout


@dataclass(frozen=True)
class Images:
    service: str
    operator: str
    build_seconds: float

    def image(self, target: str) -> str:
        return self.service if target == "service" else self.operator


def awaited_build(folder: Path) -> tuple[int, str]:
    """The exit status and output of the build ``.ci/run`` started before the suite (``status`` appears last)."""
    status = folder / "status"
    deadline = time.monotonic() + BUILD_TIMEOUT
    while not status.exists():
        assert time.monotonic() < deadline, f"{SCRIPT.name} did not finish in {BUILD_TIMEOUT} s"
        time.sleep(1)
    return int(status.read_text(encoding="utf-8")), (folder / "log").read_text(encoding="utf-8", errors="replace")


@pytest.fixture(scope="session")
def images(pytestconfig: pytest.Config) -> Images:
    """Both images, built once per session by the script CI and developers use (the base image is reused).

    ``.ci/run`` starts the script before lint, mypy and the suite (tag ``TAG``, settings ``ENV``) and names its
    folder in ``APIBASE_TEST_IMAGES_BUILD``: the build's downloads then overlap the rest of CI, and this waits.
    """
    started = time.monotonic()
    if folder := os.environ.get(BUILT_BY_CI):
        returncode, output = awaited_build(Path(folder))
    else:
        result = subprocess.run(  # noqa: S603 - our own script
            [str(SCRIPT)], capture_output=True, text=True, timeout=BUILD_TIMEOUT, check=False, env=ENV
        )
        returncode, output = result.returncode, f"{result.stdout[-3000:]}\n{result.stderr}"
    assert returncode == 0, f"{SCRIPT.name} failed:\n{output[-9000:]}"
    built = Images(f"localhost/apibase-service:{TAG}", f"localhost/apibase-operator:{TAG}", time.monotonic() - started)
    for image in (built.service, built.operator):
        assert podman("image", "exists", image).returncode == 0, f"{SCRIPT.name} did not build {image}"
    reporter = pytestconfig.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write_line(f"\n{SCRIPT.name} (waited {built.build_seconds:.0f} s):\n{output.strip()[-3000:]}")
    return built


def deployment_container(images: Images) -> tuple[dict[str, object], dict[str, object]]:
    """The pod spec and the container of the Deployment the operator renders for the minimal sample."""
    rendered = checked(
        "run",
        "--rm",
        "--interactive",
        "--network=none",
        images.operator,
        "render",
        "/dev/stdin",
        input_text=SAMPLE.read_text(encoding="utf-8"),
    )
    (deployment,) = [doc for doc in yaml.safe_load_all(rendered) if doc and doc["kind"] == "Deployment"]
    pod = deployment["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    return pod, container


def hardening_options(pod: dict[str, object], container: dict[str, object]) -> list[str]:
    """podman options for what the Deployment sets; fails when it lacks a hardening the images rely on."""
    context = container["securityContext"]
    assert isinstance(context, dict)
    assert context.get("readOnlyRootFilesystem") is True
    assert context.get("allowPrivilegeEscalation") is False
    assert context.get("capabilities") == {"drop": ["ALL"]}
    pod_context = pod["securityContext"]
    assert isinstance(pod_context, dict)
    assert True in (context.get("runAsNonRoot"), pod_context.get("runAsNonRoot"))
    volumes = {volume["name"]: volume for volume in pod["volumes"]}  # type: ignore[attr-defined]
    mounts = container["volumeMounts"]
    assert isinstance(mounts, list)
    options = ["--read-only", "--cap-drop=ALL", "--security-opt=no-new-privileges"]
    for mount in mounts:
        assert "emptyDir" in volumes[mount["name"]], f"only emptyDir volumes are emulated: {mount}"
        options.append(f"--tmpfs={mount['mountPath']}")
    return options


@pytest.fixture
def service(images: Images) -> Iterator[tuple[str, str]]:
    """The service image running as the Deployment runs it, on a free loopback port: (URL, container)."""
    options = hardening_options(*deployment_container(images))
    user = checked("image", "inspect", "--format", "{{.Config.User}}", images.service).strip()
    assert re.fullmatch(r"[1-9]\d*(:\d+)?", user), f"the image user {user!r} is not a numeric non-root user"
    # The host's network on a free loopback port: podman's bridge needs netavark's firewall (iptables or nft),
    # which CI machines lack, and a bridge would leave namespaces and tables behind on a crash.
    port = free_port()
    listen = ("--network=host", "--env=APIBASE_HOST=127.0.0.1", f"--env=APIBASE_PORT={port}")
    container = checked("run", "--detach", *options, *listen, images.service).strip()
    try:
        yield f"http://127.0.0.1:{port}", container
    finally:
        podman("rm", "--force", "--time=0", container, timeout=60)


def wait_until_ready(base: str, container: str) -> None:
    """Poll the probes Kubernetes would poll until both answer 200 (the container may not die meanwhile)."""
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        try:
            live = httpx.get(f"{base}/health/live", timeout=2)
            ready = httpx.get(f"{base}/health/ready", timeout=2)
            if live.status_code == ready.status_code == 200:
                return
        except httpx.TransportError:
            pass
        state = checked("inspect", "--format", "{{.State.Status}}", container).strip()
        assert state == "running", f"the service {state}:\n{podman('logs', container).stderr[-6000:]}"
        assert time.monotonic() < deadline, (
            f"not ready in {START_TIMEOUT} s:\n{podman('logs', container).stderr[-6000:]}"
        )
        time.sleep(0.5)


def test_the_service_image_serves_a_tenant_and_stops_cleanly_on_sigterm(service: tuple[str, str]) -> None:
    base, container = service
    wait_until_ready(base, container)
    assert checked("exec", container, "id", "-u").strip() != "0"

    tenant = {"X-Tenant-ID": "acme"}
    account = {"email": "ada@example.com", "password": "a long passphrase"}
    with httpx.Client(base_url=base, timeout=30) as client:
        assert client.post("/api/v2/auth/register", headers=tenant, json=account).status_code == 201
        login = client.post("/api/v2/auth/login", headers=tenant, json=account)
        assert login.status_code == 200, login.text
        token = login.json()["data"]["access_token"]
        product = {"sku": "IMAGE-1", "name": "Image smoke", "price": {"amount": "9.99", "currency": "EUR"}, "stock": 3}
        created = client.post("/api/v2/products", headers={"Authorization": f"Bearer {token}"}, json=product)
        assert created.status_code == 201, created.text

    started = time.monotonic()
    checked("kill", "--signal=TERM", container)
    exit_code = checked("wait", container, timeout=STOP_BOUND + 30).strip()
    elapsed = time.monotonic() - started
    logs = podman("logs", container)
    assert exit_code == "0", f"exit {exit_code} after SIGTERM:\n{logs.stderr[-4000:]}"
    assert elapsed < STOP_BOUND, f"SIGTERM took {elapsed:.1f} s"


def test_the_operator_image_answers_help_and_renders_offline(images: Images) -> None:
    assert "Usage:" in checked("run", "--rm", "--network=none", images.operator, "--help")
    pod, container = deployment_container(images)
    assert container["image"] == "ghcr.io/acme/hello:0.1.0"
    assert hardening_options(pod, container)


@pytest.mark.parametrize("target", ["service", "operator"])
def test_the_image_holds_only_what_it_needs(images: Images, target: str) -> None:
    probe = (
        "import importlib.util, json, sys; "
        "print(json.dumps({name: importlib.util.find_spec(name) is not None for name in sys.argv[1:]}))"
    )
    modules = [EXPECTED[target], *FORBIDDEN[target]]
    found = json.loads(
        checked("run", "--rm", "--network=none", "--entrypoint=python", images.image(target), "-c", probe, *modules)
    )
    assert found.pop(EXPECTED[target]), f"{EXPECTED[target]} is missing from the {target} image"
    assert [name for name, present in found.items() if present] == [], f"the {target} image holds them"


@pytest.mark.parametrize("target", ["service", "operator"])
def test_every_shared_library_the_image_loads_is_there(images: Images, target: str) -> None:
    """A wheel's extension needing a library the base lacks (greenlet needs libstdc++) fails only at import."""
    listing = checked(
        "run",
        "--rm",
        "--network=none",
        "--entrypoint=sh",
        images.image(target),
        "-c",
        "find /opt/apibase/venv /usr/local/lib -name '*.so*' -type f -exec ldd {} + 2>&1",
    )
    missing = sorted({line.strip() for line in listing.splitlines() if "not found" in line})
    assert missing == [], f"the {target} image lacks {missing}"


@pytest.mark.parametrize("target", ["service", "operator"])
def test_the_venvs_shared_libraries_carry_no_debug_sections(images: Images, target: str) -> None:
    """The build stages strip them (about 40 MB in the service image): a wheel or a Dockerfile change that brings
    them back would otherwise pass unnoticed."""
    probe = ("run", "--rm", "--network=none", "--entrypoint=python", images.image(target), "-c", DEBUG_SECTIONS_PROBE)
    result = json.loads(checked(*probe))
    assert result["checked"] > 0, f"no shared library found in the {target} venv"
    assert result["debug"] == [], f"the {target} venv's shared libraries keep debug sections"


def test_the_image_sizes_are_reported(images: Images, pytestconfig: pytest.Config) -> None:
    sizes = {
        target: int(checked("image", "inspect", "--format", "{{.Size}}", images.image(target)))
        for target in ("service", "operator")
    }
    reporter = pytestconfig.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write_line(", ".join(f"apibase-{name}: {size / 1e6:.0f} MB" for name, size in sizes.items()))
    assert all(size > 0 for size in sizes.values())
