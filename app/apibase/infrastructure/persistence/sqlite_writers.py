"""One SQLite writer at a time per process, queued in arrival order, instead of in SQLite's busy handler.

SQLite has a single write lock, which every write transaction takes as it begins (``BEGIN IMMEDIATE``). One that
cannot take it sleeps in the busy handler (1, 2, 5, ... then 100 ms between tries) while newcomers take the lock in
between: under a sustained mix of writes some creates waited 5-10 s while the average was a few milliseconds. So a
connection about to begin a write transaction first queues on an asyncio lock of its engine (first come, first
served, no sleeping) and holds it exactly as long as SQLite's lock: until the transaction commits or rolls back
(or, at the latest, until the connection goes back to the pool). The busy handler then only meets other processes.
Read-only transactions (``read_only.py``) take neither lock; nothing changes for other databases.

A turn not given within the connection's busy timeout is the same lost race SQLite reports: ``WriteContention``.
"""

from __future__ import annotations

import asyncio
from weakref import WeakKeyDictionary

from sqlalchemy import event
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.pool import ConnectionPoolEntry, Pool
from sqlalchemy.util.concurrency import await_only, in_greenlet

from apibase.core.errors import WriteContention

__all__ = ["queue_sqlite_writers", "take_turn"]

_TURN = "apibase_sqlite_turn"
_BUSY_TIMEOUT = "apibase_sqlite_busy_timeout"
_gates: WeakKeyDictionary[Pool, tuple[asyncio.AbstractEventLoop, asyncio.Lock]] = WeakKeyDictionary()


def queue_sqlite_writers(engine: AsyncEngine) -> None:
    """Give each finished transaction's turn back; ``take_turn`` is called as a write transaction begins."""
    sync_engine = engine.sync_engine

    @event.listens_for(sync_engine, "commit")
    @event.listens_for(sync_engine, "rollback")
    def on_end(connection: Connection) -> None:
        _give_back(connection.info)

    @event.listens_for(sync_engine, "checkin")
    def on_checkin(dbapi_connection: object, record: ConnectionPoolEntry) -> None:
        _give_back(record.info)  # a connection that never ended its transaction properly (an error)


def take_turn(connection: Connection) -> None:
    """Wait (in the event loop) until no other connection of this engine is in a write transaction."""
    if _TURN in connection.info or not in_greenlet():  # already holding it; or plain synchronous use
        return
    loop = asyncio.get_running_loop()
    pool = connection.engine.pool  # one gate per pool: engine copies with other execution options share it
    gate = _gates.get(pool)
    if gate is None or gate[0] is not loop:  # an engine that outlived its event loop (tests) gets a fresh lock
        gate = _gates[pool] = (loop, asyncio.Lock())
    lock = gate[1]
    await_only(_acquire(lock, _busy_timeout(connection)))
    connection.info[_TURN] = lock


async def _acquire(lock: asyncio.Lock, seconds: float) -> None:
    try:
        async with asyncio.timeout(seconds):
            await lock.acquire()
    except TimeoutError:
        raise WriteContention("the data is being changed by other requests; retry the request") from None


def _busy_timeout(connection: Connection) -> float:
    """The connection's own busy timeout (read once per pooled connection): how long SQLite would have waited."""
    seconds = connection.info.get(_BUSY_TIMEOUT)
    if seconds is None:
        milliseconds = connection.exec_driver_sql("PRAGMA busy_timeout").scalar_one()
        seconds = connection.info[_BUSY_TIMEOUT] = int(milliseconds) / 1000
    return float(seconds)


def _give_back(info: dict[object, object]) -> None:
    lock = info.pop(_TURN, None)
    if isinstance(lock, asyncio.Lock) and lock.locked():
        lock.release()
