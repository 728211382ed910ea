from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import kopf
import kubernetes_validate
import pytest
import yaml
from typer.testing import CliRunner

from apibase_operator import cli as cli_module
from apibase_operator import logs
from apibase_operator.cli import INVALID_INPUT_EXIT_CODE, INVALID_OUTPUT_EXIT_CODE, cli, load_resources, main
from apibase_operator.reconcile.validation import supported_kubernetes_versions

pytestmark = pytest.mark.unit

SAMPLES = Path(__file__).parents[3] / "manifests" / "samples"
MINIMAL = """\
apiVersion: apibase.dev/v1alpha1
kind: ApiBase
metadata:
  name: hello
spec:
  image: ghcr.io/acme/hello:0.1.0
"""


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "apibase.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def kinds(output: str) -> list[tuple[str, str]]:
    return [(doc["kind"], doc["metadata"]["name"]) for doc in yaml.safe_load_all(output)]


def test_render_prints_the_objects_as_multi_document_yaml(runner, tmp_path):
    result = runner.invoke(cli, ["render", str(write(tmp_path, MINIMAL))])

    assert result.exit_code == 0, result.output
    assert kinds(result.stdout) == [
        ("Deployment", "hello"),
        ("PodDisruptionBudget", "hello"),
        ("Service", "hello"),
        ("ServiceAccount", "hello"),
    ]
    assert result.stdout.startswith("apiVersion: apps/v1\nkind: Deployment\nmetadata:\n")
    assert result.stderr == ""


def test_render_takes_every_apibase_of_the_file_and_skips_empty_documents(runner, tmp_path):
    second = MINIMAL.replace("name: hello", "name: world")
    result = runner.invoke(cli, ["render", str(write(tmp_path, f"---\n{MINIMAL}---\n---\n{second}"))])

    assert result.exit_code == 0, result.output
    assert {name for _, name in kinds(result.stdout)} == {"hello", "world"}
    assert len(kinds(result.stdout)) == 8


@pytest.mark.parametrize("sample", ["apibase-minimal.yaml", "apibase-full.yaml"])
def test_render_validate_accepts_the_samples(runner, sample):
    result = runner.invoke(cli, ["render", "--validate", str(SAMPLES / sample)])

    assert result.exit_code == 0, result.output
    count = len(kinds(result.stdout))
    assert result.stderr == f"{count} objects valid for Kubernetes 1.31\n"


def test_render_validate_against_another_kubernetes_version(runner):
    result = runner.invoke(
        cli, ["render", "--validate", "--kubernetes-version", "1.37", str(SAMPLES / "apibase-full.yaml")]
    )

    assert result.exit_code == 0, result.output
    assert "valid for Kubernetes 1.37" in result.stderr


@pytest.mark.parametrize("version", ["1.19", "1.24", "1.40", "2.0", "latest"])
def test_a_kubernetes_version_without_schemas_is_one_clear_error(runner, tmp_path, version):
    path = write(tmp_path, MINIMAL)
    result = runner.invoke(cli, ["render", "--validate", "--kubernetes-version", version, str(path)])

    assert result.exit_code == INVALID_INPUT_EXIT_CODE, result.output
    supported = supported_kubernetes_versions()
    assert result.stderr == (
        f"error: Kubernetes version '{version}' is not supported: kubernetes-validate "
        f"{kubernetes_validate.__version__} ships schemas for {supported[0]} to {supported[-1]}\n"
    )
    assert result.stdout == ""


def test_the_help_names_the_supported_kubernetes_versions(runner):
    result = runner.invoke(cli, ["render", "--help"], terminal_width=200)
    supported = supported_kubernetes_versions()

    assert result.exit_code == 0
    assert f"--validate uses: {supported[0]} to {supported[-1]}" in " ".join(result.stdout.split())
    installed = ".".join(kubernetes_validate.__version__.split(".")[:2])
    guide = " ".join((Path(__file__).parents[3] / "docs" / "operator.md").read_text(encoding="utf-8").split())
    assert f"({supported[0]} to {supported[-1]} with kubernetes-validate {installed})" in guide


@pytest.mark.parametrize("name", ["Hello_World", "hello_world", "9lives", "hello-", "a" * 64])
def test_a_name_that_cannot_name_a_service_exits_2(runner, tmp_path, name):
    result = runner.invoke(cli, ["render", str(write(tmp_path, MINIMAL.replace("name: hello", f"name: {name}")))])

    assert result.exit_code == INVALID_INPUT_EXIT_CODE, result.output
    assert result.stderr.startswith(f"error: {tmp_path / 'apibase.yaml'}: document 1: metadata.name: '{name}' ")
    assert result.stdout == ""


def test_the_same_apibase_twice_exits_2(runner, tmp_path):
    in_shop = MINIMAL.replace("name: hello", "name: hello\n  namespace: shop")
    text = f"{in_shop}---\n{MINIMAL}---\n{in_shop}"

    result = runner.invoke(cli, ["render", "--validate", str(write(tmp_path, text))])

    assert result.exit_code == INVALID_INPUT_EXIT_CODE, result.output
    assert result.stderr == (
        f"error: {tmp_path / 'apibase.yaml'}: document 3: ApiBase shop/hello is already defined by document 1\n"
    )


def test_the_same_name_in_two_namespaces_renders_both(runner, tmp_path):
    in_shop = MINIMAL.replace("name: hello", "name: hello\n  namespace: shop")

    result = runner.invoke(cli, ["render", str(write(tmp_path, f"{in_shop}---\n{MINIMAL}"))])

    assert result.exit_code == 0, result.output
    assert len(kinds(result.stdout)) == 8


def test_the_full_sample_renders_dapr_istio_and_vault_but_no_canary_yet(runner):
    result = runner.invoke(cli, ["render", str(SAMPLES / "apibase-full.yaml")])
    rendered = kinds(result.stdout)

    assert ("Component", "orders-pubsub") in rendered
    assert ("VirtualService", "orders") in rendered
    assert ("Deployment", "orders-canary") not in rendered
    assert not [kind for kind, _ in rendered if kind == "Secret"]


def test_invalid_objects_exit_1_with_every_problem(runner, tmp_path, monkeypatch):
    monkeypatch.setattr(cli_module, "validate_objects", lambda objects, version: ["Service/hello: spec: bad", "x: y"])

    result = runner.invoke(cli, ["render", "--validate", str(write(tmp_path, MINIMAL))])

    assert result.exit_code == INVALID_OUTPUT_EXIT_CODE
    assert result.stderr == "invalid: Service/hello: spec: bad\ninvalid: x: y\n"
    assert result.stdout == ""


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (MINIMAL.replace("ghcr.io/acme/hello:0.1.0", "Not An Image"), "document 1: spec.image: String should match"),
        (MINIMAL + "  replicas: -1\n", "document 1: spec.replicas: Input should be greater than or equal to 0"),
        (MINIMAL + "  replica: 3\n", "document 1: spec.replica: Extra inputs are not permitted"),
        (f"{MINIMAL}---\n{MINIMAL.replace('image: ', 'imag: ')}", "document 2: spec.image: Field required"),
        (MINIMAL.replace("kind: ApiBase", "kind: Deployment"), "expected apiVersion apibase.dev/v1alpha1 and kind"),
        (MINIMAL.replace("v1alpha1", "v2"), "got apibase.dev/v2 ApiBase"),
        ("- just\n- a list\n", "document 1: expected a mapping, got list"),
        ("key: [unclosed\n", "cannot read YAML"),
        ("", "no ApiBase document"),
        ("---\n---\n", "no ApiBase document"),
    ],
)
def test_an_unusable_manifest_exits_2_with_a_message(runner, tmp_path, text, message):
    result = runner.invoke(cli, ["render", str(write(tmp_path, text))])

    assert result.exit_code == INVALID_INPUT_EXIT_CODE, result.output
    assert result.stderr.startswith(f"error: {tmp_path / 'apibase.yaml'}: ")
    assert message in result.stderr
    assert result.stdout == ""


def test_a_missing_file_exits_2(runner, tmp_path):
    result = runner.invoke(cli, ["render", str(tmp_path / "absent.yaml")])

    assert result.exit_code == INVALID_INPUT_EXIT_CODE
    assert "cannot read YAML" in result.stderr


def test_load_resources_returns_the_models(tmp_path):
    (resource,) = load_resources(write(tmp_path, MINIMAL))

    assert (resource.metadata.name, resource.metadata.namespace, resource.spec.replicas) == ("hello", "default", 2)


def test_crd_prints_the_generated_definition(runner):
    from apibase_operator.crd.schema import crd_yaml

    result = runner.invoke(cli, ["crd"])

    assert result.exit_code == 0, result.output
    assert result.stdout == crd_yaml()
    assert yaml.safe_load(result.stdout)["kind"] == "CustomResourceDefinition"


def test_crd_prints_the_generator_output_verbatim(runner, monkeypatch):
    from apibase_operator.crd import schema

    monkeypatch.setattr(schema, "crd_yaml", lambda: "kind: CustomResourceDefinition\n")

    assert runner.invoke(cli, ["crd"]).stdout == "kind: CustomResourceDefinition\n"


def test_the_crd_generator_is_imported_only_by_the_crd_command():
    code = "import sys, apibase_operator.cli; print('apibase_operator.crd.schema' in sys.modules)"
    result = subprocess.run(  # noqa: S603 - this interpreter, fixed arguments, no shell
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )

    assert result.stdout.strip() == "False"


def test_main_runs_the_cli(monkeypatch, capsys, tmp_path):
    monkeypatch.setattr(sys, "argv", ["apibase-operator", "render", str(write(tmp_path, MINIMAL))])

    with pytest.raises(SystemExit) as exit_info:
        main()

    assert exit_info.value.code == 0
    assert "kind: Deployment" in capsys.readouterr().out


def test_no_arguments_shows_the_commands(runner):
    result = runner.invoke(cli, [])

    assert "render" in result.output
    assert "crd" in result.output


def test_run_logs_ecs_json_at_the_level_asked_then_runs_kopf(runner, monkeypatch):
    levels, runs = [], []
    monkeypatch.setattr(logs, "configure_logging", levels.append)
    monkeypatch.setattr(kopf, "run", lambda **kwargs: runs.append(kwargs))

    result = runner.invoke(cli, ["run", "--metrics-port", "0", "--log-level", "DEBUG", "--namespace", "shop"])

    assert result.exit_code == 0, result.output
    assert levels == ["DEBUG"]
    assert [(run["clusterwide"], run["namespaces"]) for run in runs] == [(False, ["shop"])]
    assert runs[0]["memo"].namespaces == ("shop",)  # the watch caches watch the same namespaces


def test_run_refuses_an_unknown_log_level_in_one_line(runner, monkeypatch):
    monkeypatch.setattr(kopf, "run", lambda **kwargs: pytest.fail("kopf must not start"))

    result = runner.invoke(cli, ["run", "--metrics-port", "0", "--log-level", "LOUD"])

    assert result.exit_code == INVALID_INPUT_EXIT_CODE
    assert result.stderr == "error: unknown log level 'LOUD'\n"
