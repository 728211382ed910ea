"""The Kubernetes client configuration the operator builds from its environment."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from apibase_operator.kube.client import REQUEST_THREADS
from apibase_operator.kube.kinds import MANAGED_KINDS
from apibase_operator.wiring import kube_configuration

pytestmark = pytest.mark.unit


def test_the_connection_pool_holds_every_request_thread_and_watch(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "c", "cluster": {"server": "https://127.0.0.1:6443"}}],
        "users": [{"name": "u", "user": {"token": "t"}}],
        "contexts": [{"name": "x", "context": {"cluster": "c", "user": "u"}}],
        "current-context": "x",
    }
    (tmp_path / "kubeconfig").write_text(json.dumps(config))
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "kubeconfig"))
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    configuration = kube_configuration()
    assert configuration.host == "https://127.0.0.1:6443"
    assert configuration.connection_pool_maxsize == REQUEST_THREADS + len(MANAGED_KINDS)
