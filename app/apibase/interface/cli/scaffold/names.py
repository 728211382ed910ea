"""The names a scaffolded module is made of, checked before anything is written.

Every name becomes a Python identifier, a table, an Alembic version table and a permission, so each must be a
lower-case identifier (``stock_item``), not a keyword, short enough for PostgreSQL's 63-character identifiers once
prefixed (``alembic_version_<module>``, ``ix_<plural>_tenant_id``), and not one the kernel already owns.
"""

from __future__ import annotations

import keyword
import re
from dataclasses import dataclass
from typing import Final

__all__ = ["MAX_NAME_LENGTH", "RESERVED_MODULES", "InvalidName", "ModuleNames", "plural_of"]

#: Long enough for any real name, short enough that every line of the templates fits the 120-column limit.
MAX_NAME_LENGTH: Final = 30
_IDENTIFIER = re.compile(r"[a-z][a-z0-9]*(?:_[a-z0-9]+)*")
#: The kernel's modules and its migration branch: a second module by these names could not be composed.
RESERVED_MODULES: Final = frozenset({"apibase", "identity", "audit", "idempotency"})
#: The domain's other file: a resource by this name would overwrite it.
_TAKEN_RESOURCES: Final = frozenset({"permissions"})


class InvalidName(ValueError):  # noqa: N818 - reads as the verdict it reports
    """A name the scaffold refuses, with the reason in the message."""


def _identifier(kind: str, value: str) -> str:
    if not _IDENTIFIER.fullmatch(value):
        raise InvalidName(f"{kind} {value!r}: use lower-case letters, digits and single underscores, e.g. stock_item")
    if len(value) > MAX_NAME_LENGTH:
        raise InvalidName(f"{kind} {value!r}: at most {MAX_NAME_LENGTH} characters")
    if keyword.iskeyword(value) or keyword.issoftkeyword(value):
        raise InvalidName(f"{kind} {value!r} is a Python keyword")
    return value


def plural_of(singular: str) -> str:
    """English's regular plurals (``box`` → ``boxes``, ``category`` → ``categories``); pass others explicitly."""
    if singular.endswith(("s", "x", "z", "ch", "sh")):
        return f"{singular}es"
    if singular.endswith("y") and singular[-2:-1] not in {"a", "e", "i", "o", "u"}:
        return f"{singular[:-1]}ies"
    return f"{singular}s"


def _camel(name: str) -> str:
    return "".join(part.capitalize() for part in name.split("_"))


@dataclass(frozen=True)
class ModuleNames:
    """``package.module``, and the CRUD resource (singular and plural) when there is one."""

    package: str
    module: str
    resource: str | None = None
    plural: str | None = None

    @classmethod
    def parse(cls, package: str, module: str, resource: str | None = None, plural: str | None = None) -> ModuleNames:
        _identifier("package", package)
        if _identifier("module", module) in RESERVED_MODULES:
            raise InvalidName(f"module {module!r} is the kernel's; choose another name")
        if resource is None:
            if plural is not None:
                raise InvalidName("--plural needs --resource")
            return cls(package, module)
        if _identifier("resource", resource) in _TAKEN_RESOURCES:
            raise InvalidName(f"resource {resource!r} would overwrite the module's domain/{resource}.py")
        plural = _identifier("plural", plural or plural_of(resource))
        if plural == resource:
            raise InvalidName(f"resource {resource!r}: the plural must differ from the singular (pass --plural)")
        return cls(package, module, resource, plural)

    def substitutions(self) -> dict[str, str]:
        """What the templates' ``$placeholders`` stand for."""
        values = {"package": self.package, "module": self.module, "Module": _camel(self.module)}
        values["MODULE"] = self.module.upper()
        if self.resource is not None and self.plural is not None:
            values |= {"resource": self.resource, "Resource": _camel(self.resource), "RESOURCE": self.resource.upper()}
            values |= {"plural": self.plural, "Plural": _camel(self.plural), "PLURAL": self.plural.upper()}
        return values
