"""Fewer round trips to PostgreSQL per checkout: the pool's pre-ping in one instead of three.

Every request checks a connection out of the pool, and with ``pool_pre_ping`` (the default) SQLAlchemy's asyncpg
dialect pings it inside a transaction of its own, ``BEGIN``, ``;``, ``ROLLBACK``: three round trips, each a wake-up
of a server backend and of the event loop, before the request's own statements (a get by id sent six, three of them
the ping's). The transaction is there for PgBouncer in transaction mode (SQLAlchemy issue 10226); this service talks
to PostgreSQL directly, and a connection idle in the pool has no transaction open, so the ping runs the same ``;``
as a statement of its own (asyncpg, autocommit for that one statement): one round trip, the same detection of a
dead connection (the dialect's own error handling and ``is_disconnect``) and the same reconnect.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine

__all__ = ["ping_in_one_round_trip"]


def ping_in_one_round_trip(engine: AsyncEngine) -> None:
    """Make ``engine``'s pre-ping one statement outside any transaction (asyncpg only; other drivers keep theirs)."""
    dialect = engine.sync_engine.dialect
    if dialect.driver != "asyncpg":
        return

    def do_ping(dbapi_connection: object) -> bool:
        # The connection is idle (just taken from the pool): for the ping's one statement it need not begin a
        # transaction. Put back afterwards, whatever the ping raised; errors go to the pool as the dialect's own.
        if dbapi_connection.autocommit:  # type: ignore[attr-defined]
            dbapi_connection.ping()  # type: ignore[attr-defined]
            return True
        dbapi_connection.autocommit = True  # type: ignore[attr-defined]
        try:
            dbapi_connection.ping()  # type: ignore[attr-defined]
        finally:
            dbapi_connection.autocommit = False  # type: ignore[attr-defined]
        return True

    dialect.do_ping = do_ping  # type: ignore[method-assign]
