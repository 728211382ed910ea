"""``apibase new module``: scaffold a module of the user's service, then say the lines that switch it on.

The command writes files only: adding the module to the service's ``modules()`` and granting its permissions to
roles stay the user's edits (printed here), so nothing the user wrote is ever rewritten.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from apibase.interface.cli.scaffold import InvalidName, ModuleNames, ScaffoldRefused, render
from apibase.interface.cli.scaffold.tidy import tidy

__all__ = ["USAGE_EXIT_CODE", "new_cli", "next_steps"]

#: The same status as a bad option: the names or the place are wrong, nothing was written.
USAGE_EXIT_CODE = 2

new_cli = typer.Typer(name="new", help="Generate code for a service built on API Base.", no_args_is_help=True)


@new_cli.command("module")
def module_command(
    name: Annotated[str, typer.Argument(help="The module's name, a lower-case identifier (e.g. inventory).")],
    package: Annotated[str, typer.Option("--package", "-p", help="The service's package under app/ (e.g. shop).")],
    resource: Annotated[
        str | None, typer.Option("--resource", "-r", help="A CRUD resource, singular (e.g. warehouse).")
    ] = None,
    plural: Annotated[
        str | None, typer.Option("--plural", help="The resource's plural, when adding -s/-es/-ies is wrong.")
    ] = None,
    root: Annotated[
        Path, typer.Option("--root", help="The project root (holding app/ and tests/).", file_okay=False)
    ] = Path(),
) -> None:
    """Write app/<package>/<name>/ (domain, application, infrastructure, interface, module.py) and its tests."""
    try:
        names = ModuleNames.parse(package, name, resource, plural)
        written = render(names, today=datetime.now(UTC).date()).write(root)
    except (InvalidName, ScaffoldRefused) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(code=USAGE_EXIT_CODE) from None
    for path in sorted(written):
        typer.echo(f"created {path.as_posix()}")
    typer.echo("")
    typer.echo(next_steps(names))


def next_steps(names: ModuleNames) -> str:
    """The lines the user adds: the module to the service's ``modules()``, its permissions to the role policy."""
    dotted = f"{names.package}.{names.module}"
    values = names.substitutions()
    module_class = f"{values['Module']}Module"
    steps = [
        f"Add the module to your service definition's modules() (app/{names.package}/main.py):",
        f"    from {dotted}.module import {module_class}",
        f"    {module_class}(),",
    ]
    if names.plural is not None:
        module_grants, read_grant = f"{values['MODULE']}_PERMISSIONS", f"{values['PLURAL']}_READ"
        steps += [
            f"admin holds {names.plural}:read and {names.plural}:write; to grant them to other roles, in your role"
            f" policy (app/{names.package}/access.py):",
            f"    {tidy(f'from {dotted}.domain.permissions import {module_grants}, {read_grant}')}",
            f'    "editor": [..., *{module_grants}], "viewer": [..., {read_grant}]',
        ]
    steps += [
        "Have lint-imports check its layers: in pyproject.toml, the layers contract's containers:",
        f'    "{dotted}",',
        "Then migrate (apibase db upgrade) and run its tests:",
        f"    pytest tests/unit/{names.package}/{names.module}",
    ]
    return "\n".join(steps)
