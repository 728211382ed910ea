"""The ``apibase-operator`` command: offline tools around the operator (and, later, ``run``).

Every command is one function registered on :data:`cli` with ``@cli.command(name)``; ``run`` will be one
more. Heavy or optional imports happen inside the command that needs them, so ``render`` works without the
CRD generator and ``--help`` stays fast.

Exit status: 0 success, 1 the rendered objects are invalid, 2 the input is unusable (bad YAML, not an
ApiBase, refused by the model, a name that cannot name a Service, the same ApiBase twice, a Kubernetes version
without schemas).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
import yaml
from pydantic import ValidationError

from apibase_operator import API_VERSION, KIND
from apibase_operator.crd.models import ApiBaseResource
from apibase_operator.reconcile import Observed, desired_objects
from apibase_operator.reconcile.validation import (
    KUBERNETES_VERSION,
    KubernetesVersionNotSupportedError,
    name_problem,
    supported_kubernetes_versions,
    validate_objects,
)

__all__ = [
    "INVALID_INPUT_EXIT_CODE",
    "INVALID_OUTPUT_EXIT_CODE",
    "ManifestError",
    "cli",
    "crd_command",
    "load_resources",
    "main",
    "render_command",
    "render_yaml",
    "run_command",
]

INVALID_INPUT_EXIT_CODE = 2
INVALID_OUTPUT_EXIT_CODE = 1

cli = typer.Typer(
    name="apibase-operator",
    help="The ApiBase Kubernetes operator and its offline tools.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


class ManifestError(ValueError):
    """The file cannot be turned into ApiBase resources; the message says where and why."""


def _model_errors(error: ValidationError) -> str:
    return "; ".join(
        f"{'.'.join(str(part) for part in item['loc']) or '(root)'}: {item['msg']}" for item in error.errors()
    )


def _resource(document: object, where: str) -> ApiBaseResource:
    if not isinstance(document, dict):
        raise ManifestError(f"{where}: expected a mapping, got {type(document).__name__}")
    api_version, kind = document.get("apiVersion"), document.get("kind")
    if (api_version, kind) != (API_VERSION, KIND):
        raise ManifestError(f"{where}: expected apiVersion {API_VERSION} and kind {KIND}, got {api_version} {kind}")
    try:
        resource = ApiBaseResource.model_validate(document)
    except ValidationError as error:
        raise ManifestError(f"{where}: {_model_errors(error)}") from None
    if (problem := name_problem(resource.metadata.name)) is not None:
        raise ManifestError(f"{where}: metadata.name: {problem}")
    return resource


def load_resources(path: Path) -> list[ApiBaseResource]:
    """Every ApiBase in a (multi-document) YAML file, validated as the operator would; empty documents are skipped.

    The same namespace/name twice is refused: in a cluster the second would replace the first, so rendering both
    would show objects that can never exist together.
    """
    try:
        documents = list(yaml.safe_load_all(path.read_text(encoding="utf-8")))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as error:
        raise ManifestError(f"{path}: cannot read YAML: {error}") from None
    resources: list[ApiBaseResource] = []
    first_seen: dict[tuple[str, str], int] = {}
    for index, document in enumerate(documents, start=1):
        if document is None:
            continue
        resource = _resource(document, f"{path}: document {index}")
        key = (resource.metadata.namespace, resource.metadata.name)
        if key in first_seen:
            raise ManifestError(
                f"{path}: document {index}: ApiBase {'/'.join(key)} is already defined by document {first_seen[key]}"
            )
        first_seen[key] = index
        resources.append(resource)
    if not resources:
        raise ManifestError(f"{path}: no ApiBase document")
    return resources


def render_yaml(objects: list[dict[str, object]]) -> str:
    """Multi-document YAML in the objects' own key order (apiVersion, kind, metadata, spec first)."""
    return yaml.safe_dump_all(objects, sort_keys=False, allow_unicode=True, width=4096)


def _supported_range() -> str:
    supported = supported_kubernetes_versions()
    return f"{supported[0]} to {supported[-1]}"


def _unusable(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code=INVALID_INPUT_EXIT_CODE)


@cli.command("render")
def render_command(
    file: Annotated[Path, typer.Argument(help="YAML file with one or more ApiBase documents", dir_okay=False)],
    validate: Annotated[
        bool, typer.Option("--validate", help="Check every object (Kubernetes strict schemas, Istio and Dapr)")
    ] = False,
    kubernetes_version: Annotated[
        str,
        typer.Option(
            help=f"Kubernetes version whose schemas --validate uses: {_supported_range()} "
            "(what the installed kubernetes-validate ships)"
        ),
    ] = KUBERNETES_VERSION,
) -> None:
    """Print the objects the operator would create for each ApiBase (no canary running, no Vault secret yet)."""
    try:
        resources = load_resources(file)
    except ManifestError as error:
        raise _unusable(str(error)) from None
    objects = [obj for resource in resources for obj in desired_objects(resource, Observed())]
    if validate:
        try:
            problems = validate_objects(objects, kubernetes_version)
        except KubernetesVersionNotSupportedError as error:
            raise _unusable(str(error)) from None
        if problems:
            for problem in problems:
                typer.echo(f"invalid: {problem}", err=True)
            raise typer.Exit(code=INVALID_OUTPUT_EXIT_CODE)
        typer.echo(f"{len(objects)} objects valid for Kubernetes {kubernetes_version}", err=True)
    typer.echo(render_yaml(objects), nl=False)


@cli.command("crd")
def crd_command() -> None:
    """Print the ApiBase CustomResourceDefinition generated from the models."""
    from apibase_operator.crd.schema import crd_yaml  # noqa: PLC0415 - only this command needs the generator

    typer.echo(crd_yaml(), nl=False)


@cli.command("run")
def run_command(
    namespace: Annotated[
        list[str] | None, typer.Option(help="Watch only these namespaces (repeatable); default: the whole cluster")
    ] = None,
    liveness: Annotated[str, typer.Option(help="kopf liveness endpoint")] = "http://0.0.0.0:8080/healthz",
    metrics_port: Annotated[int, typer.Option(help="Port of the Prometheus /metrics endpoint (0: off)")] = 9090,
    log_level: Annotated[
        str, typer.Option(help="Lowest level logged (DEBUG, INFO, WARNING, ERROR), as ECS JSON lines on stderr")
    ] = "INFO",
) -> None:
    """Run the operator against the cluster of the service account (in a pod) or of $KUBECONFIG."""
    import kopf  # noqa: PLC0415 - the offline commands must not need a cluster library's start-up

    import apibase_operator.handlers  # noqa: F401, PLC0415 - registers the handlers with kopf
    from apibase_operator.logs import configure_logging  # noqa: PLC0415
    from apibase_operator.metrics import METRICS, start_metrics_server  # noqa: PLC0415

    try:
        configure_logging(log_level)
    except ValueError as error:
        raise _unusable(str(error)) from None
    if metrics_port:
        start_metrics_server(metrics_port, metrics=METRICS)
    kopf.run(
        clusterwide=not namespace,
        namespaces=namespace or (),
        standalone=True,
        liveness_endpoint=liveness,
        memo=kopf.Memo(namespaces=tuple(namespace or ())),  # the watch caches' scope: the same namespaces
    )


def main() -> None:
    """Console-script entry point (``apibase-operator``)."""
    cli()
