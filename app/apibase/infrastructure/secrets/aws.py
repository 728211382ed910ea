"""Secrets from AWS Secrets Manager (or anything speaking its API, such as moto, via ``endpoint_url``).

botocore's error messages can echo request details, so only the error code reaches our messages and the cause
is dropped (``from None``); the secret's value never appears in a message.
"""

from __future__ import annotations

import asyncio
import json
from typing import Protocol, Self

import boto3  # type: ignore[import-untyped]
import botocore.exceptions  # type: ignore[import-untyped]

from apibase.application.ports.secrets import SecretNotFound, SecretsUnavailable
from apibase.infrastructure.secrets._names import split_field

__all__ = ["AwsSecretsManagerProvider", "SecretsManagerClient"]

_NOT_FOUND_CODES = frozenset({"ResourceNotFoundException"})


class SecretsManagerClient(Protocol):
    """The one boto3 ``secretsmanager`` call we need; a fake in unit tests."""

    def get_secret_value(self, *, SecretId: str) -> object: ...  # noqa: N803 - boto3's keyword


class AwsSecretsManagerProvider:
    """``get("app/db")`` returns the secret's string; ``get("app/db#password")`` one key of its JSON object.

    ``prefix`` is prepended to every name (e.g. ``prod/``). The blocking boto3 call runs in a thread.
    """

    def __init__(self, client: SecretsManagerClient, *, prefix: str = "", where: str = "secretsmanager") -> None:
        self._client = client
        self._prefix = prefix
        self._where = where

    @classmethod
    def create(
        cls,
        *,
        region_name: str,
        endpoint_url: str | None = None,
        prefix: str = "",
        aws_access_key_id: str | None = None,
        aws_secret_access_key: str | None = None,
        aws_session_token: str | None = None,
    ) -> Self:
        """A provider over a new boto3 client; credentials default to boto3's usual chain (env, role, ...)."""
        client = boto3.session.Session().client(
            "secretsmanager",
            region_name=region_name,
            endpoint_url=endpoint_url,
            aws_access_key_id=aws_access_key_id,
            aws_secret_access_key=aws_secret_access_key,
            aws_session_token=aws_session_token,
        )
        return cls(client, prefix=prefix, where=endpoint_url or f"secretsmanager.{region_name}")

    def __repr__(self) -> str:
        return f"AwsSecretsManagerProvider({self._where!r}, prefix={self._prefix!r})"

    async def get(self, name: str) -> str:
        path, field = split_field(name, None)
        secret_id = self._prefix + path
        raw = await asyncio.to_thread(self._read, secret_id)
        if field is None:
            value: object = raw
        else:
            try:
                document = json.loads(raw)
            except ValueError:
                raise SecretsUnavailable(f"secret {secret_id!r} at {self._where} is not a JSON object") from None
            if not isinstance(document, dict):
                raise SecretsUnavailable(f"secret {secret_id!r} at {self._where} is not a JSON object")
            if field not in document:
                raise SecretNotFound(f"secret {secret_id!r} at {self._where} has no key {field!r}")
            value = document[field]
        if not isinstance(value, str):
            raise SecretsUnavailable(f"key {field!r} of secret {secret_id!r} at {self._where} is not a string")
        if not value:
            raise SecretNotFound(f"secret {name!r} ({secret_id!r} at {self._where}) is empty")
        return value

    def _read(self, secret_id: str) -> str:
        what = f"reading secret {secret_id!r} at {self._where}"
        try:
            response = self._client.get_secret_value(SecretId=secret_id)
        except botocore.exceptions.ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code", "unknown"))
            if code in _NOT_FOUND_CODES:
                raise SecretNotFound(f"{what}: no such secret") from None
            raise SecretsUnavailable(f"{what}: failed ({code})") from None
        except botocore.exceptions.BotoCoreError as exc:
            raise SecretsUnavailable(f"{what}: failed ({type(exc).__name__})") from None
        if not isinstance(response, dict):
            raise SecretsUnavailable(f"{what}: unexpected answer")
        text = response.get("SecretString")
        if isinstance(text, str):
            return text
        binary = response.get("SecretBinary")
        if isinstance(binary, bytes):
            try:
                return binary.decode("utf-8")
            except UnicodeDecodeError:
                raise SecretsUnavailable(f"{what}: the binary secret is not UTF-8 text") from None
        raise SecretsUnavailable(f"{what}: the answer has no secret string")
