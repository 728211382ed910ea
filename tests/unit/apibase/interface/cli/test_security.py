"""``apibase security reencrypt`` end to end on a SQLite file: rotation, idempotence and clear exit codes.

The service is a kernel with one sample module that stores an encrypted field (``Notes``): the command finds the
modules that re-encrypt (``ReencryptsFields``) among the service's and runs each. The reference service's own job
is tested with it (``tests/unit/shop/ordering/test_reencrypt_command.py``).
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from sqlalchemy import MetaData, insert, select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from typer.testing import CliRunner

from apibase.core.settings import Settings
from apibase.domain.identity.permissions import Permission
from apibase.infrastructure.crypto.errors import DecryptionFailed
from apibase.infrastructure.crypto.field_encryption import FieldEncryptor
from apibase.infrastructure.crypto.key_ring_from_settings import encryptor_from_settings
from apibase.infrastructure.crypto.reencryption import DEFAULT_BATCH_SIZE, ReencryptionReport
from apibase.infrastructure.persistence.database import create_engine
from apibase.infrastructure.persistence.orm import GlobalTable
from apibase.interface.cli import security
from apibase.interface.cli.main import cli
from apibase.interface.cli.security import JOB_FAILED_EXIT_CODE, SETTINGS_ERROR_EXIT_CODE
from apibase.kernel import Kernel
from apibase.module import Features, Migrations
from apibase.service import ServiceDefinition

pytestmark = pytest.mark.unit

K1 = base64.b64encode(bytes(range(32))).decode()
K2 = base64.b64encode(bytes(range(1, 33))).decode()
AES_128 = base64.b64encode(bytes(range(16))).decode()


class _NotesBase(DeclarativeBase):
    metadata = MetaData()


class NoteRow(GlobalTable, _NotesBase):
    __tablename__ = "notes"

    id: Mapped[int] = mapped_column(primary_key=True)
    secret: Mapped[str]


@dataclass(frozen=True)
class Notes:
    """A module whose table holds one encrypted field, re-encrypted in one transaction when asked."""

    name: str = "notes"
    migrations: Migrations | None = None
    batch_sizes: list[int] = field(default_factory=list)

    @property
    def permissions(self) -> Mapping[Permission, str]:
        return {}

    def build(self, kernel: Kernel) -> Features:
        return Features()

    async def reencrypt(
        self, session_factory: async_sessionmaker[AsyncSession], encryptor: FieldEncryptor, *, batch_size: int
    ) -> ReencryptionReport:
        self.batch_sizes.append(batch_size)
        moved = 0
        async with session_factory() as session, session.begin():
            rows = (await session.scalars(select(NoteRow).order_by(NoteRow.id))).all()
            for row in rows:
                try:
                    new_token = encryptor.reencrypt(row.secret, field="secret", record_id=str(row.id))
                except DecryptionFailed as exc:
                    raise DecryptionFailed(f"note {row.id}: {exc.detail}") from None
                moved += new_token != row.secret
                row.secret = new_token
        return ReencryptionReport(scanned=len(rows), reencrypted=moved)


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No APIBASE_* variables or .env file from the developer's machine may leak into a test."""
    for name in list(os.environ):
        if name.startswith("APIBASE_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def notes(monkeypatch: pytest.MonkeyPatch) -> Notes:
    """The service the command runs: the kernel and ``Notes``, whatever service the environment has installed."""
    module = Notes()

    def load_service(reference: str | None = None) -> ServiceDefinition:
        return ServiceDefinition(modules=lambda: [module])

    monkeypatch.setattr(security, "load_service", load_service)
    return module


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture
def url(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}"


def env(url: str, keys: dict[str, str], primary: str) -> dict[str, str]:
    return {
        "APIBASE_DATABASE_URL": url,
        "APIBASE_ENCRYPTION__KEYS": json.dumps(keys),
        "APIBASE_ENCRYPTION__PRIMARY": primary,
    }


def run_sql(url: str, *statements: str) -> list[str]:
    """Execute the statements in one transaction; the first column of the last one's rows."""

    async def run() -> list[str]:
        engine = create_engine(Settings(database_url=url))
        try:
            async with engine.begin() as connection:
                rows = [await connection.execute(text(statement)) for statement in statements][-1]
                return [row[0] for row in rows] if rows.returns_rows else []
        finally:
            await engine.dispose()

    return asyncio.run(run())


def store_notes(url: str, secrets: list[str]) -> None:
    """The notes table, each secret encrypted as the service would with the only key, ``k1``."""
    encryptor = encryptor_from_settings(Settings(database_url=url, encryption={"keys": {"k1": K1}}))

    async def create() -> None:
        engine = create_engine(Settings(database_url=url))
        try:
            async with engine.begin() as connection:
                await connection.run_sync(_NotesBase.metadata.create_all)
                for number, secret in enumerate(secrets, start=1):
                    stored = encryptor.encrypt(secret, field="secret", record_id=str(number))
                    await connection.execute(insert(NoteRow).values(id=number, secret=stored))
        finally:
            await engine.dispose()

    asyncio.run(create())


def test_security_without_a_command_shows_help(runner: CliRunner) -> None:
    assert "reencrypt" in runner.invoke(cli, ["security"]).output


def test_reencrypt_moves_every_value_to_the_primary_key_once(runner: CliRunner, url: str, notes: Notes) -> None:
    store_notes(url, ["1 Acme Road", "2 Globex Lane"])
    rotated = env(url, {"k1": K1, "k2": K2}, "k2")

    first = runner.invoke(cli, ["security", "reencrypt", "--batch-size", "1"], env=rotated)
    second = runner.invoke(cli, ["security", "reencrypt"], env=rotated)

    assert (first.exit_code, first.stdout) == (0, "re-encrypted 2 of 2 encrypted value(s) to key 'k2'\n")
    assert (second.exit_code, second.stdout) == (0, "re-encrypted 0 of 2 encrypted value(s) to key 'k2'\n")
    assert notes.batch_sizes == [1, DEFAULT_BATCH_SIZE]
    stored = run_sql(url, "SELECT secret FROM notes ORDER BY id")
    assert [value[:6] for value in stored] == ["v1.k2.", "v1.k2."]
    assert not any("Road" in value or "Lane" in value for value in stored)


def test_a_broken_value_fails_with_exit_1_naming_it(runner: CliRunner, url: str, notes: Notes) -> None:
    store_notes(url, ["1 Acme Road"])
    run_sql(url, "UPDATE notes SET secret = 'v1.k1.AAAA.AAAA'")

    result = runner.invoke(cli, ["security", "reencrypt"], env=env(url, {"k1": K1, "k2": K2}, "k2"))

    assert result.exit_code == JOB_FAILED_EXIT_CODE
    assert result.stderr.startswith("DecryptionFailed: note 1: ")
    assert "(0 value(s) re-encrypted before it)" in result.stderr
    assert "Traceback" not in result.output


@pytest.mark.usefixtures("notes")
def test_production_without_keys_exits_2(runner: CliRunner, url: str) -> None:
    production = {
        "APIBASE_DATABASE_URL": url,
        "APIBASE_ENVIRONMENT": "production",
        "APIBASE_SECURITY__SECRET_KEY": "a-production-secret-that-is-long-enough",
    }

    result = runner.invoke(cli, ["security", "reencrypt"], env=production)

    assert result.exit_code == SETTINGS_ERROR_EXIT_CODE
    assert "APIBASE_ENCRYPTION__KEYS" in result.stderr


@pytest.mark.usefixtures("notes")
def test_invalid_settings_and_options_exit_2(runner: CliRunner, url: str) -> None:
    bad_port = runner.invoke(cli, ["security", "reencrypt"], env={"APIBASE_PORT": "abc"})
    bad_key = runner.invoke(cli, ["security", "reencrypt"], env=env(url, {"k1": AES_128}, "k1"))
    bad_batch = runner.invoke(cli, ["security", "reencrypt", "--batch-size", "0"], env={"APIBASE_DATABASE_URL": url})

    assert (bad_port.exit_code, "APIBASE_PORT" in bad_port.stderr) == (SETTINGS_ERROR_EXIT_CODE, True)
    assert (bad_key.exit_code, "must be 32 bytes" in bad_key.stderr) == (SETTINGS_ERROR_EXIT_CODE, True)
    assert AES_128 not in bad_key.stderr
    assert bad_batch.exit_code == 2


@pytest.mark.usefixtures("notes")
def test_a_database_without_the_tables_fails_with_exit_1_and_no_traceback(runner: CliRunner, url: str) -> None:
    result = runner.invoke(cli, ["security", "reencrypt"], env={"APIBASE_DATABASE_URL": url})

    assert result.exit_code == JOB_FAILED_EXIT_CODE
    assert result.stderr.startswith("OperationalError: ")
    assert "Traceback" not in result.output
