"""Password login: a short process over three messages, not one command.

Checking a password costs tens of milliseconds of deliberate hashing, and a wrong one must be counted and kept
even though the login is refused. One ``Login`` command would hold its unit of work (and a connection) open
through the hashing and would have to commit a refusal. So the steps are separate, each in its own unit of work
on the kernel's buses: ``FindLoginUser`` reads the account, the password is verified with no transaction open,
then ``RecordFailedLogin`` (a fact, committed) or ``OpenSession`` (the new token pair) is sent. Both are run
again from a fresh read by the bus when they lose a version race.
"""

from __future__ import annotations

from apibase.application.cqrs.bus import CommandBus, QueryBus
from apibase.application.identity.commands import OpenSession, RecordFailedLogin
from apibase.application.identity.dependencies import IdentityDependencies
from apibase.application.identity.dto import TokenPair
from apibase.application.identity.queries import FindLoginUser
from apibase.application.identity.sessions import locked_error
from apibase.core.errors import AnyAppError
from apibase.core.result import Err, Result

__all__ = ["PasswordLogin"]


class PasswordLogin:
    """``await login(email, password, tenant)``: a token pair, or why not.

    Unknown, deactivated and malformed accounts cost one hash verification and get the same answer as a wrong
    password; a locked account is not even checked, so nothing can be guessed while it is locked.
    """

    def __init__(self, commands: CommandBus, queries: QueryBus, dependencies: IdentityDependencies) -> None:
        self._commands = commands
        self._queries = queries
        self._dependencies = dependencies

    async def __call__(self, email: str, password: str, tenant: str) -> Result[TokenPair, AnyAppError]:
        found = await self._queries.ask(FindLoginUser(email=email, tenant=tenant))
        if isinstance(found, Err):
            return found
        user, hasher, clock = found.value, self._dependencies.hasher, self._dependencies.clock
        if user is not None and user.is_locked(now := clock()):
            return Err(locked_error(user, now))
        verified = await hasher.verify(password, user.password_hash if user is not None else None)
        if user is None:
            if not isinstance(verified, Err):
                raise RuntimeError("PasswordHashing.verify accepted a login without a stored hash")
            return verified
        if isinstance(verified, Err):
            counted = await self._commands.dispatch(RecordFailedLogin(account=user.id, tenant=user.tenant))
            return counted if isinstance(counted, Err) else verified
        new_hash = await hasher.hash(password) if hasher.needs_rehash(user.password_hash) else None
        return await self._commands.dispatch(
            OpenSession(account=user.id, tenant=user.tenant, new_password_hash=new_hash)
        )
