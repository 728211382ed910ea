"""The ApiBase spec and status as pydantic models: the single source of the CRD schema and of validation.

Field names are camelCase on the wire (Kubernetes convention) and snake_case in Python.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic.alias_generators import to_camel

__all__ = [
    "DAPR_COMPONENT_TYPE_PATTERN",
    "IMAGE_PATTERN",
    "ApiBaseResource",
    "ApiBaseSpec",
    "ApiBaseStatus",
    "Autoscaling",
    "Canary",
    "CanaryAnalysis",
    "Condition",
    "ConditionStatus",
    "ConditionType",
    "Dapr",
    "DaprComponent",
    "DaprMetadataItem",
    "EnvVar",
    "Istio",
    "MtlsMode",
    "ObjectMeta",
    "Probe",
    "Probes",
    "Resources",
    "SecretKeyRef",
    "Vault",
    "VaultAuth",
    "VaultKubernetesAuth",
    "VaultPath",
]

#: registry/repository:tag or @sha256 digest; lower-case repository path as the OCI distribution spec requires.
IMAGE_PATTERN = (
    r"^([a-z0-9.-]+(:[0-9]+)?/)?[a-z0-9]+([._-][a-z0-9]+)*(/[a-z0-9]+([._-][a-z0-9]+)*)*"
    r"(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}|@sha256:[a-f0-9]{64})$"
)
#: Dapr building blocks the operator knows how to wire; anything else is refused by the CRD schema.
DAPR_COMPONENT_TYPE_PATTERN = r"^(pubsub|state|secretstores|bindings|configuration|lock|crypto)\.[a-z0-9][a-z0-9.-]*$"
_DNS_LABEL = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"


class CrdModel(BaseModel):
    """camelCase on the wire, unknown fields refused (the API server prunes them; we say so instead)."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True)


class SecretKeyRef(CrdModel):
    name: str = Field(pattern=_DNS_LABEL, max_length=253, description="Secret name in the same namespace")
    key: str = Field(min_length=1, max_length=253, description="Key inside the Secret")


class EnvVar(CrdModel):
    name: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$", max_length=128)
    value: str | None = Field(default=None, max_length=32768)
    secret_key_ref: SecretKeyRef | None = Field(default=None, description="Read the value from a Secret key")


class Resources(CrdModel):
    requests: dict[str, str] = Field(
        default_factory=lambda: {"cpu": "100m", "memory": "128Mi"},
        description="cpu and memory requests, Kubernetes quantities",
    )
    limits: dict[str, str] = Field(default_factory=lambda: {"memory": "512Mi"}, description="cpu and memory limits")


class Probe(CrdModel):
    path: str = Field(pattern=r"^/[A-Za-z0-9/._~-]*$", max_length=256)
    period_seconds: int = Field(default=10, ge=1, le=300)
    timeout_seconds: int = Field(default=2, ge=1, le=60)
    failure_threshold: int = Field(default=3, ge=1, le=100)


class Probes(CrdModel):
    """Default to the health endpoints every API Base service serves."""

    liveness: Probe = Probe(path="/health/live")
    readiness: Probe = Probe(path="/health/ready")
    startup: Probe = Probe(path="/health/startup", period_seconds=2, failure_threshold=60)


class Autoscaling(CrdModel):
    enabled: bool = True
    min_replicas: int = Field(default=2, ge=1, le=1000)
    max_replicas: int = Field(default=10, ge=1, le=1000)
    target_cpu_utilization_percentage: int = Field(default=75, ge=1, le=100)

    @model_validator(mode="after")
    def _bounds(self) -> Autoscaling:
        if self.min_replicas > self.max_replicas:
            raise ValueError("autoscaling.minReplicas must not exceed maxReplicas")
        return self


class DaprMetadataItem(CrdModel):
    name: str = Field(min_length=1, max_length=253)
    value: str | None = Field(default=None, max_length=32768)
    secret_key_ref: SecretKeyRef | None = None


class DaprComponent(CrdModel):
    name: str = Field(pattern=_DNS_LABEL, max_length=63)
    type: str = Field(pattern=DAPR_COMPONENT_TYPE_PATTERN, max_length=128, examples=["pubsub.redis", "state.redis"])
    version: str = Field(default="v1", pattern=r"^v[0-9]+(alpha[0-9]+|beta[0-9]+)?$")
    metadata: list[DaprMetadataItem] = Field(default_factory=list, max_length=100)


class Dapr(CrdModel):
    enabled: bool = True
    app_id: str | None = Field(default=None, pattern=_DNS_LABEL, max_length=63, description="Default: the name")
    app_port: int | None = Field(default=None, ge=1, le=65535, description="Default: spec.port")
    app_protocol: Literal["http", "grpc", "h2c"] = "http"
    log_level: Literal["debug", "info", "warn", "error"] = "info"
    config: str | None = Field(default=None, pattern=_DNS_LABEL, max_length=253, description="Dapr Configuration")
    components: list[DaprComponent] = Field(default_factory=list, max_length=50)
    app_token_secret: str | None = Field(
        default=None,
        pattern=_DNS_LABEL,
        max_length=253,
        description="Secret whose key `token` daprd sends to the app (dapr.io/app-token-secret); the app checks it",
    )
    api_token_secret: str | None = Field(
        default=None,
        pattern=_DNS_LABEL,
        max_length=253,
        description="Secret whose key `token` daprd requires on its API (dapr.io/api-token-secret); the app sends it",
    )


class MtlsMode(StrEnum):
    STRICT = "STRICT"
    PERMISSIVE = "PERMISSIVE"


class Istio(CrdModel):
    enabled: bool = True
    hosts: list[str] = Field(default_factory=list, max_length=20, description="Default: the Service's DNS name")
    gateway: str | None = Field(default=None, max_length=253, description="namespace/name of an Istio Gateway")
    mtls_mode: MtlsMode = MtlsMode.STRICT
    allowed_principals: list[str] = Field(
        default_factory=list,
        max_length=100,
        description="SPIFFE principals allowed to call (cluster.local/ns/NS/sa/SA); empty allows the mesh",
    )


class CanaryAnalysis(CrdModel):
    prometheus_url: str = Field(pattern=r"^https?://", max_length=2048)
    query: str = Field(min_length=1, max_length=4096, description="PromQL returning one number")
    max_value: float | None = Field(default=None, description="Fail the step when the result is above")
    min_value: float | None = Field(default=None, description="Fail the step when the result is below")

    @model_validator(mode="after")
    def _threshold(self) -> CanaryAnalysis:
        if self.max_value is None and self.min_value is None:
            raise ValueError("canary.analysis needs maxValue, minValue or both")
        return self


class Canary(CrdModel):
    image: str = Field(pattern=IMAGE_PATTERN, max_length=512)
    steps: list[int] = Field(
        default_factory=lambda: [10, 25, 50, 100],
        min_length=1,
        max_length=20,
        description="Traffic weights in percent, increasing; 100 means promote",
        json_schema_extra={"items": {"type": "integer", "minimum": 1, "maximum": 100}},
    )
    step_interval_seconds: int = Field(default=60, ge=5, le=86400)
    analysis: CanaryAnalysis | None = None
    auto_promote: bool = True

    @model_validator(mode="after")
    def _increasing(self) -> Canary:
        if any(not 1 <= step <= 100 for step in self.steps):
            raise ValueError("canary.steps are weights between 1 and 100")
        if any(later <= earlier for earlier, later in zip(self.steps, self.steps[1:], strict=False)):
            raise ValueError("canary.steps must increase")
        return self


class VaultKubernetesAuth(CrdModel):
    role: str = Field(min_length=1, max_length=253)
    mount_path: str = Field(default="kubernetes", pattern=r"^[A-Za-z0-9_/-]+$", max_length=253)


class VaultAuth(CrdModel):
    kubernetes: VaultKubernetesAuth | None = None
    token_secret: SecretKeyRef | None = Field(default=None, description="A Secret key holding a Vault token")

    @model_validator(mode="after")
    def _one(self) -> VaultAuth:
        if (self.kubernetes is None) == (self.token_secret is None):
            raise ValueError("vault.auth needs exactly one of kubernetes or tokenSecret")
        return self


class VaultPath(CrdModel):
    path: str = Field(pattern=r"^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*$", max_length=512, description="KV v2 path")
    keys: dict[str, str] = Field(min_length=1, description="Vault key → key in the target Secret", max_length=200)


class Vault(CrdModel):
    address: str = Field(pattern=r"^https?://", max_length=2048)
    auth: VaultAuth
    mount: str = Field(default="secret", pattern=r"^[A-Za-z0-9_-]+$", max_length=128, description="KV v2 mount")
    paths: list[VaultPath] = Field(min_length=1, max_length=50)
    target_secret: str | None = Field(
        default=None, pattern=_DNS_LABEL, max_length=253, description="Default: NAME-vault"
    )
    refresh_interval_seconds: int = Field(default=300, ge=10, le=86400)
    restart_on_rotation: bool = True


class ApiBaseSpec(CrdModel):
    image: str = Field(pattern=IMAGE_PATTERN, max_length=512, examples=["ghcr.io/acme/orders:1.4.2"])
    replicas: int = Field(default=2, ge=0, le=1000)
    autoscaling: Autoscaling | None = None
    port: int = Field(default=8000, ge=1, le=65535)
    env: list[EnvVar] = Field(default_factory=list, max_length=200)
    env_from_secrets: list[str] = Field(default_factory=list, max_length=20, description="Secrets loaded as env")
    resources: Resources = Resources()
    probes: Probes = Probes()
    service_account_name: str | None = Field(default=None, pattern=_DNS_LABEL, max_length=253)
    dapr: Dapr | None = None
    istio: Istio | None = None
    canary: Canary | None = None
    vault: Vault | None = None
    paused: bool = Field(default=False, description="Stop reconciling; nothing is changed or deleted")


class ConditionType(StrEnum):
    READY = "Ready"
    PROGRESSING = "Progressing"
    DEGRADED = "Degraded"
    SECRETS_SYNCED = "SecretsSynced"
    CANARY_HEALTHY = "CanaryHealthy"


class ConditionStatus(StrEnum):
    TRUE = "True"
    FALSE = "False"
    UNKNOWN = "Unknown"


class Condition(CrdModel):
    type: ConditionType
    status: ConditionStatus
    observed_generation: int = Field(ge=0)
    reason: str = Field(pattern=r"^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$", max_length=1024)
    message: str = Field(max_length=32768)
    last_transition_time: datetime


class ApiBaseStatus(CrdModel):
    model_config = ConfigDict(extra="ignore")

    observed_generation: int | None = None
    conditions: list[Condition] = Field(default_factory=list)
    replicas: int | None = Field(default=None, description="For the scale subresource")
    selector: str | None = Field(default=None, description="Label selector, for the scale subresource")
    stable_revision: str | None = None
    canary_revision: str | None = None
    canary_image: str | None = Field(
        default=None, description="The canary in flight, or the last one that finished (never retried as is)"
    )
    stable_image: str | None = Field(default=None, description="The image the stable Deployment runs")
    promoted_over: str | None = Field(
        default=None, description="spec.image when a canary was promoted; the promoted image wins until it changes"
    )
    canary_weight: int = Field(default=0, ge=0, le=100)
    canary_step: int = Field(default=0, ge=0)
    canary_step_started_at: datetime | None = None
    last_secret_sync: datetime | None = None
    secret_hash: str | None = Field(default=None, description="Hash of the synced values, never the values")


class ObjectMeta(CrdModel):
    model_config = ConfigDict(extra="ignore")

    name: str
    namespace: str = "default"
    uid: str = ""
    generation: int = 1
    labels: dict[str, str] = Field(default_factory=dict)
    annotations: dict[str, str] = Field(default_factory=dict)


class ApiBaseResource(CrdModel):
    """A whole ApiBase object as read from the API server (or a manifest)."""

    model_config = ConfigDict(extra="ignore")

    api_version: str = "apibase.dev/v1alpha1"
    kind: Literal["ApiBase"] = "ApiBase"
    metadata: ObjectMeta
    spec: ApiBaseSpec
    status: ApiBaseStatus = ApiBaseStatus()
