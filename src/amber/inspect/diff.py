"""The difference between two locks: what was added, removed, updated or rebuilt.

Two packages are the same when their locked files are (version, build, file name and
sha256: what ``full_id`` hashes), so two locks with no changes have the same ``full_id``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from rich.console import Console
from rich.table import Table
from rich.text import Text

from amber.lock import Lock, LockedConda, LockedPypi, PlatformLock

__all__ = ["Change", "diff_locks", "render_changes", "print_changes", "changes_to_json", "summary"]

Kind = Literal["conda", "pypi", "python"]
Action = Literal["added", "removed", "updated", "rebuilt"]
_NO_CHANGES = "No changes."
_ACTIONS: tuple[Action, ...] = ("updated", "rebuilt", "added", "removed")
_STYLES = {"added": "green", "removed": "red", "updated": "yellow", "rebuilt": "cyan"}


@dataclass(frozen=True)
class Change:
    """One package that differs between two locks on one platform.

    ``old``/``new`` are versions (``None``: absent), with the build or file in
    parentheses when only that differs: ``"1.2 (py36_0)"`` -> ``"1.2 (py36_1)"``.
    ``kind`` is ``"python"`` for the interpreter of a PyPI-only env.
    """

    platform: str
    kind: Kind
    name: str
    old: str | None
    new: str | None

    @property
    def action(self) -> Action:
        if self.old is None:
            return "added"
        if self.new is None:
            return "removed"
        if _version_part(self.old) == _version_part(self.new):
            return "rebuilt"
        return "updated"

    def __str__(self) -> str:
        return f"{self.platform} {self.kind} {self.name}: {_arrow(self.old, self.new, '->')}"


def _version_part(text: str) -> str:
    return text.split(" (", 1)[0]


def diff_locks(a: Lock, b: Lock) -> list[Change]:
    """What changes from ``a`` to ``b``, sorted by (platform, kind, name); unchanged omitted."""
    changes: list[Change] = []
    empty = PlatformLock(platform="")
    for platform in sorted(set(a.platforms) | set(b.platforms)):
        old = a.platforms.get(platform, empty)
        new = b.platforms.get(platform, empty)
        changes += _diff_kind(platform, "conda", _by_name(old.conda), _by_name(new.conda))
        changes += _diff_kind(platform, "pypi", _by_name(old.pypi), _by_name(new.pypi))
        old_python = None if old.conda else old.python
        new_python = None if new.conda else new.python
        if old_python != new_python:
            # A PyPI-only env runs on an installed interpreter; its version is part of full_id.
            changes.append(Change(platform, "python", "python", old_python, new_python))
    return sorted(changes, key=lambda c: (c.platform, c.kind, c.name))


def _by_name(packages: Iterable[LockedConda | LockedPypi]) -> dict[str, LockedConda | LockedPypi]:
    return {p.name: p for p in packages}


def _identity(p: LockedConda | LockedPypi) -> tuple[str, ...]:
    build = p.build if isinstance(p, LockedConda) else ""
    return (p.version, build, p.file_name, p.sha256)


def _diff_kind(
    platform: str,
    kind: Kind,
    old: Mapping[str, LockedConda | LockedPypi],
    new: Mapping[str, LockedConda | LockedPypi],
) -> list[Change]:
    out = []
    for name in sorted(set(old) | set(new)):
        a, b = old.get(name), new.get(name)
        if a is not None and b is not None:
            if _identity(a) == _identity(b):
                continue
            if a.version == b.version:
                detail_a, detail_b = _details(a, b)
                out.append(
                    Change(
                        platform,
                        kind,
                        name,
                        f"{a.version} ({detail_a})",
                        f"{b.version} ({detail_b})",
                    )
                )
                continue
        out.append(Change(platform, kind, name, a.version if a else None, b.version if b else None))
    return out


def _details(a: LockedConda | LockedPypi, b: LockedConda | LockedPypi) -> tuple[str, str]:
    """What tells two files of the same version apart: the build, else the file, else the hash."""
    if isinstance(a, LockedConda) and isinstance(b, LockedConda) and a.build != b.build:
        return a.build, b.build
    if a.file_name != b.file_name:
        return a.file_name, b.file_name
    return f"sha256:{a.sha256[:12]}", f"sha256:{b.sha256[:12]}"


# -- output ----------------------------------------------------------------------


def changes_to_json(changes: Sequence[Change]) -> list[dict[str, Any]]:
    """One JSON-ready dict per change, with its ``action``."""
    return [
        {
            "platform": c.platform,
            "kind": c.kind,
            "name": c.name,
            "old": c.old,
            "new": c.new,
            "action": c.action,
        }
        for c in changes
    ]


def summary(changes: Sequence[Change]) -> str:
    """One line: ``"3 changes: 2 updated, 1 added"``, or ``"No changes."``."""
    if not changes:
        return _NO_CHANGES
    counts = {action: sum(c.action == action for c in changes) for action in _ACTIONS}
    parts = ", ".join(f"{n} {action}" for action, n in counts.items() if n)
    return f"{len(changes)} change{'s' if len(changes) != 1 else ''}: {parts}"


def _arrow(old: str | None, new: str | None, arrow: str) -> str:
    return f"{old or '-'} {arrow} {new or '-'}"


def _rows(changes: Sequence[Change], arrow: str) -> list[tuple[str, str, str, str, str]]:
    return [(c.name, c.kind, c.platform, _arrow(c.old, c.new, arrow), c.action) for c in changes]


_HEADERS = ("PACKAGE", "KIND", "PLATFORM", "CHANGE", "ACTION")


def render_changes(changes: Sequence[Change], *, title: str | None = None) -> str:
    """A plain-text table (for logs and pipes), or ``"No changes."``; no trailing newline."""
    lines = [title] if title else []
    if not changes:
        return "\n".join([*lines, _NO_CHANGES])
    rows = [_HEADERS, *_rows(changes, "->")]
    widths = [max(len(row[i]) for row in rows) for i in range(len(_HEADERS))]
    for row in rows:
        lines.append("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
    lines.append(summary(changes))
    return "\n".join(lines)


def print_changes(
    changes: Sequence[Change], console: Any = None, *, title: str | None = None
) -> None:
    """Print ``changes``: a coloured table on a terminal, ``render_changes`` text otherwise."""

    console = console or Console()
    if not console.is_terminal:
        console.file.write(render_changes(changes, title=title) + "\n")
        return
    if title:
        console.print(title, markup=False, highlight=False)
    if not changes:
        console.print(_NO_CHANGES, highlight=False)
        return

    table = Table(box=None, pad_edge=False)
    for header in _HEADERS:
        table.add_column(header)
    for *cells, action in _rows(changes, "→"):
        table.add_row(*(Text(c) for c in cells), Text(action, style=_STYLES[action]))
    console.print(table)
    console.print(summary(changes), highlight=False)
