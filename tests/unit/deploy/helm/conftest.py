"""A real helm for the chart tests: ``scripts/install-helm.sh`` puts it in ``.cache/tools/bin/helm`` when missing.

CI must run these checks, so a helm that cannot be installed fails the session instead of skipping it. helm
runs with its own cache, config and data directories and no kubeconfig: rendering never touches a cluster.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[4]
CHARTS = ROOT / "charts"
HELM = ROOT / ".cache" / "tools" / "bin" / "helm"
INSTALL_SCRIPT = ROOT / "scripts" / "install-helm.sh"
INSTALL_TIMEOUT_SECONDS = 300
HELM_TIMEOUT_SECONDS = 60

#: Release name and namespace of each chart in the tests.
RELEASES = {"apibase-operator": ("apibase-operator", "apibase-system"), "apibase": ("orders", "shop")}
#: Render for the oldest Kubernetes the charts support (Chart.yaml kubeVersion), whose schemas the tests use.
KUBE_VERSION = "1.31.0"


class HelmError(AssertionError):
    """helm exited non-zero; the message carries its stderr."""


@dataclass
class Helm:
    """helm with an isolated environment; test modules reach the constants through it (they cannot import this)."""

    Error: ClassVar[type[HelmError]] = HelmError
    root: ClassVar[Path] = ROOT
    charts: ClassVar[Path] = CHARTS
    releases: ClassVar[Mapping[str, tuple[str, str]]] = RELEASES

    binary: Path
    env: Mapping[str, str]
    _rendered: dict[tuple[object, ...], list[dict[str, object]]] = field(default_factory=dict, repr=False)

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(  # noqa: S603 - a fixed binary, arguments from the tests, no shell
            [str(self.binary), *args],
            capture_output=True,
            text=True,
            env=dict(self.env),
            cwd=ROOT,
            timeout=HELM_TIMEOUT_SECONDS,
            check=False,
        )

    @staticmethod
    def value_args(values: Iterable[str] = (), sets: Iterable[str] = ()) -> list[str]:
        """``-f`` for each values file (relative to the chart's directory or absolute), ``--set`` for each pair."""
        args: list[str] = []
        for path in values:
            args += ["--values", path]
        for assignment in sets:
            args += ["--set", assignment]
        return args

    def template_args(
        self,
        chart: str,
        values: Iterable[str] = (),
        sets: Iterable[str] = (),
        kube_version: str | None = KUBE_VERSION,
    ) -> list[str]:
        """RELEASE CHART --namespace NS [--kube-version V] and the values (``install`` has no --kube-version)."""
        release, namespace = RELEASES[chart]
        chart_dir = CHARTS / chart
        files = [str(chart_dir / path) for path in values]
        args = [release, str(chart_dir), "--namespace", namespace]
        if kube_version is not None:
            args += ["--kube-version", kube_version]
        return args + self.value_args(files, sets)

    def template(self, chart: str, values: tuple[str, ...] = (), sets: tuple[str, ...] = ()) -> list[dict[str, object]]:
        """The objects ``helm template`` renders (memoised: several tests look at the same rendering)."""
        key = (chart, values, sets)
        if key not in self._rendered:
            result = self.run("template", *self.template_args(chart, values, sets))
            if result.returncode != 0:
                raise HelmError(f"helm template {chart} {values} {sets} failed:\n{result.stderr}")
            documents = yaml.safe_load_all(result.stdout)
            self._rendered[key] = [document for document in documents if document]
        return self._rendered[key]


@pytest.fixture(scope="session")
def helm_binary() -> Path:
    if not (HELM.is_file() and os.access(HELM, os.X_OK)):
        try:
            result = subprocess.run(  # noqa: S603 - the repository's own script, no shell
                ["bash", str(INSTALL_SCRIPT)],  # noqa: S607 - bash from PATH, as in CI
                capture_output=True,
                text=True,
                cwd=ROOT,
                timeout=INSTALL_TIMEOUT_SECONDS,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as error:
            pytest.fail(f"cannot run {INSTALL_SCRIPT}: {error}")
        if result.returncode != 0 or not HELM.is_file():
            pytest.fail(
                f"{INSTALL_SCRIPT} could not install helm (exit {result.returncode}):\n{result.stdout}\n{result.stderr}"
            )
    return HELM


@pytest.fixture(scope="session")
def helm(helm_binary: Path, tmp_path_factory: pytest.TempPathFactory) -> Helm:
    home = tmp_path_factory.mktemp("helm-home")
    env = {key: value for key, value in os.environ.items() if not key.startswith(("HELM_", "KUBE"))}
    env |= {
        "HELM_CACHE_HOME": str(home / "cache"),
        "HELM_CONFIG_HOME": str(home / "config"),
        "HELM_DATA_HOME": str(home / "data"),
        "KUBECONFIG": str(home / "no-kubeconfig"),
    }
    return Helm(helm_binary, env)
