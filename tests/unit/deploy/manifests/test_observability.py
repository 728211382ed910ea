"""manifests/observability: the Grafana dashboard and the alert rules query metrics the service really exports."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from apibase.testing.service import service_settings
from shop.main import create_app

pytestmark = pytest.mark.unit

FOLDER = Path(__file__).resolve().parents[4] / "manifests" / "observability"
PROMQL_FUNCTIONS = {
    "sum", "rate", "max", "by", "histogram_quantile", "increase", "and", "le", "job", "route", "status", "pool",
    "reason", "humanizePercentage", "humanizeDuration",
}  # fmt: skip
#: Exported by other parts of the service (the log shipper), not by the app's ``Metrics``.
OTHER_EXPORTERS = {"log_shipper_dropped_total"}


def exported_names(tmp_path: Path) -> set[str]:
    """What the reference service exports: the kernel's instruments and its modules' counters."""
    metrics = create_app(service_settings(tmp_path / "service.db")).state.kernel.metrics
    metrics.request_finished("GET", "/x", 200, 0.01)
    metrics.login_failed("auth.invalid_credentials")  # labelled families only show once they have a child
    text = metrics.render("text/plain")[0].decode()
    names: set[str] = set()
    for family in text_string_to_metric_families(text):
        names.update(sample.name for sample in family.samples)
    return names | {"db_pool_size", "db_pool_checked_in", "db_pool_checked_out", "db_pool_overflow"}


def metric_names(expression: str) -> set[str]:
    without_labels = re.sub(r"\{[^}]*\}|\[[^\]]*\]|\"[^\"]*\"", "", expression)
    words = set(re.findall(r"[a-z_][a-z0-9_]*", without_labels))
    return {word for word in words if "_" in word and word not in PROMQL_FUNCTIONS}


def dashboard_expressions() -> list[str]:
    dashboard = json.loads((FOLDER / "grafana-dashboard.json").read_text())
    return [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]


def alert_expressions() -> list[str]:
    rules = yaml.safe_load((FOLDER / "alerts.yaml").read_text())
    return [rule["expr"] for group in rules["groups"] for rule in group["rules"]]


@pytest.mark.parametrize("expression", dashboard_expressions() + alert_expressions())
def test_every_query_uses_exported_metrics(expression: str, tmp_path: Path) -> None:
    unknown = metric_names(expression) - exported_names(tmp_path) - OTHER_EXPORTERS
    assert not unknown, f"{expression!r} queries metrics nobody exports: {sorted(unknown)}"


def test_the_dashboard_has_latency_exemplars_and_a_service_selector() -> None:
    dashboard = json.loads((FOLDER / "grafana-dashboard.json").read_text())
    latency = next(panel for panel in dashboard["panels"] if panel["title"].startswith("Latency"))
    assert all(target["exemplar"] for target in latency["targets"])
    assert {variable["name"] for variable in dashboard["templating"]["list"]} == {"datasource", "job"}


@pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool (Debian package prometheus) is not on PATH")
def test_promtool_accepts_the_alert_rules() -> None:
    result = subprocess.run(  # noqa: S603
        ["promtool", "check", "rules", str(FOLDER / "alerts.yaml")],  # noqa: S607
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
