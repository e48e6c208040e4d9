"""Filesystem helpers: atomic writes and tree removal."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["write_atomic", "remove_tree"]


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` via a temp file and rename: never half-written."""
    import tempfile

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        # mkstemp makes 0600 files; give the file the mode a plain open() would (or keep its own).
        try:
            mode = os.stat(path).st_mode & 0o7777
        except FileNotFoundError:
            umask = os.umask(0)
            os.umask(umask)
            mode = 0o666 & ~umask
        os.chmod(tmp, mode)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def remove_tree(path: Path) -> None:
    """Remove a directory tree, also when some of it is read-only."""
    import shutil

    def onerror(func, target, _exc):  # type: ignore[no-untyped-def]
        try:
            os.chmod(target, 0o700)
            func(target)
        except FileNotFoundError:
            pass

    if Path(path).is_symlink():
        Path(path).unlink()
    elif Path(path).exists():
        shutil.rmtree(path, onerror=onerror)
