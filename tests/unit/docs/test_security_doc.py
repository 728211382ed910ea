"""docs/security.md names only real settings with their real defaults, the real middleware order and real codes."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from pydantic import BaseModel, SecretStr
from pydantic.fields import FieldInfo

from apibase.core.settings import ENV_PREFIX, NESTED_DELIMITER, Settings
from apibase.infrastructure.secrets.env_file import ENV_PREFIX as SECRET_PREFIX
from apibase.infrastructure.secrets.env_file import env_var_name
from apibase.infrastructure.security.key_material import SIGNING_KEY_SECRET
from apibase.interface.http.middleware.stack import MIDDLEWARE_ORDER
from shop.main import SERVICE

pytestmark = pytest.mark.unit

DOCS = Path(__file__).resolve().parents[3] / "docs"
TEXT = (DOCS / "security.md").read_text(encoding="utf-8")
_VARIABLE = re.compile(r"\bAPIBASE_[A-Z0-9_]*")
_REFERENCE_ROW = re.compile(r"^\| `(APIBASE_[A-Z0-9_]+)` \| (.+?) \|$", re.MULTILINE)
_LINK = re.compile(r"\]\(([^)#\s]*)(?:#([^)\s]+))?\)")


def _mentioned() -> tuple[set[str], set[str]]:
    """(settings variables, ``APIBASE_SECRET_<NAME>`` secret variables) named in the doc."""
    settings: set[str] = set()
    secrets: set[str] = set()
    for token in _VARIABLE.findall(TEXT):
        if token.startswith(SECRET_PREFIX):
            secrets.add(token)
        elif token.removeprefix(ENV_PREFIX).strip("_"):  # a bare ``APIBASE_*`` names no variable
            settings.add(token.rstrip("_"))
    return settings, secrets


def _is_section(annotation: object) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


def _field(variable: str) -> FieldInfo:
    """Walk ``APIBASE_<SECTION>__<FIELD>`` through Settings and its section models."""
    model: type[BaseModel] = Settings
    *sections, name = variable.removeprefix(ENV_PREFIX).lower().split(NESTED_DELIMITER)
    for section in sections:
        assert section in model.model_fields, f"{variable}: no section {section!r} in {model.__name__}"
        annotation = model.model_fields[section].annotation
        assert _is_section(annotation), f"{variable}: {section} is a value, not a section"
        assert isinstance(annotation, type)
        model = annotation
    assert name in model.model_fields, f"{variable}: {model.__name__} has no field {name!r}"
    return model.model_fields[name]


def _rendered(value: object) -> str:
    """A default as the doc's reference table writes it."""
    if value is None:
        return "unset"
    if isinstance(value, SecretStr):
        value = value.get_secret_value()
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, tuple | list | dict):
        return f"`{json.dumps(value)}`"
    return f"`{value}`"


def test_every_variable_is_a_real_setting() -> None:
    settings, _ = _mentioned()
    assert len(settings) > 40
    for variable in sorted(settings):
        _field(variable)


def test_secret_variables_name_secrets_the_service_reads() -> None:
    _, secrets = _mentioned()
    assert secrets - {SECRET_PREFIX} == {env_var_name(SIGNING_KEY_SECRET)}


def test_reference_table_lists_every_variable_with_its_real_default() -> None:
    rows = dict(_REFERENCE_ROW.findall(TEXT))
    settings, _ = _mentioned()
    values = {variable for variable in settings if not _is_section(_field(variable).annotation)}
    assert values - rows.keys() == set(), "variables named in the doc but missing from the reference table"
    for variable, documented in rows.items():
        actual = _rendered(_field(variable).get_default(call_default_factory=True))
        assert documented == actual, f"{variable}: the doc says {documented}, the default is {actual}"


def test_middleware_order_is_the_stack_order() -> None:
    listed = re.findall(r"^\d+\. `([a-z_]+)`", TEXT, re.MULTILINE)
    assert tuple(listed) == MIDDLEWARE_ORDER


def test_the_role_table_is_the_role_policy() -> None:
    table = TEXT[TEXT.index("| Role |") :].split("\n\n", 1)[0]
    header, _, *rows = table.splitlines()
    permissions = re.findall(r"`([a-z_-]+:[a-z_-]+)`", header)
    documented = {
        cells[0].strip("` "): {p for p, cell in zip(permissions, cells[1:], strict=True) if cell.strip() == "yes"}
        for cells in (row.strip("|").split("|") for row in rows)
    }
    policy = SERVICE.policy()
    assert set(permissions) == set(policy.registry)
    assert documented == {role: set(policy.grants(role)) for role in policy.roles}


def test_error_codes_are_documented() -> None:
    codes_doc = (DOCS / "error-codes.md").read_text(encoding="utf-8")
    documented = set(re.findall(r"^\| `([a-z0-9_]+\.[a-z0-9_]+)` \|", codes_doc, re.MULTILINE))
    domains = {code.partition(".")[0] for code in documented}
    named = {code for code in re.findall(r"`([a-z0-9_]+\.[a-z0-9_]+)`", TEXT) if code.partition(".")[0] in domains}
    assert len(named) > 20
    assert named - documented == set()


def _anchors(markdown: str) -> set[str]:
    headings = re.findall(r"^#+ (.+)$", markdown, re.MULTILINE)
    return {re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-") for heading in headings}


def test_links_resolve() -> None:
    for target, anchor in _LINK.findall(TEXT):
        path = DOCS / target if target else DOCS / "security.md"
        assert path.is_file(), f"broken link to {target}"
        if anchor:
            assert anchor in _anchors(path.read_text(encoding="utf-8")), f"no heading #{anchor} in {path.name}"
