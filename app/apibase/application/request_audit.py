"""The audit entry of the mutating request being served, for the unit of work that commits its change to carry.

The audit edge opens one per mutating request (``request_audit``, a context variable). The first unit of work
that commits during the request and may write to the audit log's store (the log decides) writes the entry in its
own transaction: atomic with the change, and without a write transaction of its own (on PostgreSQL one commit and
its WAL flush fewer, on SQLite one wait fewer for the single write lock). What the entry says then is a forecast:
the route's success status, and for a create the id of the first entity the unit inserted. After the response the
edge compares it with how the request really ended and amends the stored entry when they differ, or records it
then when no unit took it (refused requests, rollbacks, a store the unit may not write to).

Public API: ``RequestAudit(forecast, log)``, ``request_audit`` (the context variable).
"""

from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar

from apibase.application.ports.audit import AuditEntry, AuditLog

__all__ = ["RequestAudit", "request_audit"]


class RequestAudit:
    """One request's entry: taken by at most one committing unit of work, until the edge closes it."""

    __slots__ = ("_forecast", "_open", "log", "written")

    def __init__(self, forecast: Callable[[str | None], AuditEntry | None], log: AuditLog) -> None:
        #: Builds the entry as the request stands at a commit, given the id of the first entity the unit inserted;
        #: ``None`` while it cannot tell yet (a unit committing before routing, e.g. the caller's credential's).
        self._forecast = forecast
        #: Where the entry belongs: a unit writes it only into that store.
        self.log = log
        #: The entry a unit of work committed, if any.
        self.written: AuditEntry | None = None
        self._open = True

    def take(self, written_id: str | None) -> AuditEntry | None:
        """The entry for a unit about to commit; ``None`` once another unit took it or the response ended, or while
        the forecast cannot tell."""
        if not self._open or self.written is not None:
            return None
        self.written = self._forecast(written_id)
        return self.written

    def give_back(self, entry: AuditEntry) -> None:
        """The unit that took ``entry`` did not commit it: it is stored nowhere yet."""
        if self.written is entry:
            self.written = None

    def close(self) -> AuditEntry | None:
        """No unit may take the entry any more (a late commit would stamp it with a stale forecast); the entry
        a unit committed, if any."""
        self._open = False
        return self.written


#: The entry of the mutating request being served; ``None`` outside one (and for reads).
request_audit: ContextVar[RequestAudit | None] = ContextVar("apibase_request_audit", default=None)
