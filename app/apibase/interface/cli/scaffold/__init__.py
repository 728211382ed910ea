"""``apibase new module``: a module generated from the templates next to this file, ready to build on.

The templates are data (``string.Template`` with ``$name`` placeholders, in paths too): ``module/`` is every module's
package skeleton, ``resource/`` adds a CRUD resource through every layer (with its first migration and its tests),
``bare/`` is the module file of a module without one. ``app/`` goes to ``<root>/app/<package>/<module>/``,
``tests/`` to ``<root>/tests/unit/<package>/<module>/``. Nothing is written unless every file is new.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from string import Template
from typing import Final

from apibase.interface.cli.scaffold.names import InvalidName, ModuleNames
from apibase.interface.cli.scaffold.tidy import tidy

__all__ = ["TEMPLATES", "InvalidName", "ModuleNames", "Scaffold", "ScaffoldRefused", "render"]

TEMPLATES: Final = Path(__file__).resolve().parent / "templates"
_SUFFIX: Final = ".tmpl"


class ScaffoldRefused(Exception):  # noqa: N818 - reads as the verdict it reports
    """The scaffold would overwrite something, or has nowhere to go."""


@dataclass(frozen=True)
class Scaffold:
    """The files of one module, by path relative to the project root."""

    names: ModuleNames
    files: Mapping[Path, str]

    def write(self, root: Path) -> list[Path]:
        """Write every file under ``root``, refusing (before writing any) if the package is missing or one exists."""
        package = root / "app" / self.names.package
        if not (package / "__init__.py").is_file():
            raise ScaffoldRefused(f"{package} is not a package: create it, or pass the package your service lives in")
        if (package / self.names.module).exists():
            raise ScaffoldRefused(f"{package / self.names.module} exists: the scaffold never overwrites")
        taken = [path for path in self.files if (root / path).exists()]
        if taken:
            raise ScaffoldRefused(f"{', '.join(map(str, taken))} exist: the scaffold never overwrites")
        for path, text in self.files.items():
            (root / path).parent.mkdir(parents=True, exist_ok=True)
            (root / path).write_text(text, encoding="utf-8")
        return list(self.files)


def render(names: ModuleNames, *, today: date) -> Scaffold:
    """Every file of the module and its tests, rendered and tidied, nothing written yet."""
    values = {**names.substitutions(), "date": today.isoformat()}
    targets = {
        "app": Path("app", names.package, names.module),
        "tests": Path("tests", "unit", names.package, names.module),
    }
    sets = ("module", "resource" if names.resource is not None else "bare")
    files: dict[Path, str] = {}
    for template_set in sets:
        for template in sorted((TEMPLATES / template_set).rglob(f"*{_SUFFIX}")):
            part, *rest = template.relative_to(TEMPLATES / template_set).parts
            relative = Template(str(Path(*rest)).removesuffix(_SUFFIX)).substitute(values)
            files[targets[part] / relative] = tidy(Template(template.read_text(encoding="utf-8")).substitute(values))
    return Scaffold(names, files)
