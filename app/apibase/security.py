"""The security half of the object graph: keys and tokens, API-key checks, the stores behind the middleware stack.

Built in two steps because the token signing key may live in Vault or AWS Secrets Manager, which are only
reachable from async code: ``build_security`` makes everything that needs no I/O; ``SecurityContainer.start``
loads the key ring and finishes the token-dependent parts before the first request is served.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from datetime import timedelta
from enum import StrEnum

from limits.aio.storage import Storage
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from apibase.application.cqrs.bus import CommandBus
from apibase.application.identity.commands import AuthenticateApiKey
from apibase.application.identity.ports import TokenMinting
from apibase.application.ports.audit import AuditLog
from apibase.application.ports.idempotency import IdempotencyStore
from apibase.application.ports.secrets import SecretNotFound, SecretsProvider
from apibase.core.errors import AppError, DependencyUnavailable, UnauthorizedError
from apibase.core.principal import Principal
from apibase.core.result import Err, Result
from apibase.core.settings import Settings
from apibase.domain.identity.roles import RolePolicy
from apibase.infrastructure.crypto.field_encryption import FieldEncryptor
from apibase.infrastructure.crypto.redis_replay_cache import RedisReplayCache
from apibase.infrastructure.crypto.request_signing import RequestVerifier, SigningKey
from apibase.infrastructure.idempotency import RedisIdempotencyStore
from apibase.infrastructure.idempotency.encrypted import EncryptedIdempotencyStore
from apibase.infrastructure.persistence.audit.recorder import SqlAuditLog
from apibase.infrastructure.persistence.idempotency.store import SqlIdempotencyStore
from apibase.infrastructure.pools import ConnectionPools
from apibase.infrastructure.pools.clients import REDIS_TIMEOUT_SECONDS
from apibase.infrastructure.rate_limiting import build_rate_limit_storage, close_rate_limit_storage
from apibase.infrastructure.secrets.cached import CachedSecretsProvider
from apibase.infrastructure.secrets.factory import build_secrets_provider
from apibase.infrastructure.security.access_tokens import AccessTokenAuthenticator
from apibase.infrastructure.security.identity_adapters import Argon2PasswordHashing, JwtTokenMinting
from apibase.infrastructure.security.key_material import SIGNING_KEY_SECRET, load_signing_ring
from apibase.infrastructure.security.tokens.issuer import TokenIssuer
from apibase.infrastructure.security.tokens.keys import JwtKeyRing
from apibase.infrastructure.security.tokens.remote_jwks import RemoteJwks, RemoteTokenVerifier
from apibase.infrastructure.security.tokens.verifier import TokenPolicy, TokenVerifier

__all__ = ["REDIS_TIMEOUT_SECONDS", "SecurityContainer", "build_security"]


@dataclass
class SecurityContainer:
    settings: Settings
    secrets: SecretsProvider
    hasher: Argon2PasswordHashing
    #: The process's shared clients (Redis, HTTP); their owner, the kernel, closes them.
    pools: ConnectionPools
    redis: Redis | None
    rate_limit_storage: Storage
    idempotency_store: IdempotencyStore
    #: The SQL store when keys live in the database (their expiry is then purged by the idempotency module).
    sql_idempotency: SqlIdempotencyStore | None
    audit_log: AuditLog
    request_verifier: RequestVerifier | None
    roles: RolePolicy
    #: Where API keys are checked (``AuthenticateApiKey``, handled by the identity module).
    commands: CommandBus
    key_ring: JwtKeyRing = field(default_factory=JwtKeyRing)
    _tokens: JwtTokenMinting | None = None
    _access_tokens: AccessTokenAuthenticator | None = None
    _external_jwks: RemoteJwks | None = None

    async def start(self) -> None:
        """Load the signing key (file, secrets provider, or generated outside production) and the token parts."""
        auth = self.settings.auth
        self.key_ring = await load_signing_ring(auth, self.secrets, production=self.settings.is_production)
        issuer = TokenIssuer(
            self.key_ring,
            issuer=auth.issuer,
            audience=auth.audience,
            access_ttl=timedelta(seconds=auth.access_ttl_seconds),
            refresh_ttl=timedelta(seconds=auth.refresh_ttl_seconds),
        )
        verifier = TokenVerifier(self.key_ring, TokenPolicy(issuer=auth.issuer, audience=auth.audience))
        self._tokens = JwtTokenMinting(issuer, verifier)
        self._access_tokens = AccessTokenAuthenticator(verifier, self._external_verifier(), roles=self.roles)

    def _external_verifier(self) -> RemoteTokenVerifier | None:
        auth = self.settings.auth
        if auth.external_jwks_url is None or auth.external_issuer is None or auth.external_audience is None:
            return None
        jwks = self._external_jwks = RemoteJwks(auth.external_jwks_url, self.pools.http())
        # Identity providers rarely set ``typ`` or ``jti`` on access tokens; signature, issuer, audience and
        # lifetime are still checked exactly as for our own tokens.
        policy = TokenPolicy(
            issuer=auth.external_issuer, audience=auth.external_audience, expected_type=None, require_token_id=False
        )
        return RemoteTokenVerifier(jwks, policy)

    async def stop(self) -> None:
        await close_rate_limit_storage(self.rate_limit_storage)

    async def check_secrets(self) -> None:
        """Readiness: the secrets backend itself (not the cache) answers for the signing key's secret.

        "No such secret" counts as an answer: the key may come from a file, and start-up already refused a
        missing key where it matters. Unreachable, sealed or access denied raise ``SecretsUnavailable``.
        """
        backend = self.secrets.inner if isinstance(self.secrets, CachedSecretsProvider) else self.secrets
        with contextlib.suppress(SecretNotFound):
            await backend.get(SIGNING_KEY_SECRET)

    async def check_external_jwks(self) -> None:
        """Readiness: the external issuer's JWKS answers with usable keys (fetched now, not from the cache)."""
        if self._external_jwks is None:
            raise DependencyUnavailable("the external issuer's keys are not set up yet")
        await self._external_jwks.check()

    def token_minting(self) -> TokenMinting:
        """What the identity handlers mint and verify tokens with, once ``start`` loaded the signing key."""
        if self._tokens is None:
            raise DependencyUnavailable("the service is starting; retry in a moment")
        return self._tokens

    async def authenticate_access_token(self, token: str) -> Result[Principal, AppError[StrEnum]]:
        if self._access_tokens is None:
            return Err(DependencyUnavailable("the service is starting; retry in a moment"))
        return await self._access_tokens(token)

    async def authenticate_api_key(self, secret: str) -> Result[Principal, AppError[StrEnum]]:
        """A refused key is an ``Err`` (401); storage failing is a fault (503/500), raised, never a refused key."""
        result = await self.commands.dispatch(AuthenticateApiKey(secret=secret))
        if isinstance(result, Err) and not isinstance(result.error, UnauthorizedError):
            raise result.error
        return result


def build_security(
    settings: Settings,
    session_factory: async_sessionmaker[AsyncSession],
    *,
    roles: RolePolicy,
    commands: CommandBus,
    pools: ConnectionPools,
    encryptor: FieldEncryptor | None = None,
) -> SecurityContainer:
    """``roles``: the role policy every principal's permissions come from; ``commands``: the kernel's command bus,
    on which the identity module handles ``AuthenticateApiKey``; ``pools``: the clients every store shares."""
    redis = pools.redis
    backend = settings.idempotency.backend
    use_redis = backend == "redis" or (backend == "auto" and redis is not None)
    if use_redis and redis is None:
        raise ValueError("APIBASE_IDEMPOTENCY__BACKEND=redis needs APIBASE_REDIS_URL")
    sql_idempotency: SqlIdempotencyStore | None = None
    idempotency: IdempotencyStore
    if backend == "dapr":
        idempotency = _dapr_idempotency_store(settings, pools)
    elif use_redis and redis is not None:
        idempotency = RedisIdempotencyStore(redis)
    else:
        idempotency = sql_idempotency = SqlIdempotencyStore(session_factory)
    if encryptor is not None:  # stored responses may hold personal data: encrypted at rest like the columns
        idempotency = EncryptedIdempotencyStore(idempotency, encryptor)
    signing = settings.signing
    verifier = (
        RequestVerifier(
            [SigningKey(kid, secret.get_secret_value().encode()) for kid, secret in signing.keys.items()],
            max_skew_seconds=signing.max_skew_seconds,
            replay_cache=RedisReplayCache(redis) if redis is not None else None,
        )
        if signing.keys
        else None
    )
    return SecurityContainer(
        settings=settings,
        secrets=build_secrets_provider(settings.secrets, settings.dapr, sidecar=pools.dapr),
        hasher=Argon2PasswordHashing(
            time_cost=settings.auth.password_time_cost, memory_cost=settings.auth.password_memory_kib
        ),
        pools=pools,
        redis=redis,
        rate_limit_storage=build_rate_limit_storage(settings.redis_url, connection_pool=pools.redis_pool),
        idempotency_store=idempotency,
        sql_idempotency=sql_idempotency,
        audit_log=SqlAuditLog(session_factory),
        request_verifier=verifier,
        roles=roles,
        commands=commands,
    )


def _dapr_idempotency_store(settings: Settings, pools: ConnectionPools) -> IdempotencyStore:
    """Keys in the sidecar's state store (``APIBASE_IDEMPOTENCY__BACKEND=dapr``); the ``dapr`` extra, imported here."""
    from apibase.infrastructure.dapr.idempotency import DaprIdempotencyStore  # noqa: PLC0415 - the extra
    from apibase.infrastructure.dapr.state import DaprState  # noqa: PLC0415 - the extra

    return DaprIdempotencyStore(DaprState(pools.dapr(), settings.dapr.state_store))
