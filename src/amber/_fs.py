"""Filesystem helpers: atomic writes, walking a tree, and tree removal."""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

__all__ = [
    "write_atomic", "atomic_output", "remove_tree", "temp_beside", "umask", "walk_tree",
    "TreeEntry",
]  # fmt: skip


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` via a temp file and rename: never half-written."""
    path = Path(path)
    fd, tmp = temp_beside(path)
    try:
        # mkstemp makes 0600 files; give the file the mode a plain open() would (or keep its own).
        try:
            mode = os.stat(path).st_mode & 0o7777
        except FileNotFoundError:
            mode = 0o666 & ~umask()
        os.chmod(tmp, mode)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@contextmanager
def atomic_output(path: Path) -> Iterator[BinaryIO]:
    """A binary file to write ``path`` through: renamed over it (with the mode a plain
    open() gives) when the block ends, removed if it raises. Never half-written."""
    path = Path(path)
    fd, tmp = temp_beside(path)
    try:
        with os.fdopen(fd, "wb") as out:
            yield out
        os.chmod(tmp, 0o666 & ~umask())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def temp_beside(path: Path) -> tuple[int, str]:
    """A new temporary file (fd, name) in ``path``'s directory, to be renamed over ``path``."""
    import tempfile  # noqa: PLC0415 - on the hot path of `amber run`, which needs no temp file

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    return tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")


def umask() -> int:
    """The process's umask (read without changing it for good)."""
    mask = os.umask(0)
    os.umask(mask)
    return mask


def remove_tree(path: Path) -> None:
    """Remove a directory tree, also when some of it is read-only."""
    import shutil  # noqa: PLC0415 - on the hot path of `amber run`, which removes no tree

    def onerror(func: Callable[[str], object], target: str, _exc: object) -> None:
        try:
            os.chmod(target, 0o700)
            func(target)
        except FileNotFoundError:
            pass

    if Path(path).is_symlink():
        Path(path).unlink()
    elif Path(path).exists():
        shutil.rmtree(path, onerror=onerror)


@dataclass(frozen=True)
class TreeEntry:
    """One thing found under a walked root."""

    rel: str  # relative to the root
    path: str  # the root joined with ``rel``
    kind: str  # "dir" | "link" | "file" | "other" (fifo, socket, device)
    stat: os.stat_result  # the entry's own (a symlink's, not its target's)


def walk_tree(
    root: Path | str,
    *,
    skip: Callable[[TreeEntry], bool] | None = None,
    onerror: Callable[[OSError], None] | None = None,
) -> Iterator[TreeEntry]:
    """Everything under the directory ``root``, symlinks not followed: each directory's
    entries sorted by name, before those of its subdirectories (in the same order). An entry
    ``skip`` accepts is left out, with all under it. Entries that vanish or cannot be read are
    passed over, or handed to ``onerror`` (which may raise)."""
    root = os.fspath(root)
    stack = [""]
    while stack:
        rel_dir = stack.pop()
        try:
            with os.scandir(os.path.join(root, rel_dir) if rel_dir else root) as scan:
                children = sorted(scan, key=lambda e: e.name)
        except OSError as exc:
            if onerror is not None:
                onerror(exc)
            continue
        subdirs = []
        for child in children:
            try:
                st = child.stat(follow_symlinks=False)
            except OSError as exc:
                if onerror is not None:
                    onerror(exc)
                continue
            rel = os.path.join(rel_dir, child.name) if rel_dir else child.name
            entry = TreeEntry(rel, child.path, _kind(st.st_mode), st)
            if skip is not None and skip(entry):
                continue
            yield entry
            if entry.kind == "dir":
                subdirs.append(rel)
        stack.extend(reversed(subdirs))


def _kind(mode: int) -> str:
    if stat.S_ISLNK(mode):
        return "link"
    if stat.S_ISDIR(mode):
        return "dir"
    return "file" if stat.S_ISREG(mode) else "other"
