"""The difference between two locks: what was added, removed, updated or rebuilt.

Two packages are the same when their locked files are (version, build, file name and
sha256: what ``full_id`` hashes), so two locks with no changes have the same ``full_id``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from amber.inspect.tree import graph
from amber.lock import Lock, LockedConda, LockedPypi, PlatformLock

__all__ = ["Change", "diff_locks", "Row", "change_type", "markdown_rows", "requested_keys"]

Kind = Literal["conda", "pypi", "python"]
Action = Literal["added", "removed", "updated", "rebuilt"]
ACTIONS: tuple[Action, ...] = ("updated", "rebuilt", "added", "removed")


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

    def arrow(self, symbol: str = "->") -> str:
        """``"old -> new"``, ``-`` for an absent side."""
        return f"{self.old or '-'} {symbol} {self.new or '-'}"

    def __str__(self) -> str:
        return f"{self.platform} {self.kind} {self.name}: {self.arrow()}"


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
    build = p.build if isinstance(p, LockedConda) else (p.commit or "")
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
    if isinstance(a, LockedPypi) and isinstance(b, LockedPypi) and a.commit != b.commit:
        return f"git {(a.commit or a.file_name)[:12]}", f"git {(b.commit or b.file_name)[:12]}"
    if a.file_name != b.file_name:
        return a.file_name, b.file_name
    return f"sha256:{a.sha256[:12]}", f"sha256:{b.sha256[:12]}"


# -- a table for a pull request ---------------------------------------------------------

ChangeType = Literal[
    "Added", "Removed", "Major Upgrade", "Major Downgrade", "Minor Upgrade",
    "Minor Downgrade", "Patch Upgrade", "Patch Downgrade", "Only build string", "Other",
]  # fmt: skip
_TYPE_ORDER: tuple[ChangeType, ...] = ChangeType.__args__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Row:
    """One row of ``amber diff --format markdown``: a change, on every platform it is the
    same on (``platforms`` empty: all of the two locks' platforms)."""

    name: str
    kind: Kind
    before: str
    after: str
    change: ChangeType
    requested: bool
    platforms: tuple[str, ...]


def change_type(c: Change) -> ChangeType:
    """pixi-diff-to-markdown's words: added, removed, a major/minor/patch up- or downgrade
    (by the first three numbers of the version), only the build string, or other."""
    if c.old is None:
        return "Added"
    if c.new is None:
        return "Removed"
    old, new = _version_part(c.old), _version_part(c.new)
    if old == new:
        return "Only build string" if c.kind == "conda" and not _is_file(c.old) else "Other"
    a, b = _release(old), _release(new)
    if a is None or b is None:
        return "Other"
    for i, level in enumerate(("Major", "Minor", "Patch")):
        x, y = (a + (0, 0, 0))[i], (b + (0, 0, 0))[i]
        if x != y:
            return f"{level} {'Upgrade' if y > x else 'Downgrade'}"  # type: ignore[return-value]
    return "Other"


def _is_file(text: str) -> bool:
    detail = text.partition(" (")[2]
    return detail.endswith((".conda)", ".tar.bz2)", ".whl)")) or detail.startswith("sha256:")


def _release(version: str) -> tuple[int, ...] | None:
    """The leading numbers of a conda or PyPI version (``1.26.4`` -> (1, 26, 4))."""
    numbers = []
    for part in version.split("!")[-1].split("."):
        digits = re.match(r"\d+", part)
        if digits is None:
            break
        numbers.append(int(digits.group(0)))
        if digits.group(0) != part:
            break
    return tuple(numbers) or None


def markdown_rows(a: Lock, b: Lock, changes: Sequence[Change]) -> list[Row]:
    """``changes`` (from ``diff_locks(a, b)``) as rows, identical changes of several
    platforms in one, sorted by kind of change and name."""
    requested = requested_keys(a) | requested_keys(b)
    every = tuple(sorted(set(a.platforms) | set(b.platforms)))
    grouped: dict[tuple[str, Kind, str, str, ChangeType], list[str]] = {}
    for c in changes:
        before, after = _shown(c.old, c.new)
        grouped.setdefault((c.name, c.kind, before, after, change_type(c)), []).append(c.platform)
    rows = [
        Row(
            name, kind, before, after, change,
            requested=kind == "python" or f"{kind}:{name}" in requested,
            platforms=() if tuple(sorted(platforms)) == every else tuple(sorted(platforms)),
        )
        for (name, kind, before, after, change), platforms in grouped.items()
    ]  # fmt: skip
    return sorted(rows, key=lambda r: (_TYPE_ORDER.index(r.change), r.name, r.kind, r.platforms))


def _shown(old: str | None, new: str | None) -> tuple[str, str]:
    """Before and after: the versions; the builds (or files) when only those differ."""
    if old is not None and new is not None and _version_part(old) == _version_part(new):
        return old.partition(" (")[2].rstrip(")"), new.partition(" (")[2].rstrip(")")
    return old or "", new or ""


def requested_keys(lock: Lock) -> set[str]:
    """``kind:name`` of what the lock's spec requested, on any of its platforms."""
    return {key for p in lock.platforms for key, _ in graph(lock, p).requested}
