"""The workload's own credentials for Vault, fetched from Kubernetes at each login.

The operator never logs in to Vault as itself. With ``auth.kubernetes`` it asks the API server for a
short-lived token of the ApiBase's own ServiceAccount (the TokenRequest API, audience chosen by the
operator's configuration), so a Vault role binds a namespace and a ServiceAccount, and one team's ApiBase
cannot borrow another's role. With ``auth.tokenSecret`` the token comes from a Secret in the ApiBase's own
namespace, which its team controls anyway. Every call blocks: the reconciler runs them in a worker thread.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass

import urllib3
from kubernetes.client import (
    AuthenticationV1TokenRequest,
    CoreV1Api,
    V1TokenRequestSpec,
)
from kubernetes.client.exceptions import ApiException

from apibase_operator.crd.models import SecretKeyRef
from apibase_operator.vault.client import VaultTokenMissing

__all__ = ["DEFAULT_AUDIENCE", "TOKEN_EXPIRATION_SECONDS", "KubernetesCredentials", "Workload"]

#: The audience of the ServiceAccount tokens the operator requests; Vault roles must name the same one.
DEFAULT_AUDIENCE = "vault"
#: The shortest lifetime the API server grants (10 minutes); a token serves one login.
TOKEN_EXPIRATION_SECONDS = 600
_REQUEST_TIMEOUT = 10.0


@dataclass(frozen=True, slots=True)
class Workload:
    """Whose secrets are read: the ApiBase's namespace and the ServiceAccount its pods run as."""

    namespace: str
    service_account: str


class KubernetesCredentials:
    """:class:`~apibase_operator.vault.client.Credentials` of one workload, from the Kubernetes API.

    Every failure is a :class:`VaultTokenMissing` naming the object and the API server's status code, never
    the API server's answer (it can echo the request) and never a token.
    """

    def __init__(self, core: CoreV1Api, workload: Workload, *, audience: str = DEFAULT_AUDIENCE) -> None:
        self._core = core
        self._workload = workload
        self._audience = audience

    def vault_token(self, ref: SecretKeyRef) -> str:
        where = f"Secret {self._workload.namespace}/{ref.name}"
        try:
            secret = self._core.read_namespaced_secret(
                ref.name, self._workload.namespace, _request_timeout=_REQUEST_TIMEOUT
            )
        except (ApiException, urllib3.exceptions.HTTPError) as error:
            raise VaultTokenMissing(f"cannot read {where} for the Vault token: {_why(error)}") from None
        value = (secret.data or {}).get(ref.key)
        if value is None:
            raise VaultTokenMissing(f"{where} has no key {ref.key!r} for the Vault token")
        try:
            return base64.b64decode(value, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            raise VaultTokenMissing(f"the Vault token in {where}, key {ref.key!r}, is not UTF-8 text") from None

    def service_account_jwt(self) -> str:
        account = f"ServiceAccount {self._workload.namespace}/{self._workload.service_account}"
        request = AuthenticationV1TokenRequest(
            spec=V1TokenRequestSpec(audiences=[self._audience], expiration_seconds=TOKEN_EXPIRATION_SECONDS)
        )
        try:
            answer = self._core.create_namespaced_service_account_token(
                self._workload.service_account, self._workload.namespace, request, _request_timeout=_REQUEST_TIMEOUT
            )
        except (ApiException, urllib3.exceptions.HTTPError) as error:
            raise VaultTokenMissing(f"cannot request a token for {account}: {_why(error)}") from None
        token = answer.status.token if answer.status is not None else None
        if not isinstance(token, str) or not token:
            raise VaultTokenMissing(f"the API server returned no token for {account}")
        return token


def _why(error: Exception) -> str:
    if isinstance(error, ApiException):
        if error.status == 404:
            return "not found"
        if error.status == 403:
            return "the operator is not allowed to (HTTP 403), check its RBAC"
        return f"the API server answered HTTP {error.status}"
    return f"the API server cannot be reached ({type(error).__name__})"
