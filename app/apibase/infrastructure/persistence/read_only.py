"""Read-only units of work: what a use case that only reads declares, so SQLite gives it no write lock.

Every SQLite transaction begins ``BEGIN IMMEDIATE`` (``serialize_sqlite_transactions``): a transaction that will
write takes the one write lock up front instead of failing halfway. A read needs no lock at all under WAL, yet
with ``IMMEDIATE`` every get and list queued behind every write (and behind the other reads), sleeping in SQLite's
busy handler, while a growing table made each holder slower. Sessions from ``read_only_session_factory`` carry
``READ_ONLY_OPTION`` on their connections, and their transactions begin deferred: a consistent snapshot, no lock.
Other databases ignore the option. A unit of work over such a factory runs its repository reads on a Core
connection of that engine (``SQLAlchemyUnitOfWork.execute``): a read needs no ORM session.

On PostgreSQL at ``READ COMMITTED`` (its default) every statement reads a snapshot of its own, inside a transaction
or not, so a read unit's ``BEGIN`` and ``ROLLBACK`` bought nothing but two round trips: that connection runs its
reads in autocommit (``statement_engine``). A session asked for on it (the way repositories write) puts it back
into transactions first (``rejoin_transactions``), so what the session does is undone unless committed, as before.
At a stricter default level, where a transaction's statements share a snapshot, reads keep their transaction.
"""

from __future__ import annotations

from weakref import WeakKeyDictionary

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker

__all__ = [
    "READ_ONLY_OPTION",
    "read_only_engine",
    "read_only_session_factory",
    "rejoin_transactions",
    "statement_engine",
]

#: The connection execution option a read-only session's transactions begin with.
READ_ONLY_OPTION = "apibase_read_only"
_AUTOCOMMIT = "AUTOCOMMIT"
#: Each read engine's autocommit twin (the same pool), made once.
_STANDALONE: WeakKeyDictionary[AsyncEngine, AsyncEngine] = WeakKeyDictionary()


def read_only_session_factory(sessions: async_sessionmaker[AsyncSession]) -> async_sessionmaker[AsyncSession]:
    """``sessions`` with the same settings and pool, on an engine whose connections are marked read-only."""
    options = dict(sessions.kw)
    bind = options.pop("bind")
    if not isinstance(bind, AsyncEngine):
        raise TypeError(f"read-only sessions need a session factory bound to one AsyncEngine, got {bind!r}")
    return async_sessionmaker(bind.execution_options(**{READ_ONLY_OPTION: True}), class_=sessions.class_, **options)


def read_only_engine(sessions: async_sessionmaker[AsyncSession]) -> AsyncEngine | None:
    """The engine of a factory made by ``read_only_session_factory``; None for any other factory."""
    bind = getattr(sessions, "kw", {}).get("bind")  # any callable making sessions serves a unit of work
    if isinstance(bind, AsyncEngine) and bind.get_execution_options().get(READ_ONLY_OPTION):
        return bind
    return None


def statement_engine(engine: AsyncEngine) -> AsyncEngine:
    """Where a read unit's Core connection comes from: ``engine`` itself, or, on PostgreSQL at ``READ COMMITTED``,
    ``engine`` in autocommit (the same pool), where a read sends its statements and nothing else."""
    if (known := _STANDALONE.get(engine)) is not None:
        return known
    dialect = engine.dialect
    if dialect.name != "postgresql" or engine.get_execution_options().get("isolation_level") is not None:
        return engine
    if dialect.default_isolation_level is None:  # not connected yet: known after the first connection
        return engine
    standalone = engine
    if dialect.default_isolation_level == "READ COMMITTED":
        standalone = engine.execution_options(isolation_level=_AUTOCOMMIT)
    _STANDALONE[engine] = standalone
    return standalone


def rejoin_transactions(connection: AsyncConnection) -> None:
    """Take a connection from ``statement_engine`` out of autocommit before a session joins it: what the session
    runs is one transaction again. In autocommit the driver holds no transaction, so this sends nothing."""
    sync = connection.sync_connection
    if sync is None or sync.get_execution_options().get("isolation_level") != _AUTOCOMMIT:
        return
    if sync.in_transaction():
        sync.rollback()  # SQLAlchemy's own bookkeeping: the driver has nothing to roll back
    sync.execution_options(isolation_level=sync.default_isolation_level)
