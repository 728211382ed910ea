"""Read-only units of work: what a use case that only reads declares, so SQLite gives it no write lock.

Every SQLite transaction begins ``BEGIN IMMEDIATE`` (``serialize_sqlite_transactions``): a transaction that will
write takes the one write lock up front instead of failing halfway. A read needs no lock at all under WAL, yet
with ``IMMEDIATE`` every get and list queued behind every write (and behind the other reads), sleeping in SQLite's
busy handler, while a growing table made each holder slower. Sessions from ``read_only_session_factory`` carry
``READ_ONLY_OPTION`` on their connections, and their transactions begin deferred: a consistent snapshot, no lock.
Other databases ignore the option. A unit of work over such a factory runs its repository reads on a Core
connection of that engine (``SQLAlchemyUnitOfWork.execute``): a read needs no ORM session.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

__all__ = ["READ_ONLY_OPTION", "read_only_engine", "read_only_session_factory"]

#: The connection execution option a read-only session's transactions begin with.
READ_ONLY_OPTION = "apibase_read_only"


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
