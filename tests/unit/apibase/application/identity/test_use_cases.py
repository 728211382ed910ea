"""The identity use cases on in-memory fakes, sent through the buses: every success and every refusal, with what
each one stored."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from apibase.application.identity import (
    AccountLockedError,
    AddUser,
    ApiKeyNotFoundError,
    ApiKeyRevokedError,
    AuthenticateApiKey,
    CreateApiKey,
    EmailTakenError,
    GetCurrentUser,
    IdentityRules,
    InvalidApiKeyError,
    ListApiKeys,
    ListUsers,
    Logout,
    PermissionDeniedError,
    RefreshReusedError,
    RefreshRevokedError,
    RegisterTenant,
    RevokeApiKey,
    RotateApiKey,
    RotateRefreshToken,
    SelfDemotionError,
    SetRoles,
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
    user = (await world.send(RegisterTenant(email=" Ada@Example.COM ", password=PASSWORD, tenant="acme"))).unwrap()

    assert (user.email, user.tenant, user.roles) == ("ada@example.com", "acme", ("admin",))
    assert world.db.users[user.id].password_hash == f"v1${PASSWORD}"
    assert "acme" in world.db.tenants


async def test_a_tenant_with_users_is_closed_to_sign_up(world) -> None:
    await world.admin()

    result = await world.send(RegisterTenant(email="eve@example.com", password=PASSWORD, tenant="acme"))

    error = error_of(result)
    assert isinstance(error, TenantClosedError)
    assert (error.status, error.code.value) == (403, "identity.tenant_closed")
    assert len(world.db.users) == 1


async def test_a_claimed_tenant_is_closed_even_without_users(world) -> None:
    world.db.tenants.add("acme")  # a racing sign-up claimed it first

    assert isinstance(
        error_of(await world.send(RegisterTenant(email="eve@example.com", password=PASSWORD, tenant="acme"))),
        TenantClosedError,
    )
    assert world.db.users == {}


async def test_a_sign_up_that_lost_a_race_is_run_again_from_a_fresh_read(world) -> None:
    world.db.claim_conflicts = 2

    user = (await world.send(RegisterTenant(email="ada@example.com", password=PASSWORD, tenant="acme"))).unwrap()

    assert world.db.users[user.id].roles == ("admin",)
    assert world.db.tenants == {"acme"}


async def test_sign_up_checks_every_field_at_once(world) -> None:
    result = await world.send(RegisterTenant(email="not-an-email", password="short", tenant="Bad Tenant!"))

    assert sorted(fields(result)) == ["email", "password", "tenant"]
    assert world.db.users == {}


@pytest.mark.parametrize(("length", "accepted"), [(11, False), (12, True), (128, True), (129, False)])
async def test_the_password_policy_is_12_to_128_characters(world, length: int, accepted: bool) -> None:
    result = await world.send(RegisterTenant(email="ada@example.com", password="p" * length, tenant="acme"))

    if accepted:
        assert isinstance(result, Ok)
    else:
        assert fields(result) == ["password"]


# -- add_user, set_roles, me, list_users ---------------------------------------------------------------------
async def test_an_admin_adds_users_to_their_own_tenant_only(world) -> None:
    _, admin = await world.admin()

    added = (
        await world.send(AddUser(actor=admin, email="Bob@example.com", password=PASSWORD, roles=["editor", "viewer"]))
    ).unwrap()

    assert (added.tenant, added.email, added.roles) == ("acme", "bob@example.com", ("editor", "viewer"))


async def test_adding_a_taken_email_is_a_conflict(world) -> None:
    _, admin = await world.admin()

    error = error_of(
        await world.send(AddUser(actor=admin, email="ADMIN@example.com", password=PASSWORD, roles=["viewer"]))
    )

    assert isinstance(error, EmailTakenError)
    assert (error.status, error.code.value) == (409, "identity.email_taken")


async def test_managing_users_needs_the_permission(world) -> None:
    _, admin = await world.admin()
    viewer = world.principal(
        (await world.send(AddUser(actor=admin, email="v@example.com", password=PASSWORD, roles=["viewer"]))).unwrap()
    )

    for result in (
        await world.send(AddUser(actor=viewer, email="x@example.com", password=PASSWORD, roles=["admin"])),
        await world.send(SetRoles(actor=viewer, target=viewer.subject, roles=["admin"])),
        await world.ask(ListUsers(actor=viewer)),
    ):
        error = error_of(result)
        assert isinstance(error, PermissionDeniedError)
        assert error.status == 403
        assert error.extensions == {"permission": "users:manage"}


async def test_unknown_roles_are_a_validation_error(world) -> None:
    _, admin = await world.admin()

    for refused in (["root"], ["service"], ["Admin"]):  # unknown, reserved for signed requests, malformed
        assert fields(
            await world.send(AddUser(actor=admin, email="b@example.com", password=PASSWORD, roles=refused))
        ) == ["roles"]
        assert fields(await world.send(SetRoles(actor=admin, target=admin.subject, roles=refused))) == ["roles"]


async def test_a_new_user_without_roles_gets_the_policys_default_roles(world) -> None:
    _, admin = await world.admin()

    added = (await world.send(AddUser(actor=admin, email="bob@example.com", password=PASSWORD))).unwrap()
    bare = (await world.send(AddUser(actor=admin, email="eve@example.com", password=PASSWORD, roles=[]))).unwrap()

    assert (added.roles, bare.roles) == (("viewer",), ())


async def test_set_roles_changes_a_users_roles(world) -> None:
    _, admin = await world.admin()
    bob = (
        await world.send(AddUser(actor=admin, email="bob@example.com", password=PASSWORD, roles=["viewer"]))
    ).unwrap()

    changed = (await world.send(SetRoles(actor=admin, target=str(bob.id), roles=["editor"]))).unwrap()

    assert changed.roles == ("editor",)
    assert world.db.users[bob.id].roles == ("editor",)
    assert world.db.users[bob.id].version == 2


async def test_another_tenants_user_is_not_found_never_forbidden(world) -> None:
    _, admin = await world.admin()
    stranger, _ = await world.admin(tenant="globex", email="boss@example.com")

    for target in (stranger.id, str(UserId.new()), "not-a-uuid"):
        error = error_of(await world.send(SetRoles(actor=admin, target=target, roles=["viewer"])))
        assert isinstance(error, UserNotFoundError)
        assert error.status == 404
    assert world.db.users[stranger.id].roles == ("admin",)


async def test_an_admin_cannot_remove_their_own_admin_role(world) -> None:
    _, admin = await world.admin()

    error = error_of(await world.send(SetRoles(actor=admin, target=admin.subject, roles=["editor"])))

    assert isinstance(error, SelfDemotionError)
    assert (error.status, error.code.value) == (409, "identity.self_demotion")
    assert (await world.send(SetRoles(actor=admin, target=admin.subject, roles=["admin", "editor"]))).is_ok()


async def test_me_and_list_users(world) -> None:
    me, admin = await world.admin()
    await world.send(AddUser(actor=admin, email="bob@example.com", password=PASSWORD, roles=["viewer"]))
    await world.admin(tenant="globex", email="boss@example.com")

    assert (await world.ask(GetCurrentUser(actor=admin))).unwrap() == me
    listed = (await world.ask(ListUsers(actor=admin))).unwrap()
    assert [user.email for user in listed] == ["admin@example.com", "bob@example.com"]


async def test_me_for_an_unknown_or_foreign_subject_is_not_found(world) -> None:
    _, admin = await world.admin()

    for ghost in (replace(admin, subject="service-account"), replace(admin, tenant="globex")):
        assert isinstance(error_of(await world.ask(GetCurrentUser(actor=ghost))), UserNotFoundError)


# -- login and lockout ---------------------------------------------------------------------------------------
async def test_login_returns_a_token_pair_for_the_users_tenant_and_roles(world) -> None:
    me, _ = await world.admin()

    pair = (await world.login("ADMIN@example.com", PASSWORD, "acme")).unwrap()

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

    error = error_of(await world.login(email, PASSWORD, tenant))

    assert isinstance(error, UnauthorizedError)
    assert world.hasher.verified == [None]


async def test_a_deactivated_user_is_answered_like_an_unknown_one(world) -> None:
    me, _ = await world.admin()
    world.db.users[me.id].active = False
    world.hasher.verified.clear()

    assert isinstance(error_of(await world.login("admin@example.com", PASSWORD, "acme")), UnauthorizedError)
    assert world.hasher.verified == [None]


async def test_failed_logins_are_counted_and_stored_even_though_the_login_fails(world) -> None:
    me, _ = await world.admin()

    error = error_of(await world.login("admin@example.com", "wrong password!", "acme"))

    assert isinstance(error, UnauthorizedError)
    assert world.db.users[me.id].failed_logins == 1


async def test_the_third_failure_locks_the_account_with_a_retry_hint(world) -> None:
    me, _ = await world.admin()
    for _ in range(3):
        await world.login("admin@example.com", "wrong password!", "acme")
    world.hasher.verified.clear()
    world.clock.advance(100)

    error = error_of(await world.login("admin@example.com", PASSWORD, "acme"))

    assert isinstance(error, AccountLockedError)
    assert (error.status, error.code.value, error.extensions) == (429, "identity.account_locked", {"retry_after": 500})
    assert world.hasher.verified == []  # a locked account is not even checked: no guessing while locked
    assert world.db.users[me.id].locked_until == world.clock.now + timedelta(seconds=500)


async def test_after_the_lockout_a_good_login_works_and_resets_the_counter(world) -> None:
    me, _ = await world.admin()
    for _ in range(4):
        await world.login("admin@example.com", "wrong password!", "acme")
    world.clock.advance(600)

    assert isinstance(await world.login("admin@example.com", PASSWORD, "acme"), Ok)
    stored = world.db.users[me.id]
    assert (stored.failed_logins, stored.locked_until) == (0, None)


async def test_a_lost_race_while_counting_a_failure_is_retried_so_every_failure_counts(world) -> None:
    me, _ = await world.admin()
    world.db.user_conflicts = 2

    assert isinstance(error_of(await world.login("admin@example.com", "wrong!", "acme")), UnauthorizedError)
    assert world.db.users[me.id].failed_logins == 1


async def test_endless_races_give_up_with_a_conflict_and_never_log_in(world) -> None:
    await world.admin()
    await world.login("admin@example.com", "wrong!", "acme")  # success now has a counter to reset
    world.db.user_conflicts = 100

    assert isinstance(error_of(await world.login("admin@example.com", PASSWORD, "acme")), ConcurrencyConflict)
    assert world.db.sessions == {}


async def test_a_good_login_rehashes_an_outdated_hash(world) -> None:
    me, _ = await world.admin()
    world.hasher.current = "v2"

    assert isinstance(await world.login("admin@example.com", PASSWORD, "acme"), Ok)
    assert world.db.users[me.id].password_hash == f"v2${PASSWORD}"


async def test_a_current_hash_and_no_failures_need_no_user_write(world) -> None:
    me, _ = await world.admin()

    await world.login("admin@example.com", PASSWORD, "acme")

    assert world.db.users[me.id].version == 1


# -- refresh and logout --------------------------------------------------------------------------------------
async def login(world) -> TokenPair:
    await world.admin()
    return (await world.login("admin@example.com", PASSWORD, "acme")).unwrap()


async def test_refresh_rotates_within_the_family(world) -> None:
    first = await login(world)
    world.clock.advance(60)

    second = (await world.send(RotateRefreshToken(refresh_token=first.refresh_token))).unwrap()

    assert second.refresh_token != first.refresh_token
    sessions = sorted(world.db.sessions.values(), key=lambda s: s.created_at)
    assert len(sessions) == 2
    assert sessions[0].used_at == world.clock.now
    assert sessions[1].used_at is None
    assert sessions[0].family == sessions[1].family
    assert (await world.send(RotateRefreshToken(refresh_token=second.refresh_token))).is_ok()


async def test_reusing_a_refresh_token_revokes_the_whole_family(world) -> None:
    first = await login(world)
    second = (await world.send(RotateRefreshToken(refresh_token=first.refresh_token))).unwrap()

    error = error_of(await world.send(RotateRefreshToken(refresh_token=first.refresh_token)))

    assert isinstance(error, RefreshReusedError)
    assert (error.status, error.code.value) == (401, "identity.refresh_reused")
    assert all(session.revoked_at is not None for session in world.db.sessions.values())
    assert isinstance(
        error_of(await world.send(RotateRefreshToken(refresh_token=second.refresh_token))), RefreshRevokedError
    )


async def test_other_logins_survive_a_reuse_in_one_family(world) -> None:
    first = await login(world)
    other = (await world.login("admin@example.com", PASSWORD, "acme")).unwrap()
    await world.send(RotateRefreshToken(refresh_token=first.refresh_token))
    await world.send(RotateRefreshToken(refresh_token=first.refresh_token))

    assert (await world.send(RotateRefreshToken(refresh_token=other.refresh_token))).is_ok()


async def test_an_access_token_or_garbage_is_no_refresh_token(world) -> None:
    pair = await login(world)

    wrong_type = error_of(await world.send(RotateRefreshToken(refresh_token=pair.access_token)))
    garbage = error_of(await world.send(RotateRefreshToken(refresh_token="not.a.token")))

    assert wrong_type.code == AuthErrorCode.TOKEN_WRONG_TYPE
    assert garbage.code == AuthErrorCode.TOKEN_MALFORMED


async def test_an_expired_session_cannot_refresh(world) -> None:
    pair = await login(world)
    session = next(iter(world.db.sessions.values()))
    session.expires_at = world.clock.now  # the row says expired while the token is still within its exp

    assert isinstance(
        error_of(await world.send(RotateRefreshToken(refresh_token=pair.refresh_token))), RefreshRevokedError
    )


async def test_a_token_without_its_stored_session_cannot_refresh(world) -> None:
    pair = await login(world)
    world.db.sessions.clear()

    assert isinstance(
        error_of(await world.send(RotateRefreshToken(refresh_token=pair.refresh_token))), RefreshRevokedError
    )


async def test_a_deactivated_user_cannot_refresh_and_the_family_is_revoked(world) -> None:
    pair = await login(world)
    for user in world.db.users.values():
        user.active = False

    assert isinstance(
        error_of(await world.send(RotateRefreshToken(refresh_token=pair.refresh_token))), RefreshRevokedError
    )
    assert all(session.revoked_at is not None for session in world.db.sessions.values())


async def test_logout_revokes_the_family_and_is_idempotent(world) -> None:
    first = await login(world)
    second = (await world.send(RotateRefreshToken(refresh_token=first.refresh_token))).unwrap()

    assert (await world.send(Logout(refresh_token=second.refresh_token))).is_ok()
    assert (await world.send(Logout(refresh_token=second.refresh_token))).is_ok()
    assert all(session.revoked_at is not None for session in world.db.sessions.values())
    assert isinstance(
        error_of(await world.send(RotateRefreshToken(refresh_token=second.refresh_token))), RefreshRevokedError
    )


async def test_logout_needs_a_valid_refresh_token(world) -> None:
    pair = await login(world)

    assert error_of(await world.send(Logout(refresh_token=pair.access_token))).code == AuthErrorCode.TOKEN_WRONG_TYPE


# -- API keys ------------------------------------------------------------------------------------------------
async def test_an_api_key_authenticates_as_its_user_with_current_roles(world) -> None:
    me, admin = await world.admin()
    issued = (await world.send(CreateApiKey(actor=admin, name=" ci ", expires_in=timedelta(days=30)))).unwrap()

    assert issued.secret.startswith(f"ab_{issued.key.prefix}_")
    assert issued.secret not in repr(issued)
    assert (issued.key.name, issued.key.expires_at) == ("ci", world.clock.now + timedelta(days=30))
    assert issued.secret not in str(world.db.keys)

    found = (await world.send(AuthenticateApiKey(secret=issued.secret))).unwrap()
    assert (found.subject, found.tenant, found.method) == (str(me.id), "acme", AuthMethod.API_KEY)
    assert found.has("users:manage")


@pytest.mark.parametrize("secret", ["", "ab_", "bearer xyz", "ab_zzzzzzzzzzzzzzzz_abc", "ab_0123456789abcdef_"])
async def test_malformed_or_unknown_keys_are_refused(world, secret: str) -> None:
    error = error_of(await world.send(AuthenticateApiKey(secret=secret)))

    assert isinstance(error, InvalidApiKeyError)
    assert (error.status, error.code.value) == (401, "identity.api_key_invalid")


async def test_a_key_with_a_known_prefix_but_a_wrong_secret_is_refused(world) -> None:
    _, admin = await world.admin()
    issued = (await world.send(CreateApiKey(actor=admin, name="ci"))).unwrap()

    assert isinstance(error_of(await world.send(AuthenticateApiKey(secret=issued.secret + "x"))), InvalidApiKeyError)


async def test_expired_revoked_and_orphaned_keys_are_refused(world) -> None:
    me, admin = await world.admin()
    expiring = (await world.send(CreateApiKey(actor=admin, name="a", expires_in=timedelta(seconds=10)))).unwrap()
    revoked = (await world.send(CreateApiKey(actor=admin, name="b"))).unwrap()
    await world.send(RevokeApiKey(actor=admin, key_id=revoked.key.id))
    world.clock.advance(10)

    assert isinstance(error_of(await world.send(AuthenticateApiKey(secret=expiring.secret))), InvalidApiKeyError)
    assert isinstance(error_of(await world.send(AuthenticateApiKey(secret=revoked.secret))), InvalidApiKeyError)

    live = (await world.send(CreateApiKey(actor=admin, name="c"))).unwrap()
    world.db.users[me.id].active = False
    assert isinstance(error_of(await world.send(AuthenticateApiKey(secret=live.secret))), InvalidApiKeyError)


async def test_last_use_is_written_at_most_once_a_minute(world) -> None:
    _, admin = await world.admin()
    issued = (await world.send(CreateApiKey(actor=admin, name="ci"))).unwrap()
    start = world.clock.now

    await world.send(AuthenticateApiKey(secret=issued.secret))
    commits = world.db.commits
    world.clock.advance(59)
    await world.send(AuthenticateApiKey(secret=issued.secret))
    assert world.db.keys[issued.key.id].last_used_at == start
    world.clock.advance(1)
    await world.send(AuthenticateApiKey(secret=issued.secret))

    assert world.db.keys[issued.key.id].last_used_at == start + timedelta(seconds=60)
    assert world.db.commits == commits + 2  # every call commits; only due ones changed anything


async def test_key_names_and_lifetimes_are_validated(world) -> None:
    _, admin = await world.admin()

    assert fields(await world.send(CreateApiKey(actor=admin, name="  ", expires_in=timedelta(seconds=0)))) == [
        "name",
        "expires_in",
    ]
    assert fields(await world.send(CreateApiKey(actor=admin, name="n" * 101))) == ["name"]


async def test_users_list_only_their_own_keys(world) -> None:
    _, admin = await world.admin()
    bob = world.principal(
        (await world.send(AddUser(actor=admin, email="bob@example.com", password=PASSWORD, roles=["viewer"]))).unwrap()
    )
    await world.send(CreateApiKey(actor=admin, name="first"))
    world.clock.advance(1)
    await world.send(CreateApiKey(actor=admin, name="second"))
    await world.send(CreateApiKey(actor=bob, name="bobs"))

    assert [key.name for key in (await world.ask(ListApiKeys(actor=admin))).unwrap()] == ["second", "first"]
    assert [key.name for key in (await world.ask(ListApiKeys(actor=bob))).unwrap()] == ["bobs"]


async def test_another_users_key_is_not_found(world) -> None:
    _, admin = await world.admin()
    bob = world.principal(
        (await world.send(AddUser(actor=admin, email="bob@example.com", password=PASSWORD, roles=["viewer"]))).unwrap()
    )
    issued = (await world.send(CreateApiKey(actor=admin, name="mine"))).unwrap()

    for result in (
        await world.send(RevokeApiKey(actor=bob, key_id=issued.key.id)),
        await world.send(RotateApiKey(actor=bob, key_id=issued.key.id)),
        await world.send(RevokeApiKey(actor=admin, key_id="not-a-uuid")),
    ):
        error = error_of(result)
        assert isinstance(error, ApiKeyNotFoundError)
        assert (error.status, error.code.value) == (404, "identity.api_key_not_found")
    assert world.db.keys[issued.key.id].revoked_at is None


async def test_revoking_is_idempotent(world) -> None:
    _, admin = await world.admin()
    issued = (await world.send(CreateApiKey(actor=admin, name="ci"))).unwrap()

    first = (await world.send(RevokeApiKey(actor=admin, key_id=issued.key.id))).unwrap()
    world.clock.advance(5)
    second = (await world.send(RevokeApiKey(actor=admin, key_id=str(issued.key.id)))).unwrap()

    assert first.revoked_at == second.revoked_at == world.clock.now - timedelta(seconds=5)


async def test_rotation_keeps_the_old_key_valid_for_the_grace_period(world) -> None:
    _, admin = await world.admin()
    old = (await world.send(CreateApiKey(actor=admin, name="ci", expires_in=timedelta(days=30)))).unwrap()
    world.clock.advance(100)

    new = (await world.send(RotateApiKey(actor=admin, key_id=old.key.id))).unwrap()

    assert (new.key.name, new.key.expires_at) == ("ci", world.clock.now + timedelta(days=30))
    assert world.db.keys[old.key.id].expires_at == world.clock.now + timedelta(seconds=3600)
    world.clock.advance(3599)
    assert (await world.send(AuthenticateApiKey(secret=old.secret))).is_ok()
    world.clock.advance(1)
    assert isinstance(error_of(await world.send(AuthenticateApiKey(secret=old.secret))), InvalidApiKeyError)
    assert (await world.send(AuthenticateApiKey(secret=new.secret))).is_ok()


async def test_rotation_never_extends_an_old_key_that_expires_sooner(world) -> None:
    _, admin = await world.admin()
    old = (await world.send(CreateApiKey(actor=admin, name="ci", expires_in=timedelta(seconds=60)))).unwrap()

    await world.send(RotateApiKey(actor=admin, key_id=old.key.id))

    assert world.db.keys[old.key.id].expires_at == world.clock.now + timedelta(seconds=60)


async def test_a_revoked_key_cannot_be_rotated(world) -> None:
    _, admin = await world.admin()
    old = (await world.send(CreateApiKey(actor=admin, name="ci"))).unwrap()
    await world.send(RevokeApiKey(actor=admin, key_id=old.key.id))

    error = error_of(await world.send(RotateApiKey(actor=admin, key_id=old.key.id)))

    assert isinstance(error, ApiKeyRevokedError)
    assert (error.status, error.code.value) == (409, "identity.api_key_revoked")
    assert len(world.db.keys) == 1


async def test_only_existing_users_get_keys(world) -> None:
    _, admin = await world.admin()

    for ghost in (replace(admin, subject=str(UserId.new())), replace(admin, subject="svc")):
        assert isinstance(error_of(await world.send(CreateApiKey(actor=ghost, name="ci"))), UserNotFoundError)
        assert (await world.ask(ListApiKeys(actor=ghost))).unwrap() == []


@pytest.mark.parametrize("rules", [{"max_failed_logins": 0}, {"lockout_seconds": 0}, {"api_key_grace_seconds": -1}])
def test_the_rules_refuse_nonsense_settings(rules: dict[str, int]) -> None:
    with pytest.raises(ValueError, match="lockout"):
        IdentityRules(**rules)


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
    identity = world.with_roles(owners)

    first = (await identity.send(RegisterTenant(email="ada@example.com", password=PASSWORD, tenant="acme"))).unwrap()
    owner = build_principal(str(first.id), "acme", first.roles, AuthMethod.ACCESS_TOKEN, policy=owners)

    assert first.roles == ("owner",)
    assert owner.has("users:manage")
    demoted = await identity.send(SetRoles(actor=owner, target=owner.subject, roles=("clerk",)))
    assert isinstance(error_of(demoted), SelfDemotionError)
    assert fields(await identity.send(SetRoles(actor=owner, target=owner.subject, roles=("admin",)))) == ["roles"]
