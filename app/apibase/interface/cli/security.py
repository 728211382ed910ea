"""``apibase security``: operator jobs for the service's keys, with the service's own settings.

``reencrypt`` finishes a field-encryption key rotation: once a new key is primary (``APIBASE_ENCRYPTION__PRIMARY``)
and deployed, it rewrites every stored value still under an older key, after which the old key can be removed.
"""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer
from sqlalchemy.exc import SQLAlchemyError

from apibase.core.settings import Settings, SettingsError, load_settings
from apibase.infrastructure.crypto.errors import DecryptionFailed
from apibase.infrastructure.crypto.field_encryption import FieldEncryptor
from apibase.infrastructure.crypto.key_ring_from_settings import encryptor_from_settings
from apibase.infrastructure.crypto.reencryption import DEFAULT_BATCH_SIZE, ReencryptionReport, ReencryptsFields
from apibase.infrastructure.persistence.database import create_engine, create_session_factory
from apibase.service import load_service

__all__ = ["JOB_FAILED_EXIT_CODE", "SETTINGS_ERROR_EXIT_CODE", "security_cli"]

#: Invalid configuration (settings or encryption keys): a usage problem to fix, as for the other commands.
SETTINGS_ERROR_EXIT_CODE = 2
#: The job itself failed: the database is unreachable, or a stored value cannot be decrypted.
JOB_FAILED_EXIT_CODE = 1

security_cli = typer.Typer(name="security", help="Security operations: key rotation.", no_args_is_help=True)


def _encryptor() -> tuple[Settings, FieldEncryptor]:
    try:
        settings = load_settings()
        return settings, encryptor_from_settings(settings)
    except (SettingsError, ValueError) as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(code=SETTINGS_ERROR_EXIT_CODE) from None


async def _reencrypt(settings: Settings, encryptor: FieldEncryptor, batch_size: int) -> ReencryptionReport:
    """Each of the service's modules that stores encrypted fields re-encrypts its own, one after the other."""
    jobs = [module for module in load_service(settings.service).modules() if isinstance(module, ReencryptsFields)]
    engine = create_engine(settings)
    report = ReencryptionReport()
    try:
        for job in jobs:
            report += await job.reencrypt(create_session_factory(engine), encryptor, batch_size=batch_size)
        return report
    finally:
        await engine.dispose()


@security_cli.command("reencrypt")
def reencrypt_command(
    batch_size: Annotated[
        int, typer.Option("--batch-size", min=1, max=100_000, help="Rows per transaction.")
    ] = DEFAULT_BATCH_SIZE,
) -> None:
    """Re-encrypt every stored encrypted field (all tenants) that is not under the primary key."""
    settings, encryptor = _encryptor()
    try:
        report = asyncio.run(_reencrypt(settings, encryptor, batch_size))
    except DecryptionFailed as exc:
        committed = exc.extensions.get("reencrypted", 0)
        typer.echo(f"DecryptionFailed: {exc.detail} ({committed} value(s) re-encrypted before it)", err=True)
        raise typer.Exit(code=JOB_FAILED_EXIT_CODE) from None
    except (SQLAlchemyError, OSError) as exc:
        # One line naming the failure; never the URL, which may hold a password.
        typer.echo(f"{type(exc).__name__}: {str(exc).strip().partition(chr(10))[0]}", err=True)
        raise typer.Exit(code=JOB_FAILED_EXIT_CODE) from None
    typer.echo(
        f"re-encrypted {report.reencrypted} of {report.scanned} encrypted value(s) "
        f"to key {encryptor.ring.primary_kid!r}"
    )
