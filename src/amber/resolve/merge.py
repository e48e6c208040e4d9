"""Merging locks: the two sides of a git conflict, the pins both agree on, the merged spec."""

from __future__ import annotations

import subprocess
from pathlib import Path

from amber.errors import AmberError, SpecError
from amber.lock import Lock, PlatformLock
from amber.spec import Spec

__all__ = ["split_conflict", "git_sides", "agreed_pins", "merge_specs"]


def split_conflict(text: str, source: object = "<lock>") -> tuple[str, str]:
    """(ours, theirs) texts of a file with git conflict markers (merge or diff3 style)."""
    ours: list[str] = []
    theirs: list[str] = []
    state = "both"
    for line in text.splitlines(keepends=True):
        if line.startswith("<<<<<<<"):
            state = "ours"
        elif line.startswith("|||||||") and state == "ours":
            state = "base"
        elif line.startswith("=======") and state in ("ours", "base"):
            state = "theirs"
        elif line.startswith(">>>>>>>") and state == "theirs":
            state = "both"
        else:
            if state in ("both", "ours"):
                ours.append(line)
            if state in ("both", "theirs"):
                theirs.append(line)
    if state != "both":
        raise SpecError("unterminated git conflict marker", source)
    if ours == theirs:
        raise SpecError("no git conflict markers found: nothing to merge", source)
    return "".join(ours), "".join(theirs)


def git_sides(path: Path) -> tuple[str, str] | None:
    """(ours, theirs): the two whole files git keeps in its index while ``path`` is
    conflicted (stages 2 and 3); None outside a git merge (or without git).

    The text with conflict markers cannot give them back: git already merged the hunks
    that did not conflict into it, so each side read from it is a mix of both."""
    path = Path(path).absolute()
    sides = []
    for stage in (2, 3):
        try:
            shown = subprocess.run(
                ["git", "show", f":{stage}:./{path.name}"],
                cwd=path.parent, capture_output=True, timeout=60,
            )  # fmt: skip
        except (OSError, subprocess.SubprocessError):
            return None
        if shown.returncode != 0:
            return None
        try:
            sides.append(shown.stdout.decode("utf-8"))
        except UnicodeDecodeError:
            return None
    return sides[0], sides[1]


def agreed_pins(ours: Lock, theirs: Lock, *, keep_python: bool = True) -> Lock:
    """A lock (with ``ours``' spec) of the packages both sides pin, on the platforms both have:
    the ``previous`` of a resolve that keeps them."""
    agreed = {
        platform: PlatformLock(
            platform=platform,
            # The merge driver's previous never carried the interpreter: kept as it was.
            python=body.python if keep_python else None,
            conda=tuple(set(body.conda) & set(theirs.platforms[platform].conda)),
            pypi=tuple(set(body.pypi) & set(theirs.platforms[platform].pypi)),
        )
        for platform, body in ours.platforms.items()
        if platform in theirs.platforms
    }
    return Lock(spec=ours.spec, req_id=ours.req_id, platforms=agreed)


def merge_specs(base: Lock, ours: Lock, theirs: Lock) -> Spec:
    """Three-way merge of the specs the three locks record; lists merge item by item."""
    fields: dict[str, object] = {}
    specs = [x.spec.canonical() for x in (base, ours, theirs)]
    for key in {*specs[0], *specs[1], *specs[2]} - {"schema"}:
        old, mine, other = (s.get(key) for s in specs)
        if isinstance(mine, list) or isinstance(other, list):
            old, mine, other = _items(old), _items(mine), _items(other)
            kept = [x for x in mine if x in other or x not in old]
            fields[key] = kept + [x for x in other if x not in old and x not in kept]
        elif mine == other or other == old:
            fields[key] = mine
        elif mine == old:
            fields[key] = other
        else:
            raise AmberError(f"both sides changed the spec's {key!r} differently: merge by hand")
    return Spec.create(**fields)  # type: ignore[arg-type]


def _items(value: object) -> list[object]:
    """A list field of a canonical spec, as a new list (empty where the spec has none)."""
    return list(value) if isinstance(value, list) else []
