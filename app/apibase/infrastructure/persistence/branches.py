"""Migration branches: the kernel's and one per module, each an Alembic history of its own with its own version table.

A branch's own version table (``alembic_version_<name>``) is what lets a module be removed without stranding the
database: the other branches never meet a revision they cannot locate, and the removed module's tables and
history stay untouched until it comes back.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

__all__ = ["KERNEL_BRANCH", "Migrations", "in_order"]

#: The kernel's branch: its version table is Alembic's default ``alembic_version``, and it always runs first.
KERNEL_BRANCH: Final = "apibase"


@dataclass(frozen=True, slots=True)
class Migrations:
    """A module's own Alembic branch: its revisions, its tables, and its own version table."""

    name: str
    #: The folder of the branch's revision files (``<name>_0001_<slug>.py``, ...).
    versions: Path
    #: The tables this branch owns: autogenerate compares only these, so a module never proposes to drop another's.
    tables: frozenset[str]
    #: Branches that must be at head before this one runs (e.g. a foreign key to another module's table).
    after: tuple[str, ...] = ()
    #: Revision of the old single linear history (``"0001"``..) → this branch's revision with the same schema; a
    #: revision not listed is one at which the branch had nothing yet. Used once, to adopt such a database.
    legacy: Mapping[str, str] = field(default_factory=dict, hash=False)

    @property
    def version_table(self) -> str:
        return "alembic_version" if self.name == KERNEL_BRANCH else f"alembic_version_{self.name}"

    def include_object(self, item: object, name: str | None, type_: str, reflected: bool, compare_to: object) -> bool:
        """Only this branch's tables: another module's tables (and tables no model knows) are never compared."""
        return type_ != "table" or name in self.tables


def in_order(kernel: Migrations, branches: Iterable[Migrations]) -> list[Migrations]:
    """The kernel first, then ``branches`` in their order, except that a branch waits for the ones in its ``after``.

    ``branches`` may repeat the kernel's name to replace it (tests run a copy). A branch naming one that is not
    there, two branches sharing a name, or a cycle is an error: no order would be right.
    """
    given = list(branches)
    kernel = next((branch for branch in given if branch.name == KERNEL_BRANCH), kernel)
    pending = [branch for branch in given if branch.name != KERNEL_BRANCH]
    names = [branch.name for branch in pending]
    if duplicates := sorted({name for name in names if names.count(name) > 1}):
        raise ValueError(f"two migration branches share the name(s) {', '.join(duplicates)}")
    for branch in pending:
        if missing := sorted(set(branch.after) - {KERNEL_BRANCH, *names}):
            raise ValueError(f"migration branch {branch.name!r} runs after {', '.join(missing)}, which is not there")
    ordered = [kernel]
    while pending:
        done = {branch.name for branch in ordered}
        ready = next((branch for branch in pending if set(branch.after) <= done), None)
        if ready is None:
            raise ValueError(f"migration branches wait for each other: {', '.join(b.name for b in pending)}")
        ordered.append(ready)
        pending.remove(ready)
    return ordered
