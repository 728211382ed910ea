"""Engines and sessions from settings: SQLite (aiosqlite) by default, PostgreSQL (asyncpg) with a pool."""

from __future__ import annotations

from typing import Final

from sqlalchemy import event
from sqlalchemy.engine import Connection, ExceptionContext, make_url
from sqlalchemy.engine.default import DefaultDialect
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.pool import ConnectionPoolEntry, QueuePool

from apibase.core.errors import WriteContention
from apibase.core.settings import DatabaseSettings, Settings
from apibase.infrastructure.persistence.postgres_round_trips import ping_in_one_round_trip
from apibase.infrastructure.persistence.read_only import READ_ONLY_OPTION
from apibase.infrastructure.persistence.sqlite_round_trips import begin_transaction, reset_only_open_transactions
from apibase.infrastructure.persistence.sqlite_writers import queue_sqlite_writers, take_turn

__all__ = [
    "SQLITE_WAL_SIZE_LIMIT",
    "create_engine",
    "create_session_factory",
    "is_sqlite",
    "serialize_sqlite_transactions",
]


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def create_engine(settings: Settings) -> AsyncEngine:
    url = settings.database_url
    if is_sqlite(url):
        engine = create_async_engine(
            url,
            echo=settings.database.echo,
            connect_args={"timeout": 15},
            pool_reset_on_return=None,
            **_sqlite_pool(url, settings.database),
        )
        _make_sqlite_transactional(engine)
        reset_only_open_transactions(engine)
        return engine
    pool = settings.database
    engine = create_async_engine(
        url,
        echo=pool.echo,
        pool_size=pool.pool_size,
        max_overflow=pool.max_overflow,
        pool_timeout=pool.pool_timeout_seconds,
        pool_pre_ping=pool.pool_pre_ping,
        connect_args=_application_name(url, settings.service_name),
    )
    ping_in_one_round_trip(engine)
    return engine


def _sqlite_pool(url: str, pool: DatabaseSettings) -> dict[str, object]:
    """A file database keeps every connection it opens, up to the same ``pool_size + max_overflow`` ceiling.

    SQLAlchemy's default for it (5 kept, 10 more opened on demand) closed a connection whenever one came back to
    a pool holding 5 idle ones and opened a new one at the next peak: under 16 busy clients, up to 3 connections a
    second, each a new aiosqlite thread, its pragmas, and SQLite parsing the whole schema again on its first
    statement. Opening costs SQLite more than an idle connection (a parked thread) does. In-memory databases keep
    their single connection (SQLAlchemy's ``StaticPool``) and take no sizes."""
    parsed = make_url(url)
    dialect = parsed.get_dialect()
    if not issubclass(dialect, DefaultDialect) or not issubclass(dialect.get_pool_class(parsed), QueuePool):
        return {}
    return {
        "pool_size": pool.pool_size + pool.max_overflow,
        "max_overflow": 0,
        "pool_timeout": pool.pool_timeout_seconds,
    }


def _application_name(url: str, name: str) -> dict[str, object]:
    """Name the connections after the service on PostgreSQL, so ``pg_stat_activity`` tells whose they are."""
    match make_url(url).get_driver_name():
        case "asyncpg":
            return {"server_settings": {"application_name": name}}
        case "psycopg" | "psycopg_async":
            return {"application_name": name}
        case _:
            return {}


#: What a WAL file is cut back to once a checkpoint restarts it: busy readers let it grow to hundreds of MiB, and
#: SQLite keeps a grown WAL file at its largest size unless told otherwise.
SQLITE_WAL_SIZE_LIMIT: Final = 64 * 1024 * 1024


def _make_sqlite_transactional(engine: AsyncEngine) -> None:
    """WAL (readers never block the writer) kept under ``SQLITE_WAL_SIZE_LIMIT`` once reset, foreign keys, and
    transactions as ``serialize_sqlite_transactions``."""

    @event.listens_for(engine.sync_engine, "connect")
    def on_connect(dbapi_connection: object, record: ConnectionPoolEntry) -> None:
        cursor = dbapi_connection.cursor()  # type: ignore[attr-defined]
        wal = ("journal_mode=WAL", f"journal_size_limit={SQLITE_WAL_SIZE_LIMIT}")
        for pragma in (*wal, "foreign_keys=ON", "synchronous=NORMAL"):
            cursor.execute(f"PRAGMA {pragma}")
        cursor.close()

    serialize_sqlite_transactions(engine)

    @event.listens_for(engine.sync_engine, "handle_error")
    def on_error(context: ExceptionContext) -> None:
        # A transaction that waited for the write lock longer than the busy timeout: a lost race, which the command
        # bus runs again and a client that still sees it retries.
        if "database is locked" in str(context.original_exception):
            raise WriteContention("the data changed concurrently; retry the request") from None


def serialize_sqlite_transactions(engine: AsyncEngine) -> None:
    """Let SQLAlchemy, not the sqlite3 module, emit BEGIN (otherwise SAVEPOINTs and DDL run outside any
    transaction), and make it ``BEGIN IMMEDIATE``: a transaction takes the write lock when it starts, so
    transactions queue (within a busy timeout) instead of failing. A deferred one that read before a background
    writer (the outbox relay, a subscription) committed could no longer write, and its request would answer 409 for
    no reason of the client's; two workers migrating one new database at once would both create its tables.
    SQLite has one writer anyway; PostgreSQL is for concurrency. Read-only sessions (``read_only.py``) begin
    deferred: under WAL a reader needs no lock, and queueing it behind every writer only made it slow. Writers of
    one process queue in order for their turn (``sqlite_writers.py``) rather than in SQLite's busy handler.
    """
    queue_sqlite_writers(engine)

    @event.listens_for(engine.sync_engine, "connect")
    def on_connect(dbapi_connection: object, record: ConnectionPoolEntry) -> None:
        dbapi_connection.isolation_level = None  # type: ignore[attr-defined]
        cursor = dbapi_connection.cursor()  # type: ignore[attr-defined]
        cursor.execute("PRAGMA busy_timeout=15000")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def on_begin(connection: Connection) -> None:
        if connection.get_execution_options().get(READ_ONLY_OPTION):
            begin_transaction(connection, "BEGIN")
            return
        take_turn(connection)
        begin_transaction(connection, "BEGIN IMMEDIATE")


def create_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)
