"""Alembic's environment: run by Alembic for every command of every branch, never imported as a module.

``apibase.infrastructure.persistence.migrate`` puts the branch in ``config.attributes["branch"]``: its version
table, and the tables autogenerate may compare (only its own). Online, it either uses the connection the caller
put in ``config.attributes["connection"]`` or opens its own async engine and runs the migrations through
``connection.run_sync``. SQLite gets batch mode, since it can alter almost nothing in place.
"""

from __future__ import annotations

import asyncio
from typing import Literal

from alembic import context
from alembic.autogenerate.api import AutogenContext
from sqlalchemy import pool
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from apibase.infrastructure.persistence import column_types
from apibase.infrastructure.persistence.branches import Migrations
from apibase.infrastructure.persistence.database import is_sqlite
from apibase.infrastructure.persistence.schema import metadata

__all__: list[str] = []


def branch() -> Migrations:
    found = context.config.attributes.get("branch")
    if not isinstance(found, Migrations):
        raise TypeError("run migrations through apibase.infrastructure.persistence.migrate, which names the branch")
    return found


def render_item(type_: str, item: object, autogen_context: AutogenContext) -> str | Literal[False]:
    """Render the app's column types as ``ExactDecimal(...)`` with their import, not as a dotted module path."""
    if type_ == "type" and type(item).__module__ == column_types.__name__:
        autogen_context.imports.add(f"from {column_types.__name__} import {type(item).__name__}")
        return repr(item)
    return False


def run_offline(url: str, branch: Migrations) -> None:
    """``--sql`` mode: print the DDL instead of running it, e.g. for a DBA to review."""
    context.configure(
        url=url,
        target_metadata=metadata,
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
        render_as_batch=is_sqlite(url),
        version_table=branch.version_table,
        include_object=branch.include_object,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_on(connection: Connection, branch: Migrations) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        version_table=branch.version_table,
        include_object=branch.include_object,
        render_item=render_item,
    )
    with context.begin_transaction():
        context.run_migrations()


async def run_online(url: str, branch: Migrations) -> None:
    engine = create_async_engine(url, poolclass=pool.NullPool)
    try:
        async with engine.connect() as connection:
            await connection.run_sync(run_on, branch)
    finally:
        await engine.dispose()


def main() -> None:
    config = context.config
    url = config.get_main_option("sqlalchemy.url") or ""
    connection = config.attributes.get("connection")
    if context.is_offline_mode():
        run_offline(url, branch())
    elif isinstance(connection, Connection):
        run_on(connection, branch())
    else:
        asyncio.run(run_online(url, branch()))


main()
