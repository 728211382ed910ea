"""The Dockerfile and .dockerignore, checked offline; the images are also built and run when a Docker daemon is up.

The offline part parses the Dockerfile with the small parser below (continuation lines, comments inside them,
heredocs, ``--flags``, exec versus shell form, stages built ``FROM`` other stages, global ``ARG`` substitution)
and checks what a reviewer would: both targets, a numeric non-root user, no HEALTHCHECK, the OCI labels, exec-form
commands that are the console scripts of ``[project.scripts]`` (and that those scripts accept them), the
dependency layer before the source, nothing secret in the build context or the layers, Python 3.12 bases, and
nothing Debian's buildah 1.28 cannot build (scripts/build-images.sh). The images themselves are built and run by
tests/integration/deploy/test_images.py.
"""

from __future__ import annotations

import fnmatch
import importlib
import json
import os
import re
import shlex
import sys
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path, PurePosixPath

import pytest

from apibase.core.settings import load_settings
from apibase.interface.cli.servers import uvicorn as uvicorn_server

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[3]
DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))

TARGETS = ("service", "operator")
ALL_INTERFACES = "0.0.0.0"  # noqa: S104 - a container listens on its own network namespace's interfaces
TMP = "/tmp"  # noqa: S108 - the container's /tmp: an emptyDir (Kubernetes) or a tmpfs (docker run --tmpfs)
#: What each image runs: ENTRYPOINT followed by CMD.
COMMANDS = {"service": ["apibase", "serve", "--host", ALL_INTERFACES], "operator": ["apibase-operator", "run"]}
REQUIRED_LABELS = (
    "org.opencontainers.image.title",
    "org.opencontainers.image.description",
    "org.opencontainers.image.version",
    "org.opencontainers.image.revision",
    "org.opencontainers.image.created",
    "org.opencontainers.image.source",
    "org.opencontainers.image.licenses",
)
#: ``python:3.12-slim`` with an optional patch version, Debian release and digest; never ``latest`` or 3.13.
PYTHON_BASE = re.compile(r"^(docker\.io/(library/)?)?python:3\.12(\.\d+)?-slim(-[a-z]+)?(@sha256:[0-9a-f]{64})?$")
SECRET_GLOBS = (".env", ".env.*", "*.env", "*.pem", "*.key", "id_rsa", "id_rsa.*", "*.p12", "*.pfx", ".vault-token")
SECRET_NAME = re.compile(r"SECRET|PASSWORD|PASSWD|TOKEN|CREDENTIAL|PRIVATE_KEY|API_KEY", re.IGNORECASE)
SOURCE_PATHS = {"app", "operator", ".", "README.md"}
UID = 10001


# -- a small Dockerfile parser ---------------------------------------------------------------------------------------
HEREDOC = re.compile(r"<<(-?)(['\"]?)([A-Za-z_][A-Za-z0-9_]*)\2")
VARIABLE = re.compile(r"\$(?:\{(?P<braced>[A-Za-z_][A-Za-z0-9_]*)(?::-(?P<default>[^}]*))?\}|(?P<bare>[A-Za-z_]\w*))")


@dataclass(frozen=True)
class Instruction:
    keyword: str
    arguments: str
    line: int
    flags: tuple[tuple[str, str], ...] = ()
    heredocs: tuple[str, ...] = ()

    def flag(self, name: str) -> str | None:
        return next((value for key, value in self.flags if key == name), None)

    @property
    def exec_form(self) -> list[str] | None:
        """The JSON array of ``["executable", "arg"]``; None for the shell form (Docker falls back to it too)."""
        if not self.arguments.startswith("["):
            return None
        try:
            value = json.loads(self.arguments)
        except json.JSONDecodeError:
            return None
        if isinstance(value, list) and all(isinstance(item, str) for item in value):
            return value
        return None

    @property
    def text(self) -> str:
        """Arguments and heredoc bodies: what a RUN executes."""
        return "\n".join((self.arguments, *self.heredocs))

    def pairs(self) -> dict[str, str]:
        """``KEY=value`` pairs of ENV, LABEL and ARG (quotes removed); also the legacy ``ENV KEY value``."""
        tokens = shlex.split(self.arguments)
        if self.keyword == "ENV" and tokens and "=" not in tokens[0]:
            return {tokens[0]: " ".join(tokens[1:])}
        return dict(token.partition("=")[::2] for token in tokens)

    def sources(self) -> list[str]:
        """COPY/ADD sources (every argument but the destination)."""
        parts = self.exec_form or shlex.split(self.arguments)
        return parts[:-1]


@dataclass
class Stage:
    index: int
    base: str
    name: str | None
    line: int
    instructions: list[Instruction] = field(default_factory=list)
    parent: Stage | None = None

    def chain(self) -> list[Stage]:
        """This stage and the stages it is built ``FROM``, the root first."""
        return [*(self.parent.chain() if self.parent else []), self]

    def all_instructions(self) -> list[Instruction]:
        return [instruction for stage in self.chain() for instruction in stage.instructions]

    def last(self, keyword: str) -> Instruction | None:
        return next((i for i in reversed(self.all_instructions()) if i.keyword == keyword), None)

    def merged(self, keyword: str) -> dict[str, str]:
        merged: dict[str, str] = {}
        for instruction in self.all_instructions():
            if instruction.keyword == keyword:
                merged |= instruction.pairs()
        return merged


@dataclass
class Dockerfile:
    global_args: dict[str, str]
    stages: list[Stage]
    instructions: list[Instruction]

    def stage(self, name: str) -> Stage:
        return next(stage for stage in self.stages if stage.name == name)


def substitute(text: str, variables: dict[str, str]) -> str:
    def replace(match: re.Match[str]) -> str:
        name = match["braced"] or match["bare"]
        value = variables.get(name, "")
        return value if value or match["default"] is None else match["default"]

    return VARIABLE.sub(replace, text)


def _logical_lines(lines: list[str]) -> Iterator[tuple[int, str, list[str]]]:
    """(line number, instruction text, heredoc bodies), continuation lines joined and comments dropped."""
    index = 0
    while index < len(lines):
        start, raw = index, lines[index]
        index += 1
        if not raw.strip() or raw.lstrip().startswith("#"):
            continue
        parts, current = [], raw.rstrip()
        while current.endswith("\\"):
            parts.append(current[:-1].strip())
            # Docker drops comment and empty lines inside a continuation.
            while index < len(lines) and (not lines[index].strip() or lines[index].lstrip().startswith("#")):
                index += 1
            current = lines[index].rstrip() if index < len(lines) else ""
            index += 1
        parts.append(current.strip())
        logical = " ".join(part for part in parts if part)
        bodies = []
        if logical.split(" ", 1)[0].upper() in {"RUN", "COPY", "ADD"}:
            for match in HEREDOC.finditer(logical):
                strip_tabs, terminator, body = match[1] == "-", match[3], []
                while index < len(lines):
                    line = lines[index]
                    index += 1
                    if (line.lstrip("\t") if strip_tabs else line) == terminator:
                        break
                    body.append(line)
                else:
                    raise ValueError(f"line {start + 1}: heredoc {terminator} is never terminated")
                bodies.append("\n".join(body))
        yield start + 1, logical, bodies


def parse_dockerfile(text: str) -> Dockerfile:
    lines = text.splitlines()
    assert not any(re.match(r"#\s*escape\s*=", line) for line in lines[:5]), "this parser assumes the \\ escape"
    instructions: list[Instruction] = []
    for line, logical, bodies in _logical_lines(lines):
        keyword, _, rest = logical.partition(" ")
        rest, flags = rest.strip(), []
        while rest.startswith("--"):
            token, _, rest = rest.partition(" ")
            name, _, value = token[2:].partition("=")
            flags.append((name, value))
            rest = rest.strip()
        instructions.append(Instruction(keyword.upper(), rest, line, tuple(flags), tuple(bodies)))

    global_args: dict[str, str] = {}
    stages: list[Stage] = []
    for instruction in instructions:
        if instruction.keyword == "FROM":
            words = substitute(instruction.arguments, global_args).split()
            name = words[2].lower() if len(words) == 3 and words[1].upper() == "AS" else None
            parent = next((stage for stage in stages if stage.name == words[0].lower()), None)
            stages.append(Stage(len(stages), words[0], name, instruction.line, parent=parent))
        elif not stages:
            assert instruction.keyword == "ARG", f"line {instruction.line}: only ARG may come before the first FROM"
            global_args |= instruction.pairs()
        else:
            stages[-1].instructions.append(instruction)
    return Dockerfile(global_args, stages, instructions)


@cache
def dockerfile() -> Dockerfile:
    return parse_dockerfile(DOCKERFILE.read_text(encoding="utf-8"))


def context_copies(stage: Stage) -> list[tuple[int, Instruction]]:
    """COPY/ADD from the build context (not ``--from`` another stage), with their position in the stage chain."""
    return [
        (position, instruction)
        for position, instruction in enumerate(stage.all_instructions())
        if instruction.keyword in {"COPY", "ADD"} and instruction.flag("from") is None
    ]


def test_the_parser_reads_continuations_comments_heredocs_flags_and_stages() -> None:
    parsed = parse_dockerfile(
        "# syntax=docker/dockerfile:1.7\n"
        "ARG BASE=python:3.12-slim\n"
        "FROM ${BASE} AS one\n"
        "ENV A=1 \\\n"
        "    # a comment inside the continuation\n"
        '    B="two words"\n'
        "RUN --mount=type=cache,target=/c --mount=type=bind,from=x,target=/y python - <<'EOF'\n"
        "print('RUN inside a heredoc is not an instruction')\n"
        "EOF\n"
        "FROM one AS two\n"
        'CMD ["serve", "--host", "0.0.0.0"]\n'
        "ENTRYPOINT apibase\n"
    )
    one, two = parsed.stages
    assert (one.base, one.name, two.base, two.name, two.parent) == ("python:3.12-slim", "one", "one", "two", one)
    assert two.merged("ENV") == {"A": "1", "B": "two words"}
    (run,) = [i for i in parsed.instructions if i.keyword == "RUN"]
    assert [name for name, _ in run.flags] == ["mount", "mount"]
    assert run.heredocs == ("print('RUN inside a heredoc is not an instruction')",)
    assert two.last("CMD").exec_form == ["serve", "--host", ALL_INTERFACES]  # type: ignore[union-attr]
    assert two.last("ENTRYPOINT").exec_form is None  # type: ignore[union-attr]


# -- stages and base images ------------------------------------------------------------------------------------------
def test_both_targets_exist_and_a_plain_build_gives_a_runtime_image() -> None:
    names = [stage.name for stage in dockerfile().stages]
    assert set(TARGETS) <= set(names), names
    assert names[-1] in TARGETS, "`docker build .` without --target must not produce a builder stage"


def test_every_base_image_is_python_3_12_slim() -> None:
    parsed = dockerfile()
    images = [stage.base for stage in parsed.stages if stage.parent is None]
    assert images, "no external base image"
    for image in images:
        assert PYTHON_BASE.match(image), f"{image!r} is not python:3.12-slim (pinned minor, optionally by digest)"
    requires = PYPROJECT["project"]["requires-python"]
    assert requires == ">=3.12", f"pyproject asks for {requires}: update the base images with it"


def test_the_venvs_are_stripped_on_a_build_base_the_images_do_not_inherit() -> None:
    """binutils (``strip``) only where the venvs are made: the debug symbols go, and the runtime stays without it."""
    parsed = dockerfile()
    assert parsed.global_args["BUILD_IMAGE"] == parsed.global_args["PYTHON_IMAGE"], "the same Python by default"
    build = parsed.stage("build")
    (from_build,) = [i for i in parsed.instructions if i.keyword == "FROM" and i.line == build.line]
    assert from_build.arguments.split()[0] == "${BUILD_IMAGE}"
    installs = " ".join(i.text for i in build.instructions if i.keyword == "RUN")
    assert "command -v strip" in installs, "binutils from apt only where the build image lacks strip"
    assert "apt-get install -y --no-install-recommends binutils" in installs
    for target in TARGETS:
        dependencies = parsed.stage(f"{target}-dependencies")
        assert build in dependencies.chain(), f"{dependencies.name} is not built on the build base"
        runs = " ".join(i.text for i in dependencies.instructions if i.keyword == "RUN")
        assert "-name '*.so*' -exec strip --strip-debug {} +" in runs, f"{target}: the venv keeps its debug symbols"
        assert build not in parsed.stage(target).chain(), f"{target} inherits binutils"


# -- runtime properties of each target -------------------------------------------------------------------------------
@pytest.mark.parametrize("target", TARGETS)
def test_the_target_runs_as_a_numeric_non_root_user_that_exists(target: str) -> None:
    """Numeric, because the kubelet can only enforce ``runAsNonRoot`` for a numeric image user."""
    stage = dockerfile().stage(target)
    user = stage.last("USER")
    assert user is not None, f"{target} runs as root"
    match = re.fullmatch(r"(\d+)(?::(\d+))?", user.arguments)
    assert match, f"{target}: USER {user.arguments} is not numeric (uid or uid:gid)"
    uid, gid = int(match[1]), int(match[2] or match[1])
    assert (uid, gid) == (UID, UID)
    created = " ".join(i.text for i in stage.all_instructions() if i.keyword == "RUN")
    assert f"--uid {uid}" in created, "the user exists in /etc/passwd (tools and libraries look it up)"
    assert f"--gid {gid}" in created
    # The code stays root-owned: the runtime user can read it but not change it.
    chowned = [i.line for i in stage.all_instructions() if i.flag("chown") or "chown" in i.text]
    assert chowned == [], f"lines {chowned} hand files to the runtime user"


def test_there_is_no_healthcheck() -> None:
    """Kubernetes probes /health/live, /health/ready and /health/startup; a HEALTHCHECK would only cost CPU."""
    assert [i.line for i in dockerfile().instructions if i.keyword == "HEALTHCHECK"] == []


@pytest.mark.parametrize("target", TARGETS)
def test_the_target_has_the_oci_labels(target: str) -> None:
    parsed = dockerfile()
    stage = parsed.stage(target)
    labels = stage.merged("LABEL")
    missing = [key for key in REQUIRED_LABELS if key not in labels]
    assert missing == [], f"{target} lacks {missing}"
    assert labels["org.opencontainers.image.title"] == f"apibase-{target}"
    assert labels["org.opencontainers.image.licenses"] == PYPROJECT["project"]["license"]["text"]
    assert labels["org.opencontainers.image.version"] == "${VERSION}"
    version_default = stage.merged("ARG").get("VERSION")
    assert version_default == PYPROJECT["project"]["version"], "the default VERSION follows pyproject.toml"


@pytest.mark.parametrize("target", TARGETS)
def test_the_target_runs_a_console_script_in_exec_form(target: str) -> None:
    """Exec form: the script is PID 1 and gets SIGTERM itself (a shell would swallow it)."""
    stage = dockerfile().stage(target)
    entrypoint, cmd = stage.last("ENTRYPOINT"), stage.last("CMD")
    assert entrypoint is not None
    assert cmd is not None
    assert entrypoint.exec_form is not None, f"line {entrypoint.line}: ENTRYPOINT is in shell form"
    assert cmd.exec_form is not None, f"line {cmd.line}: CMD is in shell form"
    executable = PurePosixPath(entrypoint.exec_form[0]).name
    assert executable in PYPROJECT["project"]["scripts"], f"{executable} is not in [project.scripts]"
    assert [*entrypoint.exec_form, *cmd.exec_form] == COMMANDS[target]


@pytest.mark.parametrize("target", TARGETS)
def test_the_target_stops_on_sigterm(target: str) -> None:
    stop = dockerfile().stage(target).last("STOPSIGNAL")
    assert stop is not None
    assert stop.arguments == "SIGTERM"


@pytest.mark.parametrize("target", TARGETS)
def test_the_target_writes_nothing_outside_tmp(target: str) -> None:
    env = dockerfile().stage(target).merged("ENV")
    assert env.get("PYTHONDONTWRITEBYTECODE") == "1", "no __pycache__ writes on a read-only root"
    assert env.get("HOME", "").startswith(TMP), "anything that writes under ~ lands on the /tmp emptyDir"


def image_command(target: str) -> list[str]:
    """ENTRYPOINT then CMD of ``target`` as the Dockerfile has them (exec form)."""
    stage = dockerfile().stage(target)
    entrypoint, cmd = stage.last("ENTRYPOINT"), stage.last("CMD")
    assert entrypoint is not None
    assert cmd is not None
    assert entrypoint.exec_form is not None
    assert cmd.exec_form is not None
    return [*entrypoint.exec_form, *cmd.exec_form]


def _console_script(name: str, argv: list[str], monkeypatch: pytest.MonkeyPatch) -> int:
    """Run the ``[project.scripts]`` entry point ``name`` as its executable would; return the exit status."""
    module_name, _, attribute = PYPROJECT["project"]["scripts"][name].partition(":")
    function = getattr(importlib.import_module(module_name), attribute)
    monkeypatch.setattr(sys, "argv", [name, *argv])
    try:
        function()
    except SystemExit as exit_:
        return exit_.code if isinstance(exit_.code, int) else int(exit_.code is not None)
    return 0


def _image_environment(target: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Only the image's APIBASE_* variables, and no stray .env file in the working directory."""
    for name in list(os.environ):
        if name.startswith("APIBASE_"):
            monkeypatch.delenv(name)
    for name, value in dockerfile().stage(target).merged("ENV").items():
        if name.startswith("APIBASE_"):
            monkeypatch.setenv(name, value)
    monkeypatch.chdir(tmp_path)


def test_the_service_command_serves_on_all_interfaces_and_writes_only_to_tmp(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The image's command line and environment, through the real console script (uvicorn itself faked).

    Every path the service writes to (the SQLite file, uploaded files) is on /tmp: the root is read-only.
    """
    _image_environment("service", monkeypatch, tmp_path)
    calls: list[uvicorn_server.ServeConfig] = []
    monkeypatch.setattr(uvicorn_server, "run_server", calls.append)
    script, *argv = image_command("service")

    assert _console_script(PurePosixPath(script).name, argv, monkeypatch) == 0
    (config,) = calls
    assert (config.host, config.port, config.factory) == (ALL_INTERFACES, 8000, True)
    settings = load_settings()
    database = settings.database_url.partition(":///")[2]
    assert settings.database_url.startswith("sqlite+aiosqlite:///")
    assert PurePosixPath(database).is_absolute()
    assert PurePosixPath(database).is_relative_to(TMP), f"{settings.database_url} is outside /tmp"
    assert settings.uploads_dir.is_absolute()
    assert settings.uploads_dir.is_relative_to(TMP), f"uploads go to {settings.uploads_dir}, outside /tmp"


def test_the_operator_command_is_a_valid_operator_command_line(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """``--help`` after the image's arguments: exit 0 only if the subcommand and every option exist."""
    _image_environment("operator", monkeypatch, tmp_path)
    script, *argv = image_command("operator")
    assert _console_script(PurePosixPath(script).name, [*argv, "--help"], monkeypatch) == 0


# -- layer order and what goes into the build context ----------------------------------------------------------------
def test_dependencies_are_built_before_the_source_is_copied() -> None:
    """A source change must not rebuild the dependency layers: only pyproject.toml comes before them."""
    parsed = dockerfile()
    builders = [  # the stages that themselves copy the source in
        stage
        for stage in parsed.stages
        for instruction in stage.instructions
        if instruction.keyword in {"COPY", "ADD"}
        and instruction.flag("from") is None
        and set(instruction.sources()) & SOURCE_PATHS
    ]
    assert builders, "no stage copies the source"
    for builder in builders:
        instructions = builder.all_instructions()
        dependency_runs = [
            position
            for position, instruction in enumerate(instructions)
            if instruction.keyword == "RUN" and "pip wheel" in instruction.text and "--requirement" in instruction.text
        ]
        assert dependency_runs, f"{builder.name} builds no dependency wheels from the requirements"
        first_dependencies = dependency_runs[0]
        first_source = min(position for position, copy in context_copies(builder) if set(copy.sources()) & SOURCE_PATHS)
        assert first_dependencies < first_source
        before = [copy.sources() for position, copy in context_copies(builder) if position < first_dependencies]
        assert before == [["pyproject.toml"]], f"only pyproject.toml may come before the dependencies: {before}"

    for target in TARGETS:
        stage = parsed.stage(target)
        assert context_copies(stage) == [], f"{target} takes the source only as the builder's wheel"
        dependencies = parsed.stage(f"{target}-dependencies")
        assert any(f"/requirements/{target}.txt" in i.text for i in dependencies.instructions if i.keyword == "RUN")
        copies = [i.flag("from") for i in stage.instructions if i.keyword == "COPY"]
        assert copies == [dependencies.name, "builder"], f"{target}: the dependency layer comes before the project's"
        runs = [i.text for i in stage.instructions if i.keyword == "RUN"]
        assert any("--no-deps" in text and "/dist/" in text for text in runs), f"{target} installs no project wheel"


def test_debian_buildah_can_build_it() -> None:
    """scripts/build-images.sh builds with Debian's buildah 1.28: it has no heredocs, and a ``RUN --mount`` of a
    stage it took from its layer cache finds nothing there (so the second target would miss the wheels)."""
    parsed = dockerfile()
    heredocs = [i.line for i in parsed.instructions if i.heredocs]
    assert heredocs == [], f"lines {heredocs} use heredocs"
    stage_mounts = [
        i.line for i in parsed.instructions for name, value in i.flags if name == "mount" and "from=" in value
    ]
    assert stage_mounts == [], f"lines {stage_mounts} bind-mount another stage: COPY --from it instead"


def test_nothing_secret_is_copied_or_baked_into_a_layer() -> None:
    parsed = dockerfile()
    assert [i.line for i in parsed.instructions if i.keyword == "ADD"] == [], "COPY, not ADD (no URLs, no tars)"
    for stage in parsed.stages:
        for _, copy in context_copies(stage):
            for source in copy.sources():
                name = PurePosixPath(source).name
                assert not any(fnmatch.fnmatch(name, glob) for glob in SECRET_GLOBS), f"line {copy.line}: {source}"
    names = [name for i in parsed.instructions if i.keyword in {"ARG", "ENV"} for name in i.pairs()]
    assert [name for name in names if SECRET_NAME.search(name)] == [], "build args and ENV end up in the image"


# -- .dockerignore ---------------------------------------------------------------------------------------------------
def _pattern_regex(pattern: str) -> re.Pattern[str]:
    """A .dockerignore pattern as Docker's patternmatcher compiles it (``**`` spans directories, ``*`` does not)."""
    regex, index = "", 0
    while index < len(pattern):
        char = pattern[index]
        if pattern.startswith("**", index):
            index += 2
            if pattern.startswith("/", index):
                index += 1
            regex += ".*" if index >= len(pattern) else "(.*/)?"
            continue
        if char == "*":
            regex += "[^/]*"
        elif char == "?":
            regex += "[^/]"
        elif char == "[":
            end = pattern.index("]", index)
            regex += pattern[index : end + 1]
            index = end
        else:
            regex += re.escape(char)
        index += 1
    return re.compile(f"^{regex}$")


@cache
def _ignore_rules() -> tuple[tuple[bool, re.Pattern[str]], ...]:
    rules = []
    for raw in DOCKERIGNORE.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        include = line.startswith("!")
        pattern = os.path.normpath(line.removeprefix("!").strip()).lstrip("/")
        rules.append((include, _pattern_regex(pattern)))
    return tuple(rules)


def excluded(path: str) -> bool:
    """Whether Docker leaves ``path`` out of the context: the last rule matching it or a parent directory wins."""
    parts = PurePosixPath(path).parts
    candidates = ["/".join(parts[: length + 1]) for length in range(len(parts))]
    result = False
    for include, regex in _ignore_rules():
        if any(regex.match(candidate) for candidate in candidates):
            result = not include
    return result


@pytest.mark.parametrize(
    "path",
    [
        ".env",
        ".env.production",
        "app/.env",
        "operator/apibase_operator/prod.env",
        "server.pem",
        "app/certs/tls.key",
        "operator/apibase_operator/ca.pem",
        "id_rsa",
        ".ssh/id_rsa",
        "app/id_rsa.pub",
        ".vault-token",
        "secrets/db-password.txt",
        "app/secrets",
        "kubeconfig",
        "terraform/examples/complete/terraform.tfstate",
        ".venv/bin/python",
        ".git/HEAD",
        "tests/unit/test_main.py",
        "apibase.db",
        "app/apibase.db",
        "app/__pycache__/main.cpython-312.pyc",
        "operator/apibase_operator/__pycache__/cli.cpython-312.pyc",
        ".mypy_cache/3.12/app/main.meta.json",
        ".coverage",
        "docs/deploy.md",
        "charts/apibase-operator/values.yaml",
        "somefile-added-later.txt",
    ],
)
def test_dockerignore_excludes_secrets_caches_and_local_state(path: str) -> None:
    assert excluded(path), f".dockerignore lets {path} into the build context"


def _project_files() -> list[str]:
    files = [ROOT / "pyproject.toml", ROOT / "README.md"]
    for tree in ("app", "operator"):
        files += [
            path
            for path in (ROOT / tree).rglob("*")
            if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc"
        ]
    return [path.relative_to(ROOT).as_posix() for path in files]


def test_dockerignore_keeps_everything_the_image_needs() -> None:
    """Every file the wheel is built from (including the CRD YAML and the migration template), and every COPY."""
    kept = _project_files()
    assert "operator/apibase_operator/crd/apibase.dev_apibases.yaml" in kept
    assert "app/apibase/infrastructure/persistence/migrations/script.py.mako" in kept
    assert [path for path in kept if excluded(path)] == []
    copied = [source for stage in dockerfile().stages for _, copy in context_copies(stage) for source in copy.sources()]
    assert copied
    assert [source for source in copied if excluded(source)] == []
