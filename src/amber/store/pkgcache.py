"""The package caches as Amber trusts them: an entry is linked into an env only while its
files are as they were extracted.

Envs hardlink their files from the cache's entries (``pkgs/conda/<name>-<version>-<build>/``),
so an edit made in place in one env edits the entry too. Each clean entry has a stat
fingerprint (every file's path, size, mtime_ns and inode; not ctime, which every link and
unlink of the inode moves) in ``pkgs/conda-state/``. Before an entry is linked again its
fingerprint is taken anew: equal, it is trusted without reading a byte; different (or never
recorded), its files are hashed against its ``info/paths.json`` and the entry is either
recorded clean or removed, so that rattler extracts it again from its (hash-checked) archive.

uv's cache is watched the same way from the other side: the files an env shares with it
(hardlinks: more than one link) are fingerprinted per wheel sha256 in ``pkgs/uv-state/``
and hashed against the wheel's ``RECORD`` when that moved.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import json
import os
import stat
from collections.abc import Callable, Iterable
from pathlib import Path

from amber._fs import remove_tree, write_atomic
from amber.store import Store, inuse

__all__ = [
    "entry_of",
    "cached_sha256",
    "is_clean",
    "record_clean",
    "discard",
    "damaged_files",
    "wheel_files",
    "shared_files_clean",
    "record_shared_files",
]


def entry_of(store: Store, file_name: str) -> Path:
    """The cache directory rattler extracts the archive ``file_name`` into."""
    return store.conda_pkgs / file_name.removesuffix(".conda").removesuffix(".tar.bz2")


def cached_sha256(store: Store, file_name: str) -> str | None:
    """The sha256 rattler's cache records for its entry of ``file_name`` (the
    ``<name>-<version>-<build>.lock`` file beside it: a revision, then the sha256)."""
    entry = entry_of(store, file_name)
    try:
        with open(entry.with_name(entry.name + ".lock"), "rb") as f:
            data = f.read(41)
    except OSError:
        return None
    if len(data) != 40 or not entry.is_dir():
        return None
    return data[8:].hex()


def _state(store: Store, entry: Path) -> Path:
    return store.home / "pkgs" / "conda-state" / entry.name


def fingerprint(entry: Path) -> str:
    """A digest of every file's relative path, size, mtime_ns and inode under ``entry``."""
    rows: list[str] = []
    stack = [entry]
    while stack:
        top = stack.pop()
        with os.scandir(top) as it:
            for e in it:
                st = e.stat(follow_symlinks=False)
                if e.is_dir(follow_symlinks=False):
                    stack.append(Path(e.path))
                rows.append(f"{e.path}\0{st.st_size}\0{st.st_mtime_ns}\0{st.st_ino}")
    rows.sort()
    return hashlib.sha256("\n".join(rows).encode()).hexdigest()


def is_clean(store: Store, file_name: str, sha256: str) -> bool:
    """Whether the entry of ``file_name`` records ``sha256`` and has the fingerprint it had
    when last found clean (one ``stat`` per file, no content read)."""
    entry = entry_of(store, file_name)
    try:
        recorded = _state(store, entry).read_text().split()
        return recorded == [sha256, fingerprint(entry)]
    except OSError:
        return False


def record_clean(store: Store, file_name: str, sha256: str) -> None:
    """Remember the entry of ``file_name`` as it is now as clean (just extracted or checked)."""
    entry = entry_of(store, file_name)
    try:
        text = f"{sha256} {fingerprint(entry)}\n"
    except OSError:
        return
    path = _state(store, entry)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, text)


def damaged_files(entry: Path) -> list[str]:
    """The files of ``entry`` whose content is not what its ``info/paths.json`` records
    (or every file when that cannot be read)."""
    try:
        paths = json.loads((entry / "info" / "paths.json").read_text())["paths"]
    except (OSError, ValueError, KeyError, TypeError):
        return ["info/paths.json"]
    damaged = []
    for p in paths:
        if p.get("path_type") == "softlink" or not p.get("sha256"):
            continue
        path = entry / p["_path"]
        try:
            if path.is_symlink():
                damaged.append(p["_path"])
                continue
            with open(path, "rb") as f:
                digest = hashlib.file_digest(f, "sha256").hexdigest()
        except OSError:
            damaged.append(p["_path"])
            continue
        if digest != p["sha256"]:
            damaged.append(p["_path"])
    return damaged


def discard(store: Store, file_name: str) -> None:
    """Remove the entry of ``file_name`` (under rattler's own lock of it): rattler extracts it
    again from its archive the next time it is needed."""
    entry = entry_of(store, file_name)
    lock = entry.with_name(entry.name + ".lock")
    with inuse.exclusive(lock):
        remove_tree(entry)
        with open(lock, "r+b") as f:
            f.truncate(0)  # no sha256 recorded: never taken for a valid entry
    _state(store, entry).unlink(missing_ok=True)


def wheel_files(record: Path) -> list[tuple[str, str | None, int | None]]:
    """A ``*.dist-info/RECORD``'s rows: path (relative to site-packages, as written), sha256
    (hex) or ``None``, size or ``None``. Unreadable: no rows."""
    try:
        rows = list(csv.reader(record.read_text().splitlines()))
    except (OSError, UnicodeDecodeError, csv.Error):
        return []
    out: list[tuple[str, str | None, int | None]] = []
    for row in rows:
        if not row or not row[0]:
            continue
        digest = row[1] if len(row) > 1 else ""
        sha256 = None
        if digest.startswith("sha256="):
            raw = digest.removeprefix("sha256=")
            try:
                sha256 = base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)).hex()
            except ValueError:
                sha256 = "?"  # never matches a file
        size = int(row[2]) if len(row) > 2 and row[2].isdigit() else None
        out.append((row[0], sha256, size))
    return out


def _shared(
    files: Iterable[tuple[str, str]], lstat: Callable[[str], os.stat_result]
) -> tuple[str, list[tuple[str, str]]]:
    """The fingerprint of the files that are hardlinks (the ones a cache shares) and them."""
    rows, shared = [], []
    for path, sha256 in files:
        try:
            st = lstat(path)
        except OSError:
            continue
        if st.st_nlink > 1 and stat.S_ISREG(st.st_mode):
            rows.append(f"{os.path.basename(path)}\0{st.st_size}\0{st.st_mtime_ns}\0{st.st_ino}")
            shared.append((path, sha256))
    rows.sort()
    return hashlib.sha256("\n".join(rows).encode()).hexdigest(), shared


def shared_files_clean(
    store: Store,
    sha256: str,
    files: Iterable[tuple[str, str]],
    lstat: Callable[[str], os.stat_result] = os.lstat,
) -> bool:
    """Whether the hardlinked ones of ``files`` (path, expected sha256) of the wheel
    ``sha256`` are unchanged since last found clean, or hash as expected (then recorded).
    ``lstat``: where the files' ``lstat`` come from (a walk of the env already made)."""
    fingerprint_now, shared = _shared(files, lstat)
    state = store.home / "pkgs" / "uv-state" / sha256
    try:
        if state.read_text().strip() == fingerprint_now:
            return True
    except OSError:
        pass
    for path, expected in shared:
        try:
            with open(path, "rb") as f:
                if hashlib.file_digest(f, "sha256").hexdigest() != expected:
                    return False
        except OSError:
            return False
    state.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(state, fingerprint_now + "\n")
    return True


def record_shared_files(store: Store, sha256: str, files: Iterable[tuple[str, str]]) -> None:
    """Remember the hardlinked ones of ``files`` as clean (just installed from a fresh cache)."""
    state = store.home / "pkgs" / "uv-state" / sha256
    state.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(state, _shared(files, os.lstat)[0] + "\n")
