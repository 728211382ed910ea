"""The Dapr components and tokens of an ApiBase reach the container as the application's own settings."""

from __future__ import annotations

import os

import pytest
from pydantic import BaseModel

from apibase.core.settings import ENV_PREFIX, NESTED_DELIMITER, DaprSettings, EventsSettings, Settings
from apibase_operator.reconcile import Observed, desired_objects
from apibase_operator.reconcile.dapr import PUBLISHER_VARIABLE, SETTING_BY_BLOCK, TOKEN_KEY, TOKEN_VARIABLES
from apibase_operator.reconcile.validation import validate_objects

pytestmark = pytest.mark.unit

PUBSUB = {"name": "orders-pubsub", "type": "pubsub.redis"}
STATE = {"name": "orders-state", "type": "state.postgresql"}
SECRETS = {"name": "orders-secrets", "type": "secretstores.kubernetes"}
BINDING = {"name": "orders-cron", "type": "bindings.cron"}


def _variable(section: str, model: type[BaseModel], field: str) -> str:
    """The environment variable pydantic-settings reads for ``Settings.<section>.<field>``."""
    assert Settings.model_fields[section].annotation is model
    assert field in model.model_fields, f"{model.__name__} has no field {field!r}"
    return f"{ENV_PREFIX}{section}{NESTED_DELIMITER}{field}".upper()


def _settings_from(env: list[dict], monkeypatch: pytest.MonkeyPatch) -> Settings:
    """The Settings the application builds from the container's literal env (nothing else of ours set)."""
    for name in list(os.environ):
        if name.startswith(ENV_PREFIX):
            monkeypatch.delenv(name)
    for var in env:
        monkeypatch.setenv(var["name"], var["value"])
    return Settings(_env_file=None)  # type: ignore[call-arg]


def _literal_env(container: dict) -> dict[str, str]:
    return {var["name"]: var["value"] for var in container["env"] if "value" in var}


def test_the_variables_are_the_settings_of_the_application():
    assert {
        "pubsub": _variable("dapr", DaprSettings, "pubsub"),
        "state": _variable("dapr", DaprSettings, "state_store"),
        "secretstores": _variable("dapr", DaprSettings, "secret_store"),
    } == SETTING_BY_BLOCK
    assert _variable("events", EventsSettings, "publisher") == PUBLISHER_VARIABLE
    assert "dapr" in EventsSettings.model_fields["publisher"].annotation.__args__  # type: ignore[union-attr]
    assert (
        _variable("dapr", DaprSettings, "app_api_token"),
        _variable("dapr", DaprSettings, "api_token"),
    ) == TOKEN_VARIABLES


def test_the_application_uses_the_components_the_operator_created(make, render, monkeypatch):
    rendered = render(make(dapr={"components": [BINDING, PUBSUB, STATE, SECRETS]}))
    created = {obj["metadata"]["name"] for obj in rendered.objects if obj["kind"] == "Component"}

    settings = _settings_from(rendered.container()["env"], monkeypatch)

    assert {settings.dapr.pubsub, settings.dapr.state_store, settings.dapr.secret_store} <= created
    assert (settings.dapr.pubsub, settings.dapr.state_store, settings.dapr.secret_store) == (
        "orders-pubsub",
        "orders-state",
        "orders-secrets",
    )
    assert settings.events.publisher == "dapr"
    assert validate_objects(rendered.objects) == []


def test_the_settings_follow_the_port_and_the_users_env(make, render):
    env = [{"name": "APIBASE_LOG_LEVEL", "value": "DEBUG"}]
    container = render(make(env=env, dapr={"components": [PUBSUB]})).container()

    assert container["env"] == [
        {"name": "APIBASE_LOG_LEVEL", "value": "DEBUG"},
        {"name": "APIBASE_PORT", "value": "8000"},
        {"name": "APIBASE_DAPR__PUBSUB", "value": "orders-pubsub"},
        {"name": "APIBASE_EVENTS__PUBLISHER", "value": "dapr"},
    ]


def test_the_first_component_of_a_block_is_the_applications(make, render):
    second = {"name": "audit-pubsub", "type": "pubsub.kafka"}
    other_state = {"name": "cache", "type": "state.redis"}

    env = _literal_env(render(make(dapr={"components": [PUBSUB, STATE, second, other_state]})).container())

    assert env["APIBASE_DAPR__PUBSUB"] == "orders-pubsub"
    assert env["APIBASE_DAPR__STATE_STORE"] == "orders-state"


def test_a_variable_in_spec_env_overrides_the_choice(make, render):
    second = {"name": "audit-pubsub", "type": "pubsub.kafka"}
    own = [
        {"name": "APIBASE_DAPR__PUBSUB", "value": "audit-pubsub"},
        {"name": "APIBASE_EVENTS__PUBLISHER", "value": "kafka"},
    ]

    env = render(make(env=own, dapr={"components": [PUBSUB, second]})).container()["env"]

    names = [var["name"] for var in env]
    assert len(names) == len(set(names))
    assert _literal_env({"env": env}) == {
        "APIBASE_DAPR__PUBSUB": "audit-pubsub",
        "APIBASE_EVENTS__PUBLISHER": "kafka",
        "APIBASE_PORT": "8000",
    }


def test_dapr_without_pubsub_leaves_the_publisher_alone(make, render, monkeypatch):
    env = render(make(dapr={"components": [STATE]})).container()["env"]

    settings = _settings_from(env, monkeypatch)

    assert settings.dapr.state_store == "orders-state"
    assert settings.events.publisher == EventsSettings.model_fields["publisher"].default
    assert settings.dapr.pubsub == DaprSettings.model_fields["pubsub"].default


@pytest.mark.parametrize(
    "dapr",
    [None, {"enabled": False, "components": [PUBSUB, STATE]}, {"components": [BINDING]}],
    ids=["no-dapr", "dapr-disabled", "no-component-the-app-uses"],
)
def test_no_settings_without_components_the_app_uses(make, render, dapr):
    resource = make(dapr=dapr) if dapr is not None else make()

    assert render(resource).container()["env"] == [{"name": "APIBASE_PORT", "value": "8000"}]


def test_the_tokens_come_from_the_secrets_the_sidecar_reads(make, render):
    dapr = {"components": [PUBSUB], "appTokenSecret": "orders-app-token", "apiTokenSecret": "orders-dapr-token"}
    rendered = render(make(dapr=dapr))
    env = rendered.container()["env"]

    assert rendered.pod_annotations()["dapr.io/app-token-secret"] == "orders-app-token"
    assert rendered.pod_annotations()["dapr.io/api-token-secret"] == "orders-dapr-token"
    assert env[-2:] == [
        {
            "name": "APIBASE_DAPR__APP_API_TOKEN",
            "valueFrom": {"secretKeyRef": {"name": "orders-app-token", "key": TOKEN_KEY}},
        },
        {
            "name": "APIBASE_DAPR__API_TOKEN",
            "valueFrom": {"secretKeyRef": {"name": "orders-dapr-token", "key": TOKEN_KEY}},
        },
    ]
    assert validate_objects(rendered.objects) == []


def test_no_tokens_when_dapr_is_off(make, render):
    rendered = render(make(dapr={"enabled": False, "appTokenSecret": "orders-app-token"}))

    assert "dapr.io/app-token-secret" not in rendered.pod_annotations()
    assert all(var["name"] not in TOKEN_VARIABLES for var in rendered.container()["env"])


def test_the_canary_gets_the_same_settings(make):
    resource = make(dapr={"components": [PUBSUB, STATE]}, canary={"image": "ghcr.io/acme/orders:1.5.0"})
    objects = desired_objects(resource, Observed(canary_active=True, canary_weight=10))
    stable, canary = (
        next(obj for obj in objects if obj["kind"] == "Deployment" and obj["metadata"]["name"] == name)
        for name in ("orders", "orders-canary")
    )

    def env_of(deployment: dict) -> list[dict]:
        (container,) = deployment["spec"]["template"]["spec"]["containers"]
        return container["env"]

    assert env_of(stable) == env_of(canary)
    assert {"name": "APIBASE_DAPR__STATE_STORE", "value": "orders-state"} in env_of(canary)
