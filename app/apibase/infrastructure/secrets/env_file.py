"""Secrets from mounted files (Kubernetes ``/run/secrets/<name>``) or ``APIBASE_SECRET_<NAME>`` variables.

The file wins when both exist: mounted Secrets are the production path and Kubernetes updates them in place on
rotation, while a variable is frozen at process start and leaks more easily (``/proc/<pid>/environ``, child
processes, crash reports), so variables are the local-development fallback.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Mapping
from pathlib import Path

from apibase.application.ports.secrets import SecretNotFound, SecretsUnavailable
from apibase.infrastructure.secrets._names import check_flat_name

__all__ = ["DEFAULT_SECRETS_DIRECTORY", "ENV_PREFIX", "EnvFileSecretsProvider", "env_var_name"]

DEFAULT_SECRETS_DIRECTORY = Path("/run/secrets")
ENV_PREFIX = "APIBASE_SECRET_"


def env_var_name(name: str, prefix: str = ENV_PREFIX) -> str:
    """``db-password`` → ``APIBASE_SECRET_DB_PASSWORD`` ('-' and '.' become '_', letters upper case)."""
    return prefix + check_flat_name(name).upper().replace("-", "_").replace(".", "_")


class EnvFileSecretsProvider:
    """Reads ``<directory>/<name>`` first, then the environment variable; one trailing newline is dropped.

    ``directory=None`` reads variables only; ``environ`` defaults to ``os.environ`` (read at each call, so a
    test or a reloader can change it). Empty values count as missing: an empty key or password is a mistake.
    """

    def __init__(
        self,
        *,
        directory: str | Path | None = DEFAULT_SECRETS_DIRECTORY,
        environ: Mapping[str, str] | None = None,
        prefix: str = ENV_PREFIX,
    ) -> None:
        self._directory = Path(directory) if directory is not None else None
        self._environ = environ
        self._prefix = prefix

    def __repr__(self) -> str:
        return f"EnvFileSecretsProvider(directory={str(self._directory)!r}, prefix={self._prefix!r})"

    async def get(self, name: str) -> str:
        variable = env_var_name(name, self._prefix)
        if self._directory is not None:
            value = await asyncio.to_thread(self._read_file, self._directory / name, name)
            if value is not None:
                return value
        environ = os.environ if self._environ is None else self._environ
        value = environ.get(variable)
        if value:
            return value
        where = f"{self._directory / name} or ${variable}" if self._directory is not None else f"${variable}"
        raise SecretNotFound(f"secret {name!r} is not set ({where} is missing or empty)")

    @staticmethod
    def _read_file(path: Path, name: str) -> str | None:
        """The file's text without its trailing newline; None when there is no such file or it is empty."""
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise SecretsUnavailable(
                f"cannot read secret {name!r} from {path}: {exc.strerror or type(exc).__name__}"
            ) from None
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise SecretsUnavailable(f"secret {name!r} in {path} is not UTF-8 text") from None
        text = text.removesuffix("\n").removesuffix("\r")
        return text or None
