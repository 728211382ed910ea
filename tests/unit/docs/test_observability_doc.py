"""docs/observability.md lists exactly the readiness checks the service registers, each as vital as it is."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pydantic import SecretStr

from apibase.core.settings import ObservabilitySettings, SecretsSettings
from apibase.interface.http.health import HealthRegistry
from apibase.testing.service import FAST_AUTH, service_settings
from shop.main import create_app

pytestmark = pytest.mark.unit

TEXT = (Path(__file__).resolve().parents[3] / "docs" / "observability.md").read_text(encoding="utf-8")
_ROW = re.compile(r"^\s*\| `([a-z_]+)` \| [^|]+ \| (yes|no) \|", re.MULTILINE)


def test_the_readiness_table_matches_the_registered_checks(tmp_path: Path) -> None:
    everything = service_settings(
        tmp_path / "service.db",
        redis_url="redis://127.0.0.1:1/0",
        secrets=SecretsSettings(provider="vault", vault_url="http://127.0.0.1:1", vault_token=SecretStr("t")),
        observability=ObservabilitySettings(log_shipping_url="http://127.0.0.1:1"),
        auth=FAST_AUTH.model_copy(
            update={
                "external_jwks_url": "http://127.0.0.1:1/jwks.json",
                "external_issuer": "https://idp.example",
                "external_audience": "apibase",
            }
        ),
    )
    health = create_app(everything).state.health  # nothing is contacted before start-up
    assert isinstance(health, HealthRegistry)
    documented = {name: vital == "yes" for name, vital in _ROW.findall(TEXT)}
    assert documented == {name: check.vital for name, check in health.checks.items()}
