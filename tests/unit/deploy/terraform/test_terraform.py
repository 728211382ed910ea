"""The Terraform modules under terraform/: formatting, offline validation, plan-only tests and documentation.

The terraform CLI runs on a temporary copy of terraform/ with its own TF_DATA_DIR, so nothing (``.terraform/``,
lock files, state) is written into the repository. Providers come only from the local plugin directory
(``-plugin-dir``), never from the registry: ``TF_PLUGIN_CACHE_DIR`` and the user's CLI configuration are ignored,
version checks are off, and a dead proxy turns any attempt to reach the network into an immediate failure.

Only hashicorp/aws is available offline, so the aws module and the aws-only example are initialised and validated,
and the aws module's ``terraform test`` suite (mocked provider, plan only) runs. The platform module and the
complete example need the kubernetes, helm and vault providers: their ``terraform validate`` is skipped with the
reason until those providers are in the plugin directory. Meanwhile they are checked by ``terraform fmt``, by
static checks, and, for the platform module, by ``terraform console`` over its variables and locals, which needs no
provider: its variable validations, the values it gives the operator chart (against the chart's schema), and each
application's Vault role and policy (their own expressions, evaluated per application).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import jsonschema
import pytest
import yaml

pytestmark = pytest.mark.unit

REPO = Path(__file__).resolve().parents[4]
TERRAFORM_ROOT = REPO / "terraform"
PLUGIN_DIR = Path(os.environ.get("APIBASE_TF_PLUGIN_DIR", "/opt/tf-plugins"))
TERRAFORM = shutil.which("terraform")
MIN_TERRAFORM = (1, 9)
TIMEOUT_SECONDS = 180

MODULES = ("modules/aws", "modules/platform")
EXAMPLES = ("examples/aws-only", "examples/complete")
CONFIGURATIONS = MODULES + EXAMPLES

_SOURCE = re.compile(r'^\s*source\s*=\s*"hashicorp/([a-z0-9-]+)"', re.MULTILINE)
_BLOCK = re.compile(r'^(variable|output) "([A-Za-z0-9_-]+)" \{\n(.*?)^\}', re.MULTILINE | re.DOTALL)
_PROVIDER_VERSION = re.compile(
    r'^\s*([a-z0-9]+) = \{\s*source\s*=\s*"hashicorp/[a-z0-9-]+"\s*version\s*=\s*"([^"]+)"', re.MULTILINE
)


def _base_env() -> dict[str, str]:
    """The caller's environment without anything that changes how terraform finds providers or inputs."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("TF_", "CHECKPOINT_")) and key.lower() not in {"http_proxy", "https_proxy", "no_proxy"}
    }
    env.update(
        TF_IN_AUTOMATION="1",
        TF_INPUT="0",
        CHECKPOINT_DISABLE="1",
        # Nothing may be fetched: a proxy that refuses every connection makes a network access fail fast.
        HTTP_PROXY="http://127.0.0.1:9",
        HTTPS_PROXY="http://127.0.0.1:9",
        NO_PROXY="",
    )
    return env


def _terraform_version() -> tuple[tuple[int, int], str] | None:
    if TERRAFORM is None:
        return None
    completed = subprocess.run(  # noqa: S603 - a fixed argument list, no shell
        [TERRAFORM, "version", "-json"], capture_output=True, text=True, timeout=60, check=False, env=_base_env()
    )
    info = json.loads(completed.stdout)
    major, minor = (int(part) for part in info["terraform_version"].split(".")[:2])
    return (major, minor), info["platform"]


_VERSION = _terraform_version()

requires_terraform = pytest.mark.skipif(
    _VERSION is None or _VERSION[0] < MIN_TERRAFORM,
    reason="terraform is not installed (not on PATH); the Terraform checks need terraform >= 1.9"
    if _VERSION is None
    else f"terraform {_VERSION[0][0]}.{_VERSION[0][1]} is older than the modules' required_version (>= 1.9)",
)


def _required_providers(configuration: str) -> list[str]:
    """hashicorp/* providers in the configuration's versions.tf, in their order there."""
    text = (TERRAFORM_ROOT / configuration / "versions.tf").read_text(encoding="utf-8")
    return list(dict.fromkeys(_SOURCE.findall(text)))


def _missing_providers(configuration: str) -> list[str]:
    platform = _VERSION[1] if _VERSION is not None else "linux_amd64"
    missing = []
    for name in _required_providers(configuration):
        versions = PLUGIN_DIR / "registry.terraform.io" / "hashicorp" / name
        if not any((version / platform).is_dir() for version in versions.glob("*")):
            missing.append(name)
    return missing


def _skip_reason(missing: list[str]) -> str:
    return f"provider hashicorp/{'|'.join(missing)} not available offline (plugin directory {PLUGIN_DIR})"


@dataclass(frozen=True)
class Workspace:
    """A copy of terraform/ and the environment to run terraform in it."""

    root: Path
    env: dict[str, str]
    data: Path

    def run(self, configuration: str, *args: str) -> subprocess.CompletedProcess[str]:
        env = dict(self.env, TF_DATA_DIR=str(self.data / configuration.replace("/", "-")))
        return subprocess.run(  # noqa: S603 - a fixed argument list, no shell
            [str(TERRAFORM), *args],
            cwd=self.root / configuration,
            env=env,
            capture_output=True,
            text=True,
            timeout=TIMEOUT_SECONDS,
            check=False,
        )

    def check(self, configuration: str, *args: str) -> str:
        completed = self.run(configuration, *args)
        output = completed.stdout + completed.stderr
        assert completed.returncode == 0, f"terraform {' '.join(args)} in {configuration} failed:\n{output}"
        return output

    def init(self, configuration: str) -> None:
        missing = _missing_providers(configuration)
        if missing:
            pytest.skip(_skip_reason(missing))
        self.check(configuration, "init", "-backend=false", f"-plugin-dir={PLUGIN_DIR}", "-input=false", "-no-color")


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    base = tmp_path_factory.mktemp("terraform")
    root = base / "terraform"
    shutil.copytree(
        TERRAFORM_ROOT, root, ignore=shutil.ignore_patterns(".terraform", ".terraform.lock.hcl", "*.tfstate*")
    )
    cli_config = base / "terraformrc"
    cli_config.write_text("# empty: no plugin cache, no provider mirrors, no credentials\n", encoding="utf-8")
    env = dict(_base_env(), TF_CLI_CONFIG_FILE=str(cli_config))
    return Workspace(root=root, env=env, data=base / "data")


@pytest.fixture(scope="module")
def aws_module(workspace: Workspace) -> Workspace:
    workspace.init("modules/aws")
    return workspace


# --- terraform CLI ----------------------------------------------------------------------------------------------------


@requires_terraform
def test_every_file_is_formatted(workspace: Workspace) -> None:
    """terraform fmt -check -recursive on the repository's own terraform/ (it reads, never writes, with -check)."""
    completed = subprocess.run(  # noqa: S603 - a fixed argument list, no shell
        [str(TERRAFORM), "fmt", "-check", "-recursive", "-diff", "-no-color", str(TERRAFORM_ROOT)],
        capture_output=True,
        text=True,
        timeout=TIMEOUT_SECONDS,
        check=False,
        env=workspace.env,
    )
    assert completed.returncode == 0, (
        f"terraform fmt -check -recursive terraform:\n{completed.stdout}{completed.stderr}"
    )


@requires_terraform
def test_aws_module_validates(aws_module: Workspace) -> None:
    assert "The configuration is valid" in aws_module.check("modules/aws", "validate", "-no-color")


@requires_terraform
def test_aws_module_plan_tests_pass(aws_module: Workspace) -> None:
    """terraform/modules/aws/tests/*.tftest.hcl: mocked provider, plan only, including the rejected inputs."""
    output = aws_module.check("modules/aws", "test", "-no-color")
    summary = re.search(r"(\d+) passed, (\d+) failed", output)
    assert summary is not None, output
    assert int(summary.group(1)) >= 4, output
    assert summary.group(2) == "0", output


@requires_terraform
def test_aws_only_example_validates(workspace: Workspace) -> None:
    workspace.init("examples/aws-only")
    assert "The configuration is valid" in workspace.check("examples/aws-only", "validate", "-no-color")


@requires_terraform
@pytest.mark.parametrize("configuration", ["modules/platform", "examples/complete"])
def test_configurations_needing_other_providers_validate(workspace: Workspace, configuration: str) -> None:
    """Skipped while the kubernetes, helm and vault providers are not in the plugin directory."""
    workspace.init(configuration)
    assert "The configuration is valid" in workspace.check(configuration, "validate", "-no-color")


def test_platform_and_complete_example_need_the_unavailable_providers() -> None:
    """The skip above is about exactly these providers: anything else missing would be a mistake here."""
    assert _required_providers("modules/platform") == ["kubernetes", "helm", "vault"]
    assert _required_providers("examples/complete") == ["aws", "kubernetes", "helm", "vault"]
    assert _required_providers("modules/aws") == ["aws"]
    assert _required_providers("examples/aws-only") == ["aws"]


# --- static checks (no terraform needed) ------------------------------------------------------------------------------


def _blocks(configuration: str, kind: str) -> dict[str, str]:
    text = (TERRAFORM_ROOT / configuration / f"{kind}s.tf").read_text(encoding="utf-8")
    return {name: body for block_kind, name, body in _BLOCK.findall(text) if block_kind == kind}


@pytest.mark.parametrize("configuration", CONFIGURATIONS)
def test_standard_layout(configuration: str) -> None:
    files = {path.name for path in (TERRAFORM_ROOT / configuration).iterdir()}
    assert {"main.tf", "variables.tf", "outputs.tf", "versions.tf"} <= files
    if configuration in MODULES:
        assert "README.md" in files


@pytest.mark.parametrize("configuration", CONFIGURATIONS)
def test_every_variable_has_a_description_and_a_type(configuration: str) -> None:
    variables = _blocks(configuration, "variable")
    assert variables
    for name, body in variables.items():
        assert re.search(r"^  description = \"[^\"]+", body, re.MULTILINE), f"variable {name} has no description"
        assert re.search(r"^  type        = \S", body, re.MULTILINE), f"variable {name} has no type"


@pytest.mark.parametrize("configuration", MODULES)
def test_module_variables_are_validated(configuration: str) -> None:
    """Free-form values (strings and numbers) are validated; booleans, maps of tags and labels need not be."""
    for name, body in _blocks(configuration, "variable").items():
        type_ = re.search(r"^  type        = (.+)$", body, re.MULTILINE)
        assert type_ is not None
        if type_.group(1) in {"bool", "map(string)"} and "validation {" not in body:
            continue
        assert "validation {" in body, f"variable {name} in {configuration} has no validation"


@pytest.mark.parametrize("configuration", CONFIGURATIONS)
def test_every_output_has_a_description(configuration: str) -> None:
    outputs = _blocks(configuration, "output")
    assert outputs
    for name, body in outputs.items():
        assert re.search(r"^  description = \"[^\"]+", body, re.MULTILINE), f"output {name} has no description"


@pytest.mark.parametrize("configuration", CONFIGURATIONS)
def test_versions_are_pinned(configuration: str) -> None:
    text = (TERRAFORM_ROOT / configuration / "versions.tf").read_text(encoding="utf-8")
    assert re.search(r'required_version = ">= 1\.9\.0, < 2\.0\.0"', text)
    pins = dict(_PROVIDER_VERSION.findall(text))
    expected = {"aws": "~> 5.100", "kubernetes": "~> 2.30", "helm": "~> 3.0", "vault": "~> 4.4"}
    assert pins == {name: expected[name] for name in _required_providers(configuration)}


@pytest.mark.parametrize("configuration", MODULES)
def test_readme_documents_every_input_and_output(configuration: str) -> None:
    readme = (TERRAFORM_ROOT / configuration / "README.md").read_text(encoding="utf-8")
    inputs, outputs = readme.split("\n## Inputs\n", 1)[1].split("\n## Outputs\n", 1)

    def rows(section: str) -> list[str]:
        return re.findall(r"^\| `([A-Za-z0-9_]+)` \|", section, re.MULTILINE)

    assert rows(inputs) == list(_blocks(configuration, "variable"))
    assert rows(outputs) == list(_blocks(configuration, "output"))


def test_modules_use_no_registry_modules() -> None:
    """No internet: the modules are built from resources only, and examples use the local modules."""
    for path in TERRAFORM_ROOT.rglob("*.tf"):
        for source in re.findall(r'^\s*source\s*=\s*"([^"]+)"', path.read_text(encoding="utf-8"), re.MULTILINE):
            assert source.startswith(("../", "hashicorp/")), f"{path}: source {source}"


_RESOURCE = re.compile(r'^resource "([a-z0-9_]+)" "([a-z0-9_]+)" \{\n(.*?)^\}', re.MULTILINE | re.DOTALL)
_ATTRIBUTE = re.compile(r"^  ([a-z_]+) += (<<-EOT\n.*?^  EOT|[^\n]+)$", re.MULTILINE | re.DOTALL)
_EACH = re.compile(r"\beach\.(key|value)\b")
_OTHER_RESOURCE = re.compile(r"\b(?:vault|kubernetes|helm)_[a-z0-9_]+\.")


def _platform_resources() -> dict[tuple[str, str], dict[str, str]]:
    """The platform module's resources (type, name) and their top-level attributes (expression text).

    main.tf is kept in ``terraform fmt`` layout (test_every_file_is_formatted), so a resource ends at the first
    closing brace in column 0 and its attributes are the lines indented by two spaces.
    """
    main = (TERRAFORM_ROOT / "modules/platform/main.tf").read_text(encoding="utf-8")
    return {
        (type_, name): dict(_ATTRIBUTE.findall(body.split("\n  depends_on", 1)[0]))
        for type_, name, body in _RESOURCE.findall(main)
    }


def _vault_resources(type_: str) -> dict[str, dict[str, str]]:
    return {name: attributes for (kind, name), attributes in _platform_resources().items() if kind == type_}


def test_no_vault_resource_belongs_to_the_operator() -> None:
    """The operator logs in as each application (docs/operator.md, Vault): its ServiceAccount has no Vault role."""
    vault = {key: value for key, value in _platform_resources().items() if key[0].startswith("vault_")}
    assert ("vault_kubernetes_auth_backend_config", "this") in vault  # the token reviewer setup stays
    for (type_, name), attributes in vault.items():
        text = " ".join(attributes.values())
        assert "operator_service_account" not in text, f"{type_}.{name} names the operator's ServiceAccount"
        assert "operator_namespace" not in text, f"{type_}.{name} names the operator's namespace"
        assert name != "operator", f"{type_}.{name} is the operator's"


def test_every_vault_role_and_policy_is_one_applications() -> None:
    """Roles and policies exist only per application, each role granting only its application's own policy."""
    roles = _vault_resources("vault_kubernetes_auth_backend_role")
    policies = _vault_resources("vault_policy")
    assert list(roles) == ["application"]
    assert list(policies) == ["application"]
    assert roles["application"]["for_each"] == policies["application"]["for_each"] == "local.vault_applications"
    assert roles["application"]["token_policies"] == "[vault_policy.application[each.key].name]"
    assert roles["application"]["backend"] == "vault_auth_backend.kubernetes.path"


def _probe(type_: str, name: str) -> str:
    """A local evaluating, per for_each key, the resource's attributes that refer to no other resource."""
    attributes = _vault_resources(type_)[name]
    fields = "\n".join(
        f"      {attribute} = {_EACH.sub(lambda each: 'key' if each.group(1) == 'key' else 'app', expression)}"
        for attribute, expression in attributes.items()
        if attribute != "for_each" and not _OTHER_RESOURCE.search(expression)
    )
    for_each = attributes["for_each"]
    return f"  probe_{type_}_{name} = {{\n    for key, app in {for_each} : key => {{\n{fields}\n    }}\n  }}\n"


# --- platform module through terraform console (no provider needed) ---------------------------------------------------

CHART = REPO / "charts" / "apibase-operator"
PEM = "-----BEGIN CERTIFICATE-----\nMIIBfake\n-----END CERTIFICATE-----\n"
PLATFORM_INPUTS = {
    "vault_address": "https://vault.example.com:8200",
    "kubernetes_host": "https://ABCDEF.gr7.eu-west-1.eks.amazonaws.com",
    "kubernetes_ca_cert": PEM,
}


@pytest.fixture(scope="module")
def platform_console(workspace: Workspace) -> str:
    """A configuration of the platform module's variables.tf and locals, plus the operator release's values.

    It uses no provider, so ``terraform console`` evaluates it offline without ``init``: variable validations
    run, and expressions can be read as JSON.
    """
    main = (workspace.root / "modules/platform/main.tf").read_text(encoding="utf-8")
    locals_block = re.search(r"^locals \{\n.*?^\}\n", main, re.MULTILINE | re.DOTALL)
    operator = re.search(r'^resource "helm_release" "operator" \{\n(.*?)^\}', main, re.MULTILINE | re.DOTALL)
    assert locals_block is not None
    assert operator is not None
    values = re.search(r"^  values = (concat\(.*?\)\n)", operator.group(1), re.MULTILINE | re.DOTALL)
    assert values is not None
    console = workspace.root / "platform-console"
    console.mkdir()
    shutil.copy(workspace.root / "modules/platform/variables.tf", console / "variables.tf")
    # The per-application Vault resources, as far as they exist (the tests that need them say when they do not).
    probes = "".join(
        _probe(type_, name)
        for type_, name in _platform_resources()
        if (type_, name) in {("vault_kubernetes_auth_backend_role", "application"), ("vault_policy", "application")}
    )
    (console / "main.tf").write_text(
        f"{locals_block.group(0)}\nlocals {{\n  operator_values = {values.group(1)}{probes}}}\n", encoding="utf-8"
    )
    return "platform-console"


def _console(workspace: Workspace, configuration: str, expression: str, **variables: str) -> tuple[str, str]:
    """stdout and stderr of ``terraform console``; it reports invalid variables on stderr but still exits 0."""
    args = [f"-var={name}={value}" for name, value in variables.items()]
    env = dict(workspace.env, TF_DATA_DIR=str(workspace.data / configuration))
    completed = subprocess.run(  # noqa: S603 - a fixed argument list, no shell
        [str(TERRAFORM), "console", "-no-color", *args],
        cwd=workspace.root / configuration,
        env=env,
        input=expression + "\n",
        capture_output=True,
        text=True,
        timeout=TIMEOUT_SECONDS,
        check=False,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    return completed.stdout, completed.stderr


def _evaluate(workspace: Workspace, configuration: str, expression: str, **variables: str) -> object:
    """The value of an expression, for inputs that every variable validation accepts."""
    stdout, stderr = _console(workspace, configuration, f"jsonencode({expression})", **variables)
    assert "Error" not in stderr + stdout, stderr + stdout
    return json.loads(json.loads(stdout.strip()))


def _merge(base: dict[str, object], override: dict[str, object]) -> dict[str, object]:
    """Helm's merge of a values document over the chart's defaults."""
    merged = dict(base)
    for key, value in override.items():
        below = merged.get(key)
        merged[key] = _merge(below, value) if isinstance(below, dict) and isinstance(value, dict) else value
    return merged


@requires_terraform
def test_platform_operator_values(workspace: Workspace, platform_console: str) -> None:
    rendered = _evaluate(workspace, platform_console, "local.operator_values", **PLATFORM_INPUTS)
    assert isinstance(rendered, list)
    assert len(rendered) == 1
    assert yaml.safe_load(rendered[0]) == {
        "serviceAccount": {"create": True, "name": "apibase-operator"},
        "operator": {"resyncSeconds": 60},
        "vault": {
            "allowedAddresses": ["https://vault.example.com:8200"],
            "allowedMounts": ["secret/apibase"],
            "audience": "vault",
        },
    }


APPLICATIONS = (
    '{ "shop/orders" = {}, "dev/orders" = { service_account = "orders-sa" },'
    ' "shop/pay" = { secret_prefix = "payments" } }'
)


@requires_terraform
def test_each_application_role_binds_its_own_namespace_and_service_account(
    workspace: Workspace, platform_console: str
) -> None:
    """The role's own expressions, evaluated for each application: no other namespace's account may log in."""
    inputs = dict(PLATFORM_INPUTS, applications=APPLICATIONS, vault_audience="vault.example.com")
    roles = _evaluate(
        workspace, platform_console, "local.probe_vault_kubernetes_auth_backend_role_application", **inputs
    )
    common = {"audience": "vault.example.com", "token_ttl": 300, "token_max_ttl": 900}
    assert roles == {
        "shop/orders": {
            "role_name": "shop-orders",
            "bound_service_account_names": ["orders"],
            "bound_service_account_namespaces": ["shop"],
            **common,
        },
        "dev/orders": {
            "role_name": "dev-orders",
            "bound_service_account_names": ["orders-sa"],
            "bound_service_account_namespaces": ["dev"],
            **common,
        },
        "shop/pay": {
            "role_name": "shop-pay",
            "bound_service_account_names": ["pay"],
            "bound_service_account_namespaces": ["shop"],
            **common,
        },
    }
    values = _evaluate(workspace, platform_console, "local.operator_values", **inputs)
    assert isinstance(values, list)
    assert yaml.safe_load(values[0])["vault"]["audience"] == "vault.example.com"  # what the operator requests


@requires_terraform
def test_each_application_policy_reads_only_its_own_paths(workspace: Workspace, platform_console: str) -> None:
    inputs = dict(PLATFORM_INPUTS, applications=APPLICATIONS, vault_kv_mount="kv", vault_secret_prefix="teams")
    policies = _evaluate(workspace, platform_console, "local.probe_vault_policy_application", **inputs)
    assert isinstance(policies, dict)
    assert {key: policy["name"] for key, policy in policies.items()} == {
        "shop/orders": "shop-orders",
        "dev/orders": "dev-orders",
        "shop/pay": "shop-pay",
    }
    for key, path in {
        "shop/orders": "kv/data/teams/shop/orders/*",
        "dev/orders": "kv/data/teams/dev/orders/*",
        "shop/pay": "kv/data/teams/payments/*",
    }.items():
        rule = r'^path "([^"]+)" \{\n  capabilities = (\[[^]]*\])\n\}$'
        rules = re.findall(rule, policies[key]["policy"], re.MULTILINE)
        assert rules == [(path, '["read"]')], policies[key]["policy"]
    allowed = _evaluate(workspace, platform_console, "local.operator_allowed_vault_prefix", **inputs)
    assert allowed == "kv/teams"  # every application's path lies under what the operator allows


@requires_terraform
def test_platform_creates_no_vault_role_without_applications(workspace: Workspace, platform_console: str) -> None:
    assert _evaluate(workspace, platform_console, "local.probe_vault_policy_application", **PLATFORM_INPUTS) == {}


@requires_terraform
@pytest.mark.parametrize(
    "applications",
    [
        '{ "orders" = {} }',  # no namespace
        '{ "Shop/orders" = {} }',
        '{ "shop/orders" = { service_account = "Orders.SA" } }',
        '{ "shop/orders" = { secret_prefix = "../dev/orders" } }',
        '{ "shop/orders" = { secret_prefix = "shop/*" } }',
        '{ "a-b/c" = {}, "a/b-c" = {} }',  # both would be role a-b-c
    ],
)
def test_platform_rejects_bad_applications(workspace: Workspace, platform_console: str, applications: str) -> None:
    _, stderr = _console(workspace, platform_console, "1", **dict(PLATFORM_INPUTS, applications=applications))
    assert re.search(
        r'Error: Invalid value for variable\n\n  on variables\.tf line \d+:\n +\d+: variable "applications"', stderr
    ), stderr


@requires_terraform
def test_platform_operator_values_fit_the_chart(workspace: Workspace, platform_console: str) -> None:
    """What the module gives charts/apibase-operator passes the chart's values.schema.json, as helm would check."""
    if not (CHART / "values.schema.json").is_file():
        pytest.skip("charts/apibase-operator is not in this checkout")
    schema = json.loads((CHART / "values.schema.json").read_text(encoding="utf-8"))
    defaults = yaml.safe_load((CHART / "values.yaml").read_text(encoding="utf-8"))
    inputs = dict(PLATFORM_INPUTS, operator_service_account="orders-operator", operator_resync_seconds="30")
    rendered = _evaluate(workspace, platform_console, "local.operator_values", **inputs)
    assert isinstance(rendered, list)
    values = _merge(defaults, yaml.safe_load(rendered[0]))
    jsonschema.validators.validator_for(schema)(schema).validate(values)


def test_operator_chart_turns_the_values_into_the_operator_environment() -> None:
    """The keys the module sets reach the APIBASE_OPERATOR_* variables operator/apibase_operator/wiring.py reads."""
    deployment = CHART / "templates" / "deployment.yaml"
    if not deployment.is_file():
        pytest.skip("charts/apibase-operator is not in this checkout")
    template = deployment.read_text(encoding="utf-8")
    wiring = (REPO / "operator/apibase_operator/wiring.py").read_text(encoding="utf-8")
    for variable, key in {
        "APIBASE_OPERATOR_RESYNC_SECONDS": ".Values.operator.resyncSeconds",
        "APIBASE_OPERATOR_VAULT_MOUNTS": ".Values.vault.allowedMounts",
        "APIBASE_OPERATOR_VAULT_ADDRESSES": ".Values.vault.allowedAddresses",
    }.items():
        assert f'"{variable}"' in wiring
        assert re.search(rf"name: {variable}\n\s+value: \{{\{{[^}}]*{re.escape(key)}", template) or re.search(
            rf"with {re.escape(key)} }}}}\n\s+- name: {variable}\n", template
        ), f"the chart does not set {variable} from {key}"


@requires_terraform
def test_platform_accepts_its_defaults(workspace: Workspace, platform_console: str) -> None:
    assert _evaluate(workspace, platform_console, "var.vault_runs_in_cluster", **PLATFORM_INPUTS) is False


@requires_terraform
def test_platform_vault_in_cluster_needs_no_host_or_certificate(workspace: Workspace, platform_console: str) -> None:
    inputs = {"vault_address": "http://vault.vault:8200", "vault_runs_in_cluster": "true"}
    assert _evaluate(workspace, platform_console, "var.kubernetes_ca_cert", **inputs) is None


@requires_terraform
def test_platform_variable_validations_reject_bad_input(workspace: Workspace, platform_console: str) -> None:
    bad = {
        "istio_version": "v1.26",
        "dapr_version": "latest",
        "istio_repository": "http://charts.example.com",
        "istio_ingress_service_type": "External",
        "helm_timeout_seconds": "5",
        "extra_values": '{ unknown = [""] }',
        "labels": '{ "bad key!" = "x" }',
        "operator_chart_version": "~> 0.1",
        "operator_service_account": "Operator.SA",
        "operator_namespace": "Apibase_System",
        "operator_resync_seconds": "0",
        "vault_address": "https://vault.example.com:8200/",
        "vault_kv_mount": "kv/v2",
        "vault_secret_prefix": "../other",
        "vault_auth_path": "/kubernetes/",
        "vault_audience": "vault, other",
        "vault_token_max_ttl_seconds": "60",
        "kubernetes_host": "https://kubernetes.default.svc",
        "kubernetes_ca_cert": "not a certificate",
    }
    _, stderr = _console(workspace, platform_console, "1", **bad)
    rejected = set(
        re.findall(
            r'Error: Invalid value for variable\n\n  on variables\.tf line \d+:\n +\d+: variable "([a-z_]+)"', stderr
        )
    )
    assert rejected == set(bad), f"not rejected: {sorted(set(bad) - rejected)}\n{stderr}"
