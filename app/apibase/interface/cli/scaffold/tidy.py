"""Rendered templates in ruff's order and shape, whatever the names: imports and ``__all__`` sorted, long lines split.

A template cannot know whether the user's package sorts before ``apibase``, whether the module's constants sort
before the resource's, or whether a class header with five names fits in 120 columns: that depends on the names.
So the templates are written one statement a line, and this applies ruff's rules to them: isort's for runs of
single-line ``from x import a, b``, RUF022's for a single-line ``__all__ = [...]``, and ruff format's right-hand
split for a line that is too long (at its last bracket; arguments that still do not fit, and the items of a
literal, go one a line with a trailing comma). The scaffold's tests run ruff on the output for short and long names.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from typing import Final

__all__ = ["LINE_LENGTH", "tidy"]

LINE_LENGTH: Final = 120
_INDENT: Final = "    "
_FROM_IMPORT = re.compile(r"from (?P<module>[\w.]+) import (?P<names>\w+(?:, \w+)*)")
_DUNDER_ALL = re.compile(r"(?P<indent>\s*)__all__ = \[(?P<names>\"\w+\"(?:, \"\w+\")*)\]")
_DIGITS = re.compile(r"(\d+)")
_PAIRS: Final = {")": "(", "]": "[", "}": "{"}

type _Key = tuple[int, tuple[tuple[int, int | str], ...]]


def _natural(text: str) -> tuple[tuple[int, int | str], ...]:
    """``b2`` before ``b10``, as ruff's natural ordering has it."""
    return tuple((1, int(part)) if part.isdigit() else (0, part) for part in _DIGITS.split(text) if part)


def _kind(name: str) -> int:
    """Constants, then classes, then everything else."""
    if len(name) > 1 and name.isupper():
        return 0
    return 1 if name[0].isupper() else 2


def _member(name: str) -> _Key:
    """isort compares imported names ignoring case."""
    return _kind(name), _natural(name.lower())


def _exported(quoted: str) -> _Key:
    """RUF022 compares ``__all__`` entries case-sensitively."""
    name = quoted.strip('"')
    return _kind(name), _natural(name)


def _sorted(names: str, key: Callable[[str], _Key]) -> str:
    return ", ".join(sorted(names.split(", "), key=key))


def _imports(run: Sequence[re.Match[str]]) -> Iterator[str]:
    for found in sorted(run, key=lambda match: _natural(match["module"].lower())):
        names = _sorted(found["names"], _member).split(", ")
        line = f"from {found['module']} import {', '.join(names)}"
        if len(line) <= LINE_LENGTH:
            yield line
        else:
            yield from (f"from {found['module']} import (", *(f"{_INDENT}{name}," for name in names), ")")


def _brackets(line: str) -> Iterator[tuple[int, str]]:
    """The positions and characters of the brackets and top-level commas outside string literals."""
    quote = ""
    for position, char in enumerate(line):
        if quote:
            quote = "" if char == quote else quote
        elif char in "\"'":
            quote = char
        elif char in "()[]{},":
            yield position, char


def _split_pair(line: str) -> tuple[int, int] | None:
    """Where ruff splits ``line``: a function's parameters, else the last closing bracket and its opening one."""
    depth: list[int] = []
    last: tuple[int, int] | None = None
    definition = line.lstrip().startswith(("def ", "async def "))
    for position, char in _brackets(line):
        if char in "([{":
            depth.append(position)
        elif char in _PAIRS and depth:
            last = (depth.pop(), position)
            if definition and not depth:
                return last
    return last


def _top_level_items(body: str) -> list[str]:
    """``body`` split at its commas outside brackets (one item when it has none)."""
    items: list[str] = []
    depth, start = 0, 0
    for position, char in _brackets(body):
        if char in "([{":
            depth += 1
        elif char in _PAIRS:
            depth -= 1
        elif depth == 0:
            items.append(body[start:position].strip())
            start = position + 1
    items.append(body[start:].strip())
    return [item for item in items if item]


def _split(line: str) -> list[str]:
    """ruff format's right-hand split of one over-long line (lines that fit come back as they are)."""
    pair = _split_pair(line)
    if len(line) <= LINE_LENGTH or pair is None or pair[1] == pair[0] + 1:
        return [line]
    opening, closing = pair
    indent = line[: len(line) - len(line.lstrip())]
    inner = indent + _INDENT
    items = _top_level_items(line[opening + 1 : closing])
    # Arguments, a subscript or several parameters stay on one line if they fit; a literal's items never do, and a
    # lone parameter gets a trailing comma, which keeps it on a line of its own.
    literal = opening == 0 or not (line[opening - 1].isalnum() or line[opening - 1] in "_)]")
    if len(items) == 1 and line.lstrip().startswith(("def ", "async def ")):
        body = [f"{inner}{items[0]},"]
    elif len(items) == 1:
        body = _split(inner + items[0])
    elif not literal and len(one := inner + ", ".join(items)) <= LINE_LENGTH:
        body = [one]
    else:
        body = [part for item in items for part in _split(f"{inner}{item},")]
    return [line[: opening + 1], *body, indent + line[closing:]]


def _line(line: str) -> list[str]:
    found = _DUNDER_ALL.fullmatch(line)
    if found is not None:
        line = f"{found['indent']}__all__ = [{_sorted(found['names'], _exported)}]"
    return _split(line)


def tidy(source: str) -> str:
    """``source`` with its ``from`` imports and ``__all__`` in ruff's order and its lines within the line length."""
    out: list[str] = []
    run: list[re.Match[str]] = []
    for line in source.split("\n"):
        if (found := _FROM_IMPORT.fullmatch(line)) is not None:
            run.append(found)
            continue
        out.extend(_imports(run))
        run.clear()
        out.extend(_line(line))
    out.extend(_imports(run))
    return "\n".join(out)
