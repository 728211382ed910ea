"""``apibase security reencrypt`` on the reference service, end to end on a SQLite file: the ordering module's
encrypted addresses in every tenant move to the new key once, and a broken one names its order.

The command's own behaviour (exit codes, settings errors) is the kernel's, tested in
``tests/unit/apibase/interface/cli/test_security.py``.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from apibase.application.cursor import CursorCodec
from apibase.core.settings import Settings
from apibase.infrastructure.crypto.key_ring_from_settings import encryptor_from_settings
from apibase.infrastructure.persistence.database import create_engine, create_session_factory
from apibase.infrastructure.persistence.tenancy import tenant_scope
from apibase.infrastructure.persistence.unit_of_work import SQLAlchemyUnitOfWork
from apibase.interface.cli.main import cli
from apibase.interface.cli.security import JOB_FAILED_EXIT_CODE
from shop.catalog.domain import ProductId
from shop.ordering.domain import Order, OrderLine
from shop.ordering.infrastructure import OrderRepository

pytestmark = pytest.mark.unit

K1 = base64.b64encode(bytes(range(32))).decode()
K2 = base64.b64encode(bytes(range(1, 33))).decode()
#: The service under test, whatever service the environment has installed.
SERVICE = {"APIBASE_SERVICE": "shop.main:SERVICE"}


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No APIBASE_* variables or .env file from the developer's machine may leak into a test."""
    for name in list(os.environ):
        if name.startswith("APIBASE_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture
def url(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}"


def env(url: str, keys: dict[str, str], primary: str) -> dict[str, str]:
    return {
        **SERVICE,
        "APIBASE_DATABASE_URL": url,
        "APIBASE_ENCRYPTION__KEYS": json.dumps(keys),
        "APIBASE_ENCRYPTION__PRIMARY": primary,
    }


def place_orders(url: str, tenants: dict[str, str]) -> list[Order]:
    """One order per tenant, its address encrypted as the service would with the only key, ``k1``."""
    settings = Settings(database_url=url, encryption={"keys": {"k1": K1}})
    orders: list[Order] = []

    async def place() -> None:
        engine = create_engine(settings)
        try:
            for tenant, address in tenants.items():
                line = OrderLine.of(
                    product_id=ProductId.new(), sku="SKU-1", unit_price=Decimal("1.00"), currency="EUR", quantity=1
                )
                order = Order.place(
                    customer_email="a@example.com", currency="EUR", lines=[line], shipping_address=address
                )
                with tenant_scope(tenant):
                    async with SQLAlchemyUnitOfWork(create_session_factory(engine)) as uow:
                        repository = OrderRepository(
                            uow,
                            cursor_codec=CursorCodec("cli-tests-secret"),
                            encryptor=encryptor_from_settings(settings),
                        )
                        await repository.add(order)
                        await uow.commit()
                orders.append(order)
        finally:
            await engine.dispose()

    asyncio.run(place())
    return orders


def raw_addresses(url: str) -> list[str]:
    async def read() -> list[str]:
        engine = create_engine(Settings(database_url=url))
        try:
            async with engine.connect() as connection:
                rows = await connection.execute(text("SELECT shipping_address FROM orders ORDER BY id"))
                return [row[0] for row in rows]
        finally:
            await engine.dispose()

    return asyncio.run(read())


def break_addresses(url: str) -> None:
    async def write() -> None:
        engine = create_engine(Settings(database_url=url))
        try:
            async with engine.begin() as connection:
                await connection.execute(text("UPDATE orders SET shipping_address = 'v1.k1.AAAA.AAAA'"))
        finally:
            await engine.dispose()

    asyncio.run(write())


@pytest.fixture
def migrated(runner: CliRunner, url: str) -> str:
    result = runner.invoke(cli, ["db", "upgrade"], env={**SERVICE, "APIBASE_DATABASE_URL": url})
    assert result.exit_code == 0, result.output
    return url


def test_reencrypt_moves_every_tenant_to_the_primary_key_once(runner: CliRunner, migrated: str) -> None:
    place_orders(migrated, {"acme": "1 Acme Road", "globex": "2 Globex Lane"})
    rotated = env(migrated, {"k1": K1, "k2": K2}, "k2")

    first = runner.invoke(cli, ["security", "reencrypt", "--batch-size", "1"], env=rotated)
    second = runner.invoke(cli, ["security", "reencrypt"], env=rotated)

    assert (first.exit_code, first.stdout) == (0, "re-encrypted 2 of 2 encrypted value(s) to key 'k2'\n")
    assert (second.exit_code, second.stdout) == (0, "re-encrypted 0 of 2 encrypted value(s) to key 'k2'\n")
    assert [token[:6] for token in raw_addresses(migrated)] == ["v1.k2.", "v1.k2."]
    assert not any("Road" in token or "Lane" in token for token in raw_addresses(migrated))


def test_a_broken_value_fails_with_exit_1_naming_the_order(runner: CliRunner, migrated: str) -> None:
    [order] = place_orders(migrated, {"acme": "1 Acme Road"})
    break_addresses(migrated)

    result = runner.invoke(cli, ["security", "reencrypt"], env=env(migrated, {"k1": K1, "k2": K2}, "k2"))

    assert result.exit_code == JOB_FAILED_EXIT_CODE
    assert result.stderr.startswith(f"DecryptionFailed: order {order.id}: ")
    assert "(0 value(s) re-encrypted before it)" in result.stderr
    assert "Traceback" not in result.output
