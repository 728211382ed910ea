"""docs/events.md names only real settings, documents every events and Dapr setting, and real metric names."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pydantic import BaseModel

from apibase.core.settings import ENV_PREFIX, NESTED_DELIMITER, DaprSettings, EventsSettings, Settings
from apibase.testing.service import service_settings
from shop.main import create_app

pytestmark = pytest.mark.unit

TEXT = (Path(__file__).resolve().parents[3] / "docs" / "events.md").read_text(encoding="utf-8")
_VARIABLE = re.compile(r"\bAPIBASE_([A-Z0-9_]+)")


def _variables(section: str, model: type[BaseModel]) -> set[str]:
    return {f"{ENV_PREFIX}{section}{NESTED_DELIMITER}{name}".upper() for name in model.model_fields}


def test_every_variable_is_a_real_setting() -> None:
    for name in set(_VARIABLE.findall(TEXT)):
        *sections, field = name.lower().split(NESTED_DELIMITER)
        model: type[BaseModel] = Settings
        for section in sections:
            annotation = model.model_fields[section].annotation
            assert isinstance(annotation, type), name
            assert issubclass(annotation, BaseModel), name
            model = annotation
        assert field in model.model_fields, f"APIBASE_{name} is no setting"


@pytest.mark.parametrize(("section", "model"), [("events", EventsSettings), ("dapr", DaprSettings)])
def test_every_events_and_dapr_setting_is_documented(section: str, model: type[BaseModel]) -> None:
    mentioned = {ENV_PREFIX + name for name in _VARIABLE.findall(TEXT)}
    assert _variables(section, model) - mentioned == set()


def test_the_metrics_table_names_exported_metrics(tmp_path: Path) -> None:
    table = TEXT[TEXT.index("| Signal |") :].split("\n\n", 1)[0]
    named = set()
    for name in re.findall(r"`([a-z_{},]+)`", table):
        prefix, _, rest = name.partition("{")
        choices, _, suffix = rest.partition("}")
        named |= {prefix + choice + suffix for choice in choices.split(",")} if rest else {name}
    app = create_app(service_settings(tmp_path / "service.db"))
    exported, _ = app.state.kernel.metrics.render(None)
    assert {name for name in named if f"# HELP {name} ".encode() not in exported} == set()
