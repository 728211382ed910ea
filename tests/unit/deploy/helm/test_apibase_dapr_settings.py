"""The apibase chart and the operator agree with the app: the Dapr components it declares reach the container.

The chart renders an ApiBase; the operator turns it into the Deployment (``desired_objects``), whose env the
application's own Settings model reads here, so a renamed setting on either side fails these tests.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
import yaml

from apibase.core.settings import ENV_PREFIX, Settings
from apibase_operator.crd.models import ApiBaseResource
from apibase_operator.reconcile import Observed, desired_objects
from apibase_operator.reconcile.validation import validate_objects

pytestmark = pytest.mark.unit

type Obj = dict[str, Any]

SERVICE = "apibase"
PUBSUB = {"name": "events", "type": "pubsub.rabbitmq"}
OTHER_PUBSUB = {"name": "audit", "type": "pubsub.kafka"}
STATE = {"name": "cache", "type": "state.redis"}
ELSEWHERE = {"name": "checkout-secrets", "type": "secretstores.kubernetes", "scopes": ["checkout"]}
UNSCOPED = {"name": "shared-secrets", "type": "secretstores.kubernetes", "scopes": []}
MIDDLEWARE = {"name": "ratelimit", "type": "middleware.http.ratelimit"}


def _write(tmp_path: Path, values: Obj) -> Path:
    path = tmp_path / "values.yaml"
    path.write_text(yaml.safe_dump(values), encoding="utf-8")
    return path


def _objects(helm, values: Obj | None, tmp_path: Path, file: str = "ci/full-values.yaml") -> list[Obj]:
    """What the operator makes of the ApiBase the chart renders, validated like every rendered object."""
    if values is not None:
        file = str(_write(tmp_path, values))
    (apibase,) = [obj for obj in helm.template(SERVICE, (file,)) if obj["kind"] == "ApiBase"]
    objects = desired_objects(ApiBaseResource.model_validate(apibase), Observed())
    assert validate_objects(objects) == []
    return objects


def _env(objects: list[Obj]) -> list[Obj]:
    (deployment,) = [obj for obj in objects if obj["kind"] == "Deployment"]
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    return container["env"]


def _settings(env: list[Obj], secrets: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Settings:
    """The app's Settings from the container env, with Secret keys resolved from ``secrets`` (``name/key``)."""
    for name in list(os.environ):
        if name.startswith(ENV_PREFIX):
            monkeypatch.delenv(name)
    for var in env:
        if "value" in var:
            monkeypatch.setenv(var["name"], var["value"])
        else:
            ref = var["valueFrom"]["secretKeyRef"]
            monkeypatch.setenv(var["name"], secrets[f"{ref['name']}/{ref['key']}"])
    return Settings(_env_file=None)  # type: ignore[call-arg]


def _literal(env: list[Obj]) -> dict[str, str]:
    return {var["name"]: var["value"] for var in env if "value" in var}


def _dapr_values(*extra: Obj, components: tuple[Obj, ...] = (), **more: object) -> Obj:
    return {"dapr": {"enabled": True, "components": list(components)}, "extraDaprComponents": list(extra), **more}


def test_the_full_chart_gives_the_app_every_component_and_the_app_token(helm, tmp_path, monkeypatch):
    objects = _objects(helm, None, tmp_path)
    chart_components = {obj["metadata"]["name"] for obj in helm.template(SERVICE, ("ci/full-values.yaml",))}
    operator_components = {obj["metadata"]["name"] for obj in objects if obj["kind"] == "Component"}
    secrets = {"orders-db/url": "postgresql+asyncpg://orders@db/orders", "orders-dapr-app-token/token": "s3cret"}

    settings = _settings(_env(objects), secrets, monkeypatch)

    assert (settings.dapr.pubsub, settings.dapr.state_store) == ("orders-pubsub", "orders-state")
    assert {settings.dapr.pubsub, settings.dapr.state_store} <= operator_components
    assert settings.dapr.secret_store == "orders-secrets"
    assert settings.dapr.secret_store in chart_components
    assert settings.events.publisher == "dapr"
    assert settings.dapr.app_api_token is not None
    assert settings.dapr.app_api_token.get_secret_value() == "s3cret"
    (deployment,) = [obj for obj in objects if obj["kind"] == "Deployment"]
    assert deployment["spec"]["template"]["metadata"]["annotations"]["dapr.io/app-token-secret"] == (
        "orders-dapr-app-token"
    )


def test_the_first_extra_component_of_a_block_this_app_loads_is_the_apps(helm, tmp_path):
    values = _dapr_values(MIDDLEWARE, ELSEWHERE, PUBSUB, OTHER_PUBSUB, UNSCOPED, STATE)

    env = _literal(_env(_objects(helm, values, tmp_path)))

    assert env == {
        "APIBASE_DAPR__PUBSUB": "events",
        "APIBASE_EVENTS__PUBLISHER": "dapr",
        "APIBASE_DAPR__SECRET_STORE": "shared-secrets",
        "APIBASE_DAPR__STATE_STORE": "cache",
        "APIBASE_PORT": "8000",
    }


def test_the_operators_components_come_before_the_charts(helm, tmp_path):
    values = _dapr_values(OTHER_PUBSUB, STATE, components=({"name": "bus", "type": "pubsub.redis"},))

    (apibase,) = [obj for obj in helm.template(SERVICE, (str(_write(tmp_path, values)),)) if obj["kind"] == "ApiBase"]
    env = _literal(_env(_objects(helm, values, tmp_path)))

    assert apibase["spec"]["env"] == [{"name": "APIBASE_DAPR__STATE_STORE", "value": "cache"}]
    assert env["APIBASE_DAPR__PUBSUB"] == "bus"
    assert env["APIBASE_EVENTS__PUBLISHER"] == "dapr"


def test_the_values_env_wins(helm, tmp_path):
    own = [{"name": "APIBASE_DAPR__PUBSUB", "value": "audit"}, {"name": "APIBASE_EVENTS__PUBLISHER", "value": "kafka"}]
    values = _dapr_values(PUBSUB, OTHER_PUBSUB, env=own)

    env = _env(_objects(helm, values, tmp_path))

    assert _literal(env) == {
        "APIBASE_DAPR__PUBSUB": "audit",
        "APIBASE_EVENTS__PUBLISHER": "kafka",
        "APIBASE_PORT": "8000",
    }


def test_without_dapr_the_extra_components_name_nothing(helm, tmp_path):
    values = {"dapr": {"enabled": False}, "extraDaprComponents": [PUBSUB, STATE]}

    (apibase,) = [obj for obj in helm.template(SERVICE, (str(_write(tmp_path, values)),)) if obj["kind"] == "ApiBase"]

    assert "env" not in apibase["spec"]
    assert _literal(_env(_objects(helm, values, tmp_path))) == {"APIBASE_PORT": "8000"}
