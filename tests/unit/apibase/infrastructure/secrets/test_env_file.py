"""EnvFileSecretsProvider: mounted file first, then APIBASE_SECRET_<NAME>; typed errors without values."""

from __future__ import annotations

from pathlib import Path

import pytest

from apibase.application.ports.secrets import SecretNotFound, SecretsUnavailable
from apibase.infrastructure.secrets import EnvFileSecretsProvider, env_var_name

pytestmark = pytest.mark.unit


def test_env_var_name_maps_dashes_and_dots() -> None:
    assert env_var_name("db-password.v2") == "APIBASE_SECRET_DB_PASSWORD_V2"


async def test_file_wins_over_the_variable_and_one_newline_is_dropped(tmp_path: Path) -> None:
    (tmp_path / "db-password").write_text("from-file\n")
    provider = EnvFileSecretsProvider(directory=tmp_path, environ={"APIBASE_SECRET_DB_PASSWORD": "from-env"})
    assert await provider.get("db-password") == "from-file"


async def test_crlf_is_dropped(tmp_path: Path) -> None:
    (tmp_path / "k").write_bytes(b"v \r\n")
    assert await EnvFileSecretsProvider(directory=tmp_path, environ={}).get("k") == "v "


async def test_variable_is_the_fallback(tmp_path: Path) -> None:
    provider = EnvFileSecretsProvider(directory=tmp_path, environ={"APIBASE_SECRET_API_KEY": "from-env"})
    assert await provider.get("api-key") == "from-env"


async def test_environ_defaults_to_the_process_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("APIBASE_SECRET_TOKEN", "t0k")
    assert await EnvFileSecretsProvider(directory=None).get("token") == "t0k"


async def test_empty_file_falls_back_and_empty_everything_is_not_found(tmp_path: Path) -> None:
    (tmp_path / "k").write_text("\n")
    provider = EnvFileSecretsProvider(directory=tmp_path, environ={"APIBASE_SECRET_K": ""})
    with pytest.raises(SecretNotFound) as caught:
        await provider.get("k")
    assert "APIBASE_SECRET_K" in caught.value.detail
    assert caught.value.status == 500


async def test_missing_without_directory_names_only_the_variable() -> None:
    with pytest.raises(SecretNotFound, match=r"\$APIBASE_SECRET_X is missing"):
        await EnvFileSecretsProvider(directory=None, environ={}).get("x")


async def test_unreadable_file_is_unavailable(tmp_path: Path) -> None:
    (tmp_path / "k").mkdir()  # reading a directory fails with an OSError other than FileNotFoundError
    with pytest.raises(SecretsUnavailable, match="cannot read secret 'k'"):
        await EnvFileSecretsProvider(directory=tmp_path, environ={}).get("k")


async def test_non_utf8_file_is_unavailable_and_not_echoed(tmp_path: Path) -> None:
    (tmp_path / "k").write_bytes(b"\xffsecret-bytes")
    with pytest.raises(SecretsUnavailable) as caught:
        await EnvFileSecretsProvider(directory=tmp_path, environ={}).get("k")
    assert "secret-bytes" not in str(caught.value)
    assert caught.value.__cause__ is None


@pytest.mark.parametrize("name", ["../etc/passwd", "a/b", "", ".hidden", "..", "x y"])
async def test_names_that_could_escape_the_directory_are_refused(tmp_path: Path, name: str) -> None:
    with pytest.raises(ValueError, match="invalid secret name"):
        await EnvFileSecretsProvider(directory=tmp_path, environ={}).get(name)


def test_repr_shows_no_values(tmp_path: Path) -> None:
    provider = EnvFileSecretsProvider(directory=tmp_path, environ={"APIBASE_SECRET_K": "hunter2"})
    assert "hunter2" not in repr(provider)
    assert str(tmp_path) in repr(provider)
