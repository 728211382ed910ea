"""The SQL identity repositories on SQLite: round trips, tenant scoping, uniqueness and compare-and-set writes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from apibase.application.identity import EmailTakenError
from apibase.core.errors import ConcurrencyConflict, EntityNotFound
from apibase.domain.identity import ApiKey, RefreshSession, User, UserId
from apibase.infrastructure.persistence.identity import (
    SqlApiKeyRepository,
    SqlRefreshSessionRepository,
    SqlUserRepository,
)
from apibase.infrastructure.persistence.unit_of_work import SQLAlchemyUnitOfWork

pytestmark = pytest.mark.unit

NOW = datetime(2026, 1, 1, 12, 0, 0, 123456, tzinfo=UTC)
type Sessions = async_sessionmaker[AsyncSession]


def new_user(tenant: str = "acme", email: str = "ada@example.com", roles: tuple[str, ...] = ("admin",)) -> User:
    return User.model_validate(
        {"id": UserId.new(), "tenant": tenant, "email": email, "password_hash": "h", "roles": roles}
        | {"created_at": NOW, "updated_at": NOW, "locked_until": NOW + timedelta(minutes=5)}
    )


async def add_user(session_factory: Sessions, user: User) -> None:
    async with SQLAlchemyUnitOfWork(session_factory) as uow:
        await SqlUserRepository(uow).add(user)
        await uow.commit()


async def test_users_round_trip_within_their_tenant_only(session_factory: Sessions) -> None:
    ada = new_user(roles=("viewer", "editor"))
    await add_user(session_factory, ada)
    await add_user(session_factory, new_user(email="bob@example.com"))
    await add_user(session_factory, new_user(tenant="globex"))

    async with SQLAlchemyUnitOfWork(session_factory) as uow:
        users = SqlUserRepository(uow)
        loaded = await users.get(ada.id, tenant="acme")
        assert await users.get(ada.id, tenant="globex") is None
        assert await users.get_by_email("ada@example.com", tenant="acme") == ada
        assert await users.get_by_email("nobody@example.com", tenant="acme") is None
        listed = [user.email for user in await users.list_in_tenant("acme")]
        assert (await users.tenant_has_users("acme"), await users.tenant_has_users("initech")) == (True, False)

    assert loaded is not None
    assert loaded.model_dump() == ada.model_dump()
    assert loaded.roles == ("editor", "viewer")
    assert loaded.locked_until is not None
    assert loaded.locked_until.tzinfo is UTC
    assert listed == ["ada@example.com", "bob@example.com"]


async def test_an_email_is_unique_per_tenant(session_factory: Sessions) -> None:
    await add_user(session_factory, new_user())

    async with SQLAlchemyUnitOfWork(session_factory) as uow:
        with pytest.raises(EmailTakenError):
            await SqlUserRepository(uow).add(new_user())
        await SqlUserRepository(uow).add(new_user(email="bob@example.com"))  # the transaction is still usable
        await uow.commit()


async def test_a_tenant_is_claimed_once(session_factory: Sessions) -> None:
    async with SQLAlchemyUnitOfWork(session_factory) as uow:
        users = SqlUserRepository(uow)
        assert await users.claim_tenant("acme", NOW)
        assert not await users.claim_tenant("acme", NOW)
        assert await users.claim_tenant("globex", NOW)
        await uow.commit()


async def test_saving_a_user_is_version_guarded(session_factory: Sessions) -> None:
    ada = new_user()
    await add_user(session_factory, ada)
    stale = ada.model_copy(deep=True)

    async with SQLAlchemyUnitOfWork(session_factory) as uow:
        ada.record_failed_login(NOW, max_failures=5, lockout=timedelta(minutes=1))
        await SqlUserRepository(uow).save(ada)
        await uow.commit()
    assert ada.version == 2

    async with SQLAlchemyUnitOfWork(session_factory) as uow:
        with pytest.raises(ConcurrencyConflict):
            await SqlUserRepository(uow).save(stale)
        with pytest.raises(EntityNotFound):
            await SqlUserRepository(uow).save(new_user())
        stored = await SqlUserRepository(uow).get(ada.id, tenant="acme")
    assert stale.version == 1
    assert stored is not None
    assert (stored.version, stored.failed_logins) == (2, 1)


async def test_api_keys_are_found_by_prefix_and_by_owner_only(session_factory: Sessions) -> None:
    ada, bob = new_user(), new_user(email="bob@example.com")
    for user in (ada, bob):
        await add_user(session_factory, user)
    older, _ = ApiKey.issue(user_id=ada.id, tenant="acme", name="old", now=NOW, expires_in=timedelta(days=1))
    newer, _ = ApiKey.issue(user_id=ada.id, tenant="acme", name="new", now=NOW + timedelta(seconds=1))

    async with SQLAlchemyUnitOfWork(session_factory) as uow:
        keys = SqlApiKeyRepository(uow)
        for key in (older, newer):
            await keys.add(key)
        await uow.commit()

    async with SQLAlchemyUnitOfWork(session_factory) as uow:
        keys = SqlApiKeyRepository(uow)
        assert await keys.get_by_prefix(older.prefix) == older
        assert await keys.get_by_prefix("0" * 16) is None
        assert await keys.get(older.id, user_id=bob.id, tenant="acme") is None
        assert await keys.get(older.id, user_id=ada.id, tenant="globex") is None
        loaded = await keys.get(older.id, user_id=ada.id, tenant="acme")
        assert [key.name for key in await keys.list_for_user(ada.id, tenant="acme")] == ["new", "old"]
        assert await keys.list_for_user(bob.id, tenant="acme") == []

    assert loaded is not None
    assert loaded.model_dump() == older.model_dump()


async def test_api_key_changes_and_last_use(session_factory: Sessions) -> None:
    ada = new_user()
    await add_user(session_factory, ada)
    key, _ = ApiKey.issue(user_id=ada.id, tenant="acme", name="ci", now=NOW)
    later = NOW + timedelta(minutes=5)

    async with SQLAlchemyUnitOfWork(session_factory) as uow:
        keys = SqlApiKeyRepository(uow)
        await keys.add(key)
        key.revoke(NOW)
        key.expire_by(later)
        await keys.save(key)
        await keys.record_use(key.id, NOW, not_after=NOW - timedelta(minutes=1))
        await keys.record_use(key.id, NOW + timedelta(seconds=30), not_after=NOW - timedelta(seconds=30))
        await uow.commit()
        with pytest.raises(EntityNotFound):
            await keys.save(ApiKey.issue(user_id=ada.id, tenant="acme", name="ghost", now=NOW)[0])

    async with SQLAlchemyUnitOfWork(session_factory) as uow:
        stored = await SqlApiKeyRepository(uow).get_by_prefix(key.prefix)
    assert stored is not None
    assert (stored.revoked_at, stored.expires_at, stored.last_used_at) == (NOW, later, NOW)


async def test_a_key_prefix_is_unique(session_factory: Sessions) -> None:
    ada = new_user()
    await add_user(session_factory, ada)
    key, _ = ApiKey.issue(user_id=ada.id, tenant="acme", name="ci", now=NOW)
    twin, _ = ApiKey.issue(user_id=ada.id, tenant="acme", name="twin", now=NOW)
    twin.prefix = key.prefix

    async with SQLAlchemyUnitOfWork(session_factory) as uow:
        await SqlApiKeyRepository(uow).add(key)
        with pytest.raises(IntegrityError):
            await SqlApiKeyRepository(uow).add(twin)


async def test_refresh_sessions_are_used_once_and_revoked_by_family(session_factory: Sessions) -> None:
    ada = new_user()
    await add_user(session_factory, ada)
    first = RefreshSession.start(user_id=ada.id, tenant="acme", now=NOW, expires_at=NOW + timedelta(days=1))
    second = RefreshSession.start(
        user_id=ada.id, tenant="acme", now=NOW, expires_at=NOW + timedelta(days=1), family=first.family
    )
    other = RefreshSession.start(user_id=ada.id, tenant="acme", now=NOW, expires_at=NOW + timedelta(days=1))

    async with SQLAlchemyUnitOfWork(session_factory) as uow:
        sessions = SqlRefreshSessionRepository(uow)
        for session in (first, second, other):
            await sessions.add(session)
        first.consume(NOW)
        assert await sessions.mark_used(first)
        assert not await sessions.mark_used(first)  # a second use loses the compare-and-set
        assert await sessions.revoke_family(first.family, NOW) == 2
        assert await sessions.revoke_family(first.family, NOW) == 0
        second.consume(NOW)
        assert not await sessions.mark_used(second)  # revoked sessions cannot be used either
        await uow.commit()

    async with SQLAlchemyUnitOfWork(session_factory) as uow:
        sessions = SqlRefreshSessionRepository(uow)
        stored, untouched = await sessions.get(first.id), await sessions.get(other.id)
        assert (
            await sessions.get(RefreshSession.start(user_id=ada.id, tenant="acme", now=NOW, expires_at=NOW).id) is None
        )

    assert stored is not None
    assert (stored.used_at, stored.revoked_at, stored.family) == (NOW, NOW, first.family)
    assert untouched is not None
    assert untouched.model_dump() == other.model_dump()
