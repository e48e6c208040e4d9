"""Filesystem helpers: atomic writes, walking a tree, tree removal, and scratch space that a
killed process leaves behind only until the next run."""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from amber._hot import owner_token
from amber.errors import OutputError

__all__ = [
    "write_atomic", "atomic_output", "remove_tree", "temp_beside", "umask", "walk_tree",
    "TreeEntry", "scratch_dir", "scratch_file", "owner_token", "sweep_scratch",
]  # fmt: skip


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path``: onto a regular file (or a new path) via a temp file and
    rename, never half-written; through a symlink to the file it names (the link stays);
    into anything else (a device, a FIFO) by opening it. ``OutputError`` when it cannot be
    written there (a directory, a path under a file, a read-only place)."""
    path = Path(path)
    target, mode = _output_target(path)
    if mode is None:
        try:
            with open(target, "w", encoding="utf-8") as f:
                f.write(text)
        except OSError as exc:
            raise _cannot_write(path, exc) from None
        return
    fd, tmp = _temp_for(path, target)
    try:
        os.chmod(tmp, mode)  # mkstemp makes 0600 files: the mode a plain open() would give
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, target)
    except BaseException as exc:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise _cannot_write(path, exc) from None
        raise


@contextmanager
def atomic_output(path: Path) -> Iterator[BinaryIO]:
    """A binary file to write ``path`` through, the way ``write_atomic`` writes: a temp file
    renamed over a regular file (or a new path) when the block ends, removed if it raises;
    anything else but a directory (a device, a FIFO) opened and written into."""
    path = Path(path)
    target, mode = _output_target(path)
    if mode is None:
        try:
            out = open(target, "wb")  # noqa: SIM115 - closed below, after the block
        except OSError as exc:
            raise _cannot_write(path, exc) from None
        with out:
            yield out
        return
    fd, tmp = _temp_for(path, target)
    try:
        with os.fdopen(fd, "wb") as out:
            yield out
        os.chmod(tmp, mode)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _output_target(path: Path) -> tuple[Path, int | None]:
    """Where writing ``path`` lands (the file a symlink names) and the mode to give the file
    renamed over it; ``None`` for a mode: write through, that is no regular file."""
    target = Path(os.path.realpath(path)) if os.path.islink(path) else path
    try:
        st = os.stat(target)
    except FileNotFoundError:
        return target, 0o666 & ~umask()  # a new file (its directory is made if need be)
    except OSError as exc:  # a path under a regular file, a symlink loop
        raise _cannot_write(path, exc) from None
    if stat.S_ISDIR(st.st_mode):
        raise OutputError(
            f"cannot write {path}: it is a directory; give a file name (e.g. {path}/amber.lock)",
            path=path,
        )
    return target, (st.st_mode & 0o7777 if stat.S_ISREG(st.st_mode) else None)


def _temp_for(path: Path, target: Path) -> tuple[int, str]:
    try:
        return temp_beside(target)
    except OSError as exc:
        raise _cannot_write(path, exc) from None


def _cannot_write(path: Path, exc: OSError) -> OutputError:
    reason = exc.strerror or str(exc)
    if isinstance(exc, (NotADirectoryError, FileExistsError)):
        reason = "a part of the path is a file, not a directory"
    return OutputError(f"cannot write {path}: {reason}", path=path)


_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)


def temp_beside(path: Path) -> tuple[int, str]:
    """A new temporary file (fd, name) in ``path``'s directory, to be renamed over ``path``:
    ``.<name>.<owner>-*.part``; those of killed processes writing ``path`` are swept first."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    sweep_scratch(path.parent, f".{path.name}.")
    prefix = f".{path.name}.{owner_token()}-"
    # As tempfile.mkstemp makes it (O_EXCL, mode 0600), without importing tempfile (shutil,
    # random) on the path of every lock written.
    while True:
        name = os.path.join(path.parent, f"{prefix}{os.urandom(6).hex()}.part")
        try:
            return os.open(name, os.O_RDWR | os.O_CREAT | os.O_EXCL | _NOFOLLOW, 0o600), name
        except FileExistsError:
            continue


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


# -- scratch space -----------------------------------------------------------------
#
# Temporary files and folders carry their owner in their names: "<pid>.<host>" (the host
# as a hash of its name, so that a temp folder shared with another machine or container is
# never taken for ours). What a process killed before it could clean up leaves is removed
# by the next run that makes scratch space there (and by `amber gc`), once no process of
# that pid lives on this host: never a running command's.

_TMP_MARK = "amber-"


def _gone(token: str) -> bool:
    """Whether the owner named by ``token`` is a process of this host that no longer runs."""
    pid, _, host = token.partition(".")
    if not pid.isdigit() or host != owner_token().partition(".")[2]:
        return False  # not ours to judge
    if int(pid) == os.getpid() or os.name == "nt":  # Windows: os.kill would end the process
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except OSError:  # EPERM: alive, another user's
        return False
    return False


def sweep_scratch(folder: Path | None = None, mark: str = _TMP_MARK) -> int:
    """Remove the scratch entries of ``folder`` (``$TMPDIR`` by default) whose owner is gone:
    names that start with ``mark`` (``amber-``) followed by the owner, or, for a ``mark``
    such as ``.unpack-``, dot names holding it followed by the owner. Returns how many."""
    if folder is None:
        import tempfile  # noqa: PLC0415 - not on the paths that write a lock or run

        folder = Path(tempfile.gettempdir())
    folder = Path(folder)
    try:
        names = os.listdir(folder)
    except OSError:
        return 0
    removed = 0
    for name in names:
        if name.startswith(mark):
            rest = name[len(mark) :]
        elif name.startswith(".") and mark in name:
            rest = name[name.rfind(mark) + len(mark) :]
        else:
            continue
        token, sep, _ = rest.partition("-")
        if not sep or not _gone(token):
            continue
        with suppress(OSError):  # another sweeper was first, or not ours to remove
            path = folder / name
            if path.is_dir() and not path.is_symlink():
                remove_tree(path)
            else:
                path.unlink()
            removed += 1
    return removed


@contextmanager
def scratch_dir(kind: str, folder: Path | None = None) -> Iterator[Path]:
    """A new private folder ``amber-<owner>-<kind>-*`` in ``folder`` (``$TMPDIR`` by
    default), removed when the block ends; stale ones of dead processes are swept first."""
    import tempfile  # noqa: PLC0415 - on the hot path of `amber run`, which makes no temp file

    sweep_scratch(folder)
    path = Path(tempfile.mkdtemp(prefix=f"{_TMP_MARK}{owner_token()}-{kind}-", dir=folder))
    try:
        yield path
    finally:
        remove_tree(path)


def scratch_file(kind: str, suffix: str = "") -> tuple[int, str]:
    """A new private file ``$TMPDIR/amber-<owner>-<kind>-*<suffix>`` (fd, name) for the caller
    to remove; stale ones of dead processes are swept first."""
    import tempfile  # noqa: PLC0415 - on the hot path of `amber run`, which makes no temp file

    sweep_scratch()
    return tempfile.mkstemp(prefix=f"{_TMP_MARK}{owner_token()}-{kind}-", suffix=suffix)
