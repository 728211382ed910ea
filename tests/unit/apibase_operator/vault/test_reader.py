"""HvacVaultReader without a server: hvac's two calls are replaced, so login, re-login and error translation are
checked in every branch (the real server is in tests/integration/apibase_operator/test_vault_openbao.py)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import hvac.exceptions
import pytest
import requests
from hvac.api.auth_methods import Kubernetes
from hvac.api.secrets_engines import KvV2

from apibase_operator.crd.models import SecretKeyRef, VaultAuth
from apibase_operator.vault import (
    HvacVaultReader,
    VaultAccessDenied,
    VaultError,
    VaultPathNotFound,
    VaultTokenMissing,
    VaultUnavailable,
)

pytestmark = pytest.mark.unit

ADDRESS = "https://user:address-password@vault.example:8200"
JWT = "eyJhbGciOiJSUzI1NiJ9.service-account-jwt.sig"
TOKEN = "hvs.static-token-from-a-secret"
VALUE = "s3cr3t-value"
KUBERNETES_AUTH = VaultAuth.model_validate({"kubernetes": {"role": "orders", "mountPath": "k8s-prod"}})
TOKEN_AUTH = VaultAuth.model_validate({"tokenSecret": {"name": "vault-token", "key": "token"}})


@dataclass
class FakeVault:
    """Stands in for hvac's Kubernetes.login and KvV2.read_secret_version; records what reached it."""

    logins: list[tuple[str, str, str]] = field(default_factory=list)
    reads: list[tuple[str, str, str]] = field(default_factory=list)
    login_answers: list[object] = field(default_factory=list)
    read_answers: list[object] = field(default_factory=list)
    tokens_seen_at_login: list[str] = field(default_factory=list)

    def login(self, api: Kubernetes, role: str, jwt: str, use_token: bool, mount_point: str) -> object:
        assert use_token is False
        self.tokens_seen_at_login.append(api._adapter.token)
        self.logins.append((role, jwt, mount_point))
        return self._answer(self.login_answers, {"auth": {"client_token": f"hvs.login-{len(self.logins)}"}})

    def read(self, api: KvV2, path: str, mount_point: str, raise_on_deleted_version: bool) -> object:
        assert raise_on_deleted_version is True
        self.reads.append((mount_point, path, api._adapter.token))
        return self._answer(self.read_answers, {"data": {"data": {"password": VALUE}, "metadata": {}}})

    @staticmethod
    def _answer(answers: list[object], default: object) -> object:
        answer = answers.pop(0) if answers else default
        if isinstance(answer, BaseException):
            raise answer
        return answer


@pytest.fixture
def vault(monkeypatch: pytest.MonkeyPatch) -> FakeVault:
    fake = FakeVault()

    # Plain functions, not fake's bound methods: as class attributes they receive hvac's API object as ``api``.
    def login(api: Kubernetes, role: str, jwt: str, use_token: bool, mount_point: str) -> object:
        return fake.login(api, role, jwt, use_token, mount_point)

    def read(api: KvV2, path: str, mount_point: str, raise_on_deleted_version: bool) -> object:
        return fake.read(api, path, mount_point, raise_on_deleted_version)

    monkeypatch.setattr(Kubernetes, "login", login)
    monkeypatch.setattr(KvV2, "read_secret_version", read)
    return fake


@dataclass
class FakeCredentials:
    """Stands in for the Kubernetes API: ``jwt`` is what the next TokenRequest returns; calls are counted."""

    jwt: str = JWT + "\n"
    token_reader: Callable[[SecretKeyRef], str] = lambda _: TOKEN
    jwt_requests: int = 0

    def vault_token(self, ref: SecretKeyRef) -> str:
        return self.token_reader(ref)

    def service_account_jwt(self) -> str:
        self.jwt_requests += 1
        return self.jwt


@pytest.fixture
def credentials() -> FakeCredentials:
    return FakeCredentials()


@pytest.fixture
def make_reader(credentials: FakeCredentials) -> Iterator[Callable[..., HvacVaultReader]]:
    readers: list[HvacVaultReader] = []

    def make(
        auth: VaultAuth = KUBERNETES_AUTH, token_reader: Callable[[SecretKeyRef], str] | None = None
    ) -> HvacVaultReader:
        if token_reader is not None:
            credentials.token_reader = token_reader
        reader = HvacVaultReader(ADDRESS, auth, credentials=credentials)
        readers.append(reader)
        return reader

    yield make
    for reader in readers:
        reader.close()


def assert_clean(error: VaultError) -> None:
    """No credential, value or address password in anything a log line could print."""
    text = f"{error} {error!r} {error.args} {error.reason}"
    for secret in (JWT, TOKEN, VALUE, "address-password", "hvs.login"):
        assert secret not in text
    assert error.__cause__ is None
    assert error.__suppress_context__


# --- Kubernetes auth -----------------------------------------------------------------------------------------


def test_kubernetes_login_sends_the_workload_token_from_the_credentials(
    vault: FakeVault, make_reader, credentials: FakeCredentials
) -> None:
    reader = make_reader()

    assert reader.read("secret", "orders/db") == {"password": VALUE}

    assert credentials.jwt_requests == 1
    assert vault.logins == [("orders", JWT, "k8s-prod")]
    assert vault.reads == [("secret", "orders/db", "hvs.login-1")]


def test_the_login_ignores_vault_token_from_the_environment(
    vault: FakeVault, make_reader, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VAULT_TOKEN", "hvs.ambient")
    make_reader().read("secret", "orders/db")
    assert vault.tokens_seen_at_login == [""]


def test_logs_in_once_for_many_reads(vault: FakeVault, make_reader) -> None:
    reader = make_reader()
    reader.read("secret", "a")
    reader.read("secret", "b")

    assert len(vault.logins) == 1
    assert [token for *_, token in vault.reads] == ["hvs.login-1", "hvs.login-1"]


def test_a_denied_read_with_an_older_token_logs_in_again_with_a_new_jwt(
    vault: FakeVault, make_reader, credentials: FakeCredentials
) -> None:
    reader = make_reader()
    reader.read("secret", "a")
    credentials.jwt = "rotated.jwt.sig"
    vault.read_answers.append(hvac.exceptions.Forbidden("permission denied"))

    assert reader.read("secret", "a") == {"password": VALUE}

    assert [jwt for _, jwt, _ in vault.logins] == [JWT, "rotated.jwt.sig"]
    assert [token for *_, token in vault.reads] == ["hvs.login-1", "hvs.login-1", "hvs.login-2"]


def test_a_read_denied_right_after_login_is_not_retried(vault: FakeVault, make_reader) -> None:
    vault.read_answers.append(hvac.exceptions.Forbidden("permission denied"))

    with pytest.raises(VaultAccessDenied) as caught:
        make_reader().read("secret", "orders/db")

    assert len(vault.logins) == 1
    assert len(vault.reads) == 1
    assert str(caught.value) == "reading secret/orders/db at https://vault.example:8200: permission denied"
    assert_clean(caught.value)


def test_a_jwt_that_cannot_be_had_is_a_missing_token_and_nothing_is_sent(
    vault: FakeVault, make_reader, credentials: FakeCredentials, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse() -> str:
        raise VaultTokenMissing("cannot request a token for ServiceAccount shop/orders: not found")

    monkeypatch.setattr(credentials, "service_account_jwt", refuse)

    with pytest.raises(VaultTokenMissing, match="ServiceAccount shop/orders: not found"):
        make_reader().read("secret", "a")
    assert vault.logins == []


def test_an_empty_jwt_is_a_missing_token(vault: FakeVault, make_reader, credentials: FakeCredentials) -> None:
    credentials.jwt = "\n"

    with pytest.raises(VaultTokenMissing, match="is empty"):
        make_reader().read("secret", "a")
    assert vault.logins == []


@pytest.mark.parametrize(
    "answer",
    [{"auth": None}, {"auth": {"client_token": ""}}, {"auth": {"client_token": 7}}, {}],
)
def test_a_login_answer_without_a_token_is_unavailable(vault: FakeVault, make_reader, answer: object) -> None:
    vault.login_answers.append(answer)

    with pytest.raises(VaultUnavailable, match="the answer has no client token"):
        make_reader().read("secret", "a")


def test_a_400_at_login_is_access_denied(vault: FakeVault, make_reader) -> None:
    vault.login_answers.append(hvac.exceptions.InvalidRequest('invalid role name "orders"'))

    with pytest.raises(VaultAccessDenied, match="check the role and the auth mount") as caught:
        make_reader().read("secret", "a")
    assert "Kubernetes login (role 'orders', auth mount 'k8s-prod')" in str(caught.value)
    assert_clean(caught.value)


# --- token auth ------------------------------------------------------------------------------------------------


def test_token_auth_asks_the_token_reader_and_strips_the_token(vault: FakeVault, make_reader) -> None:
    asked: list[SecretKeyRef] = []

    def token_reader(ref: SecretKeyRef) -> str:
        asked.append(ref)
        return TOKEN + "\n"

    make_reader(TOKEN_AUTH, token_reader).read("secret", "orders/db")

    assert asked == [SecretKeyRef(name="vault-token", key="token")]
    assert vault.logins == []
    assert vault.reads == [("secret", "orders/db", TOKEN)]


def test_a_denied_token_is_read_again_from_its_secret(vault: FakeVault, make_reader) -> None:
    tokens = iter(["hvs.old", "hvs.new"])
    reader = make_reader(TOKEN_AUTH, lambda _: next(tokens))
    reader.read("secret", "a")
    vault.read_answers.append(hvac.exceptions.Forbidden("permission denied"))

    reader.read("secret", "a")

    assert [token for *_, token in vault.reads] == ["hvs.old", "hvs.old", "hvs.new"]


def test_an_empty_token_secret_is_a_missing_token(vault: FakeVault, make_reader) -> None:
    with pytest.raises(VaultTokenMissing, match="the Vault token in Secret key vault-token/token is empty"):
        make_reader(TOKEN_AUTH, lambda _: "  ").read("secret", "a")
    assert vault.reads == []


def test_an_auth_without_a_method_is_access_denied(vault: FakeVault, make_reader) -> None:
    """Only reachable past the model's validator (model_construct); refused rather than sent anonymously."""
    with pytest.raises(VaultAccessDenied, match="names no method"):
        make_reader(VaultAuth.model_construct()).read("secret", "a")
    assert vault.reads == []


# --- reading ---------------------------------------------------------------------------------------------------


def test_non_string_values_become_json_text(vault: FakeVault, make_reader) -> None:
    vault.read_answers.append(
        {"data": {"data": {"port": 5432, "on": True, "none": None, "obj": {"b": 1, "a": "ü"}, "s": "x"}}}
    )

    assert make_reader().read("secret", "a") == {
        "port": "5432",
        "on": "true",
        "none": "null",
        "obj": '{"a":"ü","b":1}',
        "s": "x",
    }


def test_a_deleted_latest_version_is_not_found(vault: FakeVault, make_reader) -> None:
    vault.read_answers.append({"data": {"data": None, "metadata": {"deletion_time": "2026-01-01T00:00:00Z"}}})

    with pytest.raises(VaultPathNotFound, match="deleted or destroyed"):
        make_reader().read("secret", "a")


@pytest.mark.parametrize("answer", [{"data": None}, {"data": {"data": ["x"]}}, {}])
def test_an_answer_that_is_not_kv_v2_is_unavailable(vault: FakeVault, make_reader, answer: object) -> None:
    vault.read_answers.append(answer)

    with pytest.raises(VaultUnavailable, match="the answer is not a KV v2 secret"):
        make_reader().read("secret", "a")


def test_a_non_json_answer_such_as_a_refused_redirect_is_unavailable(vault: FakeVault, make_reader) -> None:
    response = requests.Response()
    response.status_code = 307
    vault.read_answers.append(response)

    with pytest.raises(VaultUnavailable, match=r"unexpected answer \(HTTP 307\)"):
        make_reader().read("secret", "a")


# --- error translation -----------------------------------------------------------------------------------------


LEAKY_TEXT = f'{{"data": {{"data": {{"password": "{VALUE}"}}}}, "token": "{TOKEN}"}}'


@pytest.mark.parametrize(
    ("raised", "expected", "message"),
    [
        (hvac.exceptions.Forbidden(LEAKY_TEXT), VaultAccessDenied, "permission denied"),
        (hvac.exceptions.Unauthorized(LEAKY_TEXT), VaultAccessDenied, "permission denied"),
        (hvac.exceptions.InvalidPath(LEAKY_TEXT), VaultPathNotFound, "not found"),
        (hvac.exceptions.VaultDown(LEAKY_TEXT), VaultUnavailable, "sealed or in standby"),
        (hvac.exceptions.VaultNotInitialized(LEAKY_TEXT), VaultUnavailable, "not initialized"),
        (hvac.exceptions.RateLimitExceeded(LEAKY_TEXT), VaultUnavailable, "rate limited"),
        (hvac.exceptions.InternalServerError(LEAKY_TEXT), VaultUnavailable, "server error"),
        (hvac.exceptions.BadGateway(LEAKY_TEXT), VaultUnavailable, "server error"),
        (hvac.exceptions.InvalidRequest(LEAKY_TEXT), VaultUnavailable, "unexpected error"),
        (hvac.exceptions.UnexpectedError(LEAKY_TEXT), VaultUnavailable, "unexpected error"),
        (requests.exceptions.ConnectTimeout(LEAKY_TEXT), VaultUnavailable, "timed out"),
        (requests.exceptions.ReadTimeout(LEAKY_TEXT), VaultUnavailable, "timed out"),
        (requests.exceptions.SSLError(LEAKY_TEXT), VaultUnavailable, "TLS handshake"),
        (requests.exceptions.ConnectionError(LEAKY_TEXT), VaultUnavailable, "cannot connect"),
        (requests.exceptions.TooManyRedirects(LEAKY_TEXT), VaultUnavailable, "request to"),
    ],
)
def test_read_errors_become_our_classes_without_the_server_text(
    vault: FakeVault, make_reader, raised: Exception, expected: type[VaultError], message: str
) -> None:
    vault.read_answers.append(raised)

    with pytest.raises(expected, match=message) as caught:
        make_reader().read("secret", "orders/db")

    assert type(caught.value) is expected
    assert "secret/orders/db" in str(caught.value)
    assert_clean(caught.value)


def test_login_errors_become_our_classes_without_the_server_text(vault: FakeVault, make_reader) -> None:
    vault.login_answers.append(hvac.exceptions.Forbidden(LEAKY_TEXT + JWT))

    with pytest.raises(VaultAccessDenied, match="permission denied") as caught:
        make_reader().read("secret", "a")
    assert_clean(caught.value)


# --- the reader itself -----------------------------------------------------------------------------------------


def test_the_repr_names_host_and_method_only(make_reader) -> None:
    assert repr(make_reader()) == "HvacVaultReader('https://vault.example:8200', auth=kubernetes)"
    assert repr(make_reader(TOKEN_AUTH)) == "HvacVaultReader('https://vault.example:8200', auth=token)"


def test_an_address_without_a_port_is_shown_without_one(credentials: FakeCredentials) -> None:
    with HvacVaultReader("https://vault.example", KUBERNETES_AUTH, credentials=credentials) as reader:
        assert repr(reader) == "HvacVaultReader('https://vault.example', auth=kubernetes)"


def test_an_address_with_an_impossible_port_is_unavailable_not_a_crash(credentials: FakeCredentials) -> None:
    with HvacVaultReader("http://vault.example:99999", TOKEN_AUTH, credentials=credentials) as reader:
        assert repr(reader) == "HvacVaultReader('http://vault.example', auth=token)"
        with pytest.raises(VaultUnavailable, match=r"reading secret/a: request to http://vault\.example failed"):
            reader.read("secret", "a")


def test_the_context_manager_closes_the_session(credentials: FakeCredentials, monkeypatch: pytest.MonkeyPatch) -> None:
    closed: list[bool] = []
    monkeypatch.setattr(requests.Session, "close", lambda _: closed.append(True))

    with HvacVaultReader(ADDRESS, TOKEN_AUTH, credentials=credentials):
        assert closed == []
    assert closed == [True]
