"""The identity use cases on in-memory fakes: every success and every refusal, with what each one stored."""

from __future__ import annotations

from datetime import timedelta

import pytest

from apibase.application.identity import (
    AccountLockedError,
    ApiKeyNotFoundError,
    ApiKeyRevokedError,
    EmailTakenError,
    IdentityService,
    InvalidApiKeyError,
    PermissionDeniedError,
    RefreshReusedError,
    RefreshRevokedError,
    SelfDemotionError,
    TenantClosedError,
    TokenPair,
    UserNotFoundError,
    build_principal,
)
from apibase.core.errors import AppError, ConcurrencyConflict, UnauthorizedError, ValidationFailed
from apibase.core.principal import AuthMethod
from apibase.core.result import Err, Ok, Result
from apibase.domain.identity import KERNEL_PERMISSIONS, PermissionRegistry, RolePolicy, UserId
from apibase.infrastructure.security.tokens import AuthErrorCode, TokenType
from apibase.testing.roles import widget_role_policy

pytestmark = pytest.mark.unit

PASSWORD = "correct horse battery"  # the password every World user signed up with


def error_of(result: Result[object, AppError]) -> AppError:
    assert isinstance(result, Err), result
    return result.error


def fields(result: Result[object, AppError]) -> list[str]:
    error = error_of(result)
    assert isinstance(error, ValidationFailed)
    return [entry["loc"][0] for entry in error.extensions["errors"]]


# -- register ------------------------------------------------------------------------------------------------
async def test_the_first_user_of_a_tenant_becomes_its_admin(world) -> None:
    user = (await world.service.register(" Ada@Example.COM ", PASSWORD, "acme")).unwrap()

    assert (user.email, user.tenant, user.roles) == ("ada@example.com", "acme", ("admin",))
    assert world.db.users[user.id].password_hash == f"v1${PASSWORD}"
    assert "acme" in world.db.tenants


async def test_a_tenant_with_users_is_closed_to_sign_up(world) -> None:
    await world.admin()

    result = await world.service.register("eve@example.com", PASSWORD, "acme")

    error = error_of(result)
    assert isinstance(error, TenantClosedError)
    assert (error.status, error.code.value) == (403, "identity.tenant_closed")
    assert len(world.db.users) == 1


async def test_a_claimed_tenant_is_closed_even_without_users(world) -> None:
    world.db.tenants.add("acme")  # a racing sign-up claimed it first

    assert isinstance(error_of(await world.service.register("eve@example.com", PASSWORD, "acme")), TenantClosedError)
    assert world.db.users == {}


async def test_sign_up_checks_every_field_at_once(world) -> None:
    result = await world.service.register("not-an-email", "short", "Bad Tenant!")

    assert sorted(fields(result)) == ["email", "password", "tenant"]
    assert world.db.users == {}


@pytest.mark.parametrize(("length", "accepted"), [(11, False), (12, True), (128, True), (129, False)])
async def test_the_password_policy_is_12_to_128_characters(world, length: int, accepted: bool) -> None:
    result = await world.service.register("ada@example.com", "p" * length, "acme")

    if accepted:
        assert isinstance(result, Ok)
    else:
        assert fields(result) == ["password"]


# -- add_user, set_roles, me, list_users ---------------------------------------------------------------------
async def test_an_admin_adds_users_to_their_own_tenant_only(world) -> None:
    _, admin = await world.admin()

    added = (await world.service.add_user(admin, "Bob@example.com", PASSWORD, ["editor", "viewer"])).unwrap()

    assert (added.tenant, added.email, added.roles) == ("acme", "bob@example.com", ("editor", "viewer"))


async def test_adding_a_taken_email_is_a_conflict(world) -> None:
    _, admin = await world.admin()

    error = error_of(await world.service.add_user(admin, "ADMIN@example.com", PASSWORD, ["viewer"]))

    assert isinstance(error, EmailTakenError)
    assert (error.status, error.code.value) == (409, "identity.email_taken")


async def test_managing_users_needs_the_permission(world) -> None:
    _, admin = await world.admin()
    viewer = world.principal((await world.service.add_user(admin, "v@example.com", PASSWORD, ["viewer"])).unwrap())

    for result in (
        await world.service.add_user(viewer, "x@example.com", PASSWORD, ["admin"]),
        await world.service.set_roles(viewer, viewer.subject, ["admin"]),
        await world.service.list_users(viewer),
    ):
        error = error_of(result)
        assert isinstance(error, PermissionDeniedError)
        assert error.status == 403
        assert error.extensions == {"permission": "users:manage"}


async def test_unknown_roles_are_a_validation_error(world) -> None:
    _, admin = await world.admin()

    for refused in (["root"], ["service"], ["Admin"]):  # unknown, reserved for signed requests, malformed
        assert fields(await world.service.add_user(admin, "b@example.com", PASSWORD, refused)) == ["roles"]
        assert fields(await world.service.set_roles(admin, admin.subject, refused)) == ["roles"]


async def test_a_new_user_without_roles_gets_the_policys_default_roles(world) -> None:
    _, admin = await world.admin()

    added = (await world.service.add_user(admin, "bob@example.com", PASSWORD)).unwrap()
    bare = (await world.service.add_user(admin, "eve@example.com", PASSWORD, [])).unwrap()

    assert (added.roles, bare.roles) == (("viewer",), ())


async def test_set_roles_changes_a_users_roles(world) -> None:
    _, admin = await world.admin()
    bob = (await world.service.add_user(admin, "bob@example.com", PASSWORD, ["viewer"])).unwrap()

    changed = (await world.service.set_roles(admin, str(bob.id), ["editor"])).unwrap()

    assert changed.roles == ("editor",)
    assert world.db.users[bob.id].roles == ("editor",)
    assert world.db.users[bob.id].version == 2


async def test_another_tenants_user_is_not_found_never_forbidden(world) -> None:
    _, admin = await world.admin()
    stranger, _ = await world.admin(tenant="globex", email="boss@example.com")

    for target in (stranger.id, str(UserId.new()), "not-a-uuid"):
        error = error_of(await world.service.set_roles(admin, target, ["viewer"]))
        assert isinstance(error, UserNotFoundError)
        assert error.status == 404
    assert world.db.users[stranger.id].roles == ("admin",)


async def test_an_admin_cannot_remove_their_own_admin_role(world) -> None:
    _, admin = await world.admin()

    error = error_of(await world.service.set_roles(admin, admin.subject, ["editor"]))

    assert isinstance(error, SelfDemotionError)
    assert (error.status, error.code.value) == (409, "identity.self_demotion")
    assert (await world.service.set_roles(admin, admin.subject, ["admin", "editor"])).is_ok()


async def test_me_and_list_users(world) -> None:
    me, admin = await world.admin()
    await world.service.add_user(admin, "bob@example.com", PASSWORD, ["viewer"])
    await world.admin(tenant="globex", email="boss@example.com")

    assert (await world.service.me(admin)).unwrap() == me
    listed = (await world.service.list_users(admin)).unwrap()
    assert [user.email for user in listed] == ["admin@example.com", "bob@example.com"]


async def test_me_for_an_unknown_or_foreign_subject_is_not_found(world) -> None:
    _, admin = await world.admin()
    from dataclasses import replace

    for ghost in (replace(admin, subject="service-account"), replace(admin, tenant="globex")):
        assert isinstance(error_of(await world.service.me(ghost)), UserNotFoundError)


# -- login and lockout ---------------------------------------------------------------------------------------
async def test_login_returns_a_token_pair_for_the_users_tenant_and_roles(world) -> None:
    me, _ = await world.admin()

    pair = (await world.service.login("ADMIN@example.com", PASSWORD, "acme")).unwrap()

    assert (pair.token_type, pair.expires_in, pair.refresh_expires_in) == ("Bearer", 900, 14 * 86_400)
    assert pair.access_token not in repr(pair)
    claims = world.verifier.verify(pair.access_token).unwrap()
    assert (claims.subject, claims.tenant, claims.roles) == (str(me.id), "acme", ("admin",))
    assert claims.permissions == ()  # roles only: permissions are expanded when the token is verified
    refresh = world.verifier.verify(pair.refresh_token, expected_type=TokenType.REFRESH).unwrap()
    session = next(iter(world.db.sessions.values()))
    assert (refresh.token_id, refresh.family) == (str(session.id), str(session.family))
    assert session.expires_at.timestamp() == refresh.expires_at


@pytest.mark.parametrize(
    ("email", "tenant"),
    [("nobody@example.com", "acme"), ("admin@example.com", "globex"), ("not an email", "acme"), ("a@b.co", "BAD")],
)
async def test_unknown_accounts_cost_a_dummy_verification_and_get_the_same_answer(
    world, email: str, tenant: str
) -> None:
    await world.admin()
    world.hasher.verified.clear()

    error = error_of(await world.service.login(email, PASSWORD, tenant))

    assert isinstance(error, UnauthorizedError)
    assert world.hasher.verified == [None]


async def test_a_deactivated_user_is_answered_like_an_unknown_one(world) -> None:
    me, _ = await world.admin()
    world.db.users[me.id].active = False
    world.hasher.verified.clear()

    assert isinstance(error_of(await world.service.login("admin@example.com", PASSWORD, "acme")), UnauthorizedError)
    assert world.hasher.verified == [None]


async def test_failed_logins_are_counted_and_stored_even_though_the_login_fails(world) -> None:
    me, _ = await world.admin()

    error = error_of(await world.service.login("admin@example.com", "wrong password!", "acme"))

    assert isinstance(error, UnauthorizedError)
    assert world.db.users[me.id].failed_logins == 1


async def test_the_third_failure_locks_the_account_with_a_retry_hint(world) -> None:
    me, _ = await world.admin()
    for _ in range(3):
        await world.service.login("admin@example.com", "wrong password!", "acme")
    world.hasher.verified.clear()
    world.clock.advance(100)

    error = error_of(await world.service.login("admin@example.com", PASSWORD, "acme"))

    assert isinstance(error, AccountLockedError)
    assert (error.status, error.code.value, error.extensions) == (429, "identity.account_locked", {"retry_after": 500})
    assert world.hasher.verified == []  # a locked account is not even checked: no guessing while locked
    assert world.db.users[me.id].locked_until == world.clock.now + timedelta(seconds=500)


async def test_after_the_lockout_a_good_login_works_and_resets_the_counter(world) -> None:
    me, _ = await world.admin()
    for _ in range(4):
        await world.service.login("admin@example.com", "wrong password!", "acme")
    world.clock.advance(600)

    assert isinstance(await world.service.login("admin@example.com", PASSWORD, "acme"), Ok)
    stored = world.db.users[me.id]
    assert (stored.failed_logins, stored.locked_until) == (0, None)


async def test_a_lost_race_while_counting_a_failure_is_retried_so_every_failure_counts(world) -> None:
    me, _ = await world.admin()
    world.db.user_conflicts = 2

    assert isinstance(error_of(await world.service.login("admin@example.com", "wrong!", "acme")), UnauthorizedError)
    assert world.db.users[me.id].failed_logins == 1


async def test_endless_races_give_up_with_a_conflict_and_never_log_in(world) -> None:
    await world.admin()
    await world.service.login("admin@example.com", "wrong!", "acme")  # success now has a counter to reset
    world.db.user_conflicts = 100

    assert isinstance(error_of(await world.service.login("admin@example.com", PASSWORD, "acme")), ConcurrencyConflict)
    assert world.db.sessions == {}


async def test_a_good_login_rehashes_an_outdated_hash(world) -> None:
    me, _ = await world.admin()
    world.hasher.current = "v2"

    assert isinstance(await world.service.login("admin@example.com", PASSWORD, "acme"), Ok)
    assert world.db.users[me.id].password_hash == f"v2${PASSWORD}"


async def test_a_current_hash_and_no_failures_need_no_user_write(world) -> None:
    me, _ = await world.admin()

    await world.service.login("admin@example.com", PASSWORD, "acme")

    assert world.db.users[me.id].version == 1


# -- refresh and logout --------------------------------------------------------------------------------------
async def login(world) -> TokenPair:
    await world.admin()
    return (await world.service.login("admin@example.com", PASSWORD, "acme")).unwrap()


async def test_refresh_rotates_within_the_family(world) -> None:
    first = await login(world)
    world.clock.advance(60)

    second = (await world.service.refresh(first.refresh_token)).unwrap()

    assert second.refresh_token != first.refresh_token
    sessions = sorted(world.db.sessions.values(), key=lambda s: s.created_at)
    assert len(sessions) == 2
    assert sessions[0].used_at == world.clock.now
    assert sessions[1].used_at is None
    assert sessions[0].family == sessions[1].family
    assert (await world.service.refresh(second.refresh_token)).is_ok()


async def test_reusing_a_refresh_token_revokes_the_whole_family(world) -> None:
    first = await login(world)
    second = (await world.service.refresh(first.refresh_token)).unwrap()

    error = error_of(await world.service.refresh(first.refresh_token))

    assert isinstance(error, RefreshReusedError)
    assert (error.status, error.code.value) == (401, "identity.refresh_reused")
    assert all(session.revoked_at is not None for session in world.db.sessions.values())
    assert isinstance(error_of(await world.service.refresh(second.refresh_token)), RefreshRevokedError)


async def test_other_logins_survive_a_reuse_in_one_family(world) -> None:
    first = await login(world)
    other = (await world.service.login("admin@example.com", PASSWORD, "acme")).unwrap()
    await world.service.refresh(first.refresh_token)
    await world.service.refresh(first.refresh_token)

    assert (await world.service.refresh(other.refresh_token)).is_ok()


async def test_an_access_token_or_garbage_is_no_refresh_token(world) -> None:
    pair = await login(world)

    wrong_type = error_of(await world.service.refresh(pair.access_token))
    garbage = error_of(await world.service.refresh("not.a.token"))

    assert wrong_type.code == AuthErrorCode.TOKEN_WRONG_TYPE
    assert garbage.code == AuthErrorCode.TOKEN_MALFORMED


async def test_an_expired_session_cannot_refresh(world) -> None:
    pair = await login(world)
    session = next(iter(world.db.sessions.values()))
    session.expires_at = world.clock.now  # the row says expired while the token is still within its exp

    assert isinstance(error_of(await world.service.refresh(pair.refresh_token)), RefreshRevokedError)


async def test_a_token_without_its_stored_session_cannot_refresh(world) -> None:
    pair = await login(world)
    world.db.sessions.clear()

    assert isinstance(error_of(await world.service.refresh(pair.refresh_token)), RefreshRevokedError)


async def test_a_deactivated_user_cannot_refresh_and_the_family_is_revoked(world) -> None:
    pair = await login(world)
    for user in world.db.users.values():
        user.active = False

    assert isinstance(error_of(await world.service.refresh(pair.refresh_token)), RefreshRevokedError)
    assert all(session.revoked_at is not None for session in world.db.sessions.values())


async def test_logout_revokes_the_family_and_is_idempotent(world) -> None:
    first = await login(world)
    second = (await world.service.refresh(first.refresh_token)).unwrap()

    assert (await world.service.logout(second.refresh_token)).is_ok()
    assert (await world.service.logout(second.refresh_token)).is_ok()
    assert all(session.revoked_at is not None for session in world.db.sessions.values())
    assert isinstance(error_of(await world.service.refresh(second.refresh_token)), RefreshRevokedError)


async def test_logout_needs_a_valid_refresh_token(world) -> None:
    pair = await login(world)

    assert error_of(await world.service.logout(pair.access_token)).code == AuthErrorCode.TOKEN_WRONG_TYPE


# -- API keys ------------------------------------------------------------------------------------------------
async def test_an_api_key_authenticates_as_its_user_with_current_roles(world) -> None:
    me, admin = await world.admin()
    issued = (await world.service.create_api_key(admin, " ci ", timedelta(days=30))).unwrap()

    assert issued.secret.startswith(f"ab_{issued.key.prefix}_")
    assert issued.secret not in repr(issued)
    assert (issued.key.name, issued.key.expires_at) == ("ci", world.clock.now + timedelta(days=30))
    assert issued.secret not in str(world.db.keys)

    found = (await world.service.authenticate_api_key(issued.secret)).unwrap()
    assert (found.subject, found.tenant, found.method) == (str(me.id), "acme", AuthMethod.API_KEY)
    assert found.has("users:manage")


@pytest.mark.parametrize("secret", ["", "ab_", "bearer xyz", "ab_zzzzzzzzzzzzzzzz_abc", "ab_0123456789abcdef_"])
async def test_malformed_or_unknown_keys_are_refused(world, secret: str) -> None:
    error = error_of(await world.service.authenticate_api_key(secret))

    assert isinstance(error, InvalidApiKeyError)
    assert (error.status, error.code.value) == (401, "identity.api_key_invalid")


async def test_a_key_with_a_known_prefix_but_a_wrong_secret_is_refused(world) -> None:
    _, admin = await world.admin()
    issued = (await world.service.create_api_key(admin, "ci")).unwrap()

    assert isinstance(error_of(await world.service.authenticate_api_key(issued.secret + "x")), InvalidApiKeyError)


async def test_expired_revoked_and_orphaned_keys_are_refused(world) -> None:
    me, admin = await world.admin()
    expiring = (await world.service.create_api_key(admin, "a", timedelta(seconds=10))).unwrap()
    revoked = (await world.service.create_api_key(admin, "b")).unwrap()
    await world.service.revoke_api_key(admin, revoked.key.id)
    world.clock.advance(10)

    assert isinstance(error_of(await world.service.authenticate_api_key(expiring.secret)), InvalidApiKeyError)
    assert isinstance(error_of(await world.service.authenticate_api_key(revoked.secret)), InvalidApiKeyError)

    live = (await world.service.create_api_key(admin, "c")).unwrap()
    world.db.users[me.id].active = False
    assert isinstance(error_of(await world.service.authenticate_api_key(live.secret)), InvalidApiKeyError)


async def test_last_use_is_written_at_most_once_a_minute(world) -> None:
    _, admin = await world.admin()
    issued = (await world.service.create_api_key(admin, "ci")).unwrap()
    start = world.clock.now

    await world.service.authenticate_api_key(issued.secret)
    commits = world.db.commits
    world.clock.advance(59)
    await world.service.authenticate_api_key(issued.secret)
    assert world.db.keys[issued.key.id].last_used_at == start
    world.clock.advance(1)
    await world.service.authenticate_api_key(issued.secret)

    assert world.db.keys[issued.key.id].last_used_at == start + timedelta(seconds=60)
    assert world.db.commits == commits + 2  # every call commits; only due ones changed anything


async def test_key_names_and_lifetimes_are_validated(world) -> None:
    _, admin = await world.admin()

    assert fields(await world.service.create_api_key(admin, "  ", timedelta(seconds=0))) == ["name", "expires_in"]
    assert fields(await world.service.create_api_key(admin, "n" * 101)) == ["name"]


async def test_users_list_only_their_own_keys(world) -> None:
    _, admin = await world.admin()
    bob = world.principal((await world.service.add_user(admin, "bob@example.com", PASSWORD, ["viewer"])).unwrap())
    await world.service.create_api_key(admin, "first")
    world.clock.advance(1)
    await world.service.create_api_key(admin, "second")
    await world.service.create_api_key(bob, "bobs")

    assert [key.name for key in (await world.service.list_api_keys(admin)).unwrap()] == ["second", "first"]
    assert [key.name for key in (await world.service.list_api_keys(bob)).unwrap()] == ["bobs"]


async def test_another_users_key_is_not_found(world) -> None:
    _, admin = await world.admin()
    bob = world.principal((await world.service.add_user(admin, "bob@example.com", PASSWORD, ["viewer"])).unwrap())
    issued = (await world.service.create_api_key(admin, "mine")).unwrap()

    for result in (
        await world.service.revoke_api_key(bob, issued.key.id),
        await world.service.rotate_api_key(bob, issued.key.id),
        await world.service.revoke_api_key(admin, "not-a-uuid"),
    ):
        error = error_of(result)
        assert isinstance(error, ApiKeyNotFoundError)
        assert (error.status, error.code.value) == (404, "identity.api_key_not_found")
    assert world.db.keys[issued.key.id].revoked_at is None


async def test_revoking_is_idempotent(world) -> None:
    _, admin = await world.admin()
    issued = (await world.service.create_api_key(admin, "ci")).unwrap()

    first = (await world.service.revoke_api_key(admin, issued.key.id)).unwrap()
    world.clock.advance(5)
    second = (await world.service.revoke_api_key(admin, str(issued.key.id))).unwrap()

    assert first.revoked_at == second.revoked_at == world.clock.now - timedelta(seconds=5)


async def test_rotation_keeps_the_old_key_valid_for_the_grace_period(world) -> None:
    _, admin = await world.admin()
    old = (await world.service.create_api_key(admin, "ci", timedelta(days=30))).unwrap()
    world.clock.advance(100)

    new = (await world.service.rotate_api_key(admin, old.key.id)).unwrap()

    assert (new.key.name, new.key.expires_at) == ("ci", world.clock.now + timedelta(days=30))
    assert world.db.keys[old.key.id].expires_at == world.clock.now + timedelta(seconds=3600)
    world.clock.advance(3599)
    assert (await world.service.authenticate_api_key(old.secret)).is_ok()
    world.clock.advance(1)
    assert isinstance(error_of(await world.service.authenticate_api_key(old.secret)), InvalidApiKeyError)
    assert (await world.service.authenticate_api_key(new.secret)).is_ok()


async def test_rotation_never_extends_an_old_key_that_expires_sooner(world) -> None:
    _, admin = await world.admin()
    old = (await world.service.create_api_key(admin, "ci", timedelta(seconds=60))).unwrap()

    await world.service.rotate_api_key(admin, old.key.id)

    assert world.db.keys[old.key.id].expires_at == world.clock.now + timedelta(seconds=60)


async def test_a_revoked_key_cannot_be_rotated(world) -> None:
    _, admin = await world.admin()
    old = (await world.service.create_api_key(admin, "ci")).unwrap()
    await world.service.revoke_api_key(admin, old.key.id)

    error = error_of(await world.service.rotate_api_key(admin, old.key.id))

    assert isinstance(error, ApiKeyRevokedError)
    assert (error.status, error.code.value) == (409, "identity.api_key_revoked")
    assert len(world.db.keys) == 1


async def test_only_existing_users_get_keys(world) -> None:
    _, admin = await world.admin()
    from dataclasses import replace

    for ghost in (replace(admin, subject=str(UserId.new())), replace(admin, subject="svc")):
        assert isinstance(error_of(await world.service.create_api_key(ghost, "ci")), UserNotFoundError)
        assert (await world.service.list_api_keys(ghost)).unwrap() == []


def test_the_service_refuses_nonsense_settings(world) -> None:
    with pytest.raises(ValueError, match="lockout"):
        IdentityService(
            world.service._storage,
            hasher=world.hasher,
            tokens=world.service._tokens,
            roles=world.service._roles,
            lockout_seconds=0,
        )


def test_principals_expand_roles_into_permissions() -> None:
    built = build_principal(
        "u1", "acme", ["viewer", "ghost-role"], AuthMethod.ACCESS_TOKEN, policy=widget_role_policy()
    )

    assert built.roles == frozenset({"viewer", "ghost-role"})
    assert built.permissions == frozenset({"widgets:read"})


async def test_the_superuser_is_whichever_role_the_policy_names(world) -> None:
    registry = PermissionRegistry()
    registry.declare_all(KERNEL_PERMISSIONS)
    owners = RolePolicy(registry, {"clerk": []}, superuser="owner")
    service = IdentityService(world.service._storage, hasher=world.hasher, tokens=world.service._tokens, roles=owners)

    first = (await service.register("ada@example.com", PASSWORD, "acme")).unwrap()
    owner = build_principal(str(first.id), "acme", first.roles, AuthMethod.ACCESS_TOKEN, policy=owners)

    assert first.roles == ("owner",)
    assert owner.has("users:manage")
    assert isinstance(error_of(await service.set_roles(owner, owner.subject, ["clerk"])), SelfDemotionError)
    assert fields(await service.set_roles(owner, owner.subject, ["admin"])) == ["roles"]
