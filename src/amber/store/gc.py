"""`amber gc`: remove old, untagged, unused envs, then the package-cache entries nothing needs.

An env is a candidate when it was not used (``envs.last_used``: `amber run`, a step,
a hydrate) within ``older_than`` and is not among the ``keep`` most recently used.
A tagged env is never removed, nor one a running process uses (it holds a shared
flock on the env's lock file: an exclusive one cannot be had).

Then the package caches: rattler's ``pkgs/conda/<name-version-build>`` (and its
``.lock``) and the archive store ``pkgs/archives/<sha[:2]>/<sha>`` lose every entry
that no remaining env's lock and no tagged env's lock needs. uv's cache is left to
``uv cache prune``.

Bytes freed count each inode once: removing an env whose files are hardlinked from
the cache frees only the files that it alone holds; the rest is counted when (if)
the cache entry goes too.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
import time
from collections.abc import Iterable
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path

from amber import _early, _hot
from amber._fs import remove_tree, sweep_scratch
from amber._units import human_bytes
from amber._uv import uv_bin, uv_env
from amber.errors import AmberError
from amber.lock import Lock
from amber.store import Store
from amber.store.du import inodes
from amber.store.env import Env
from amber.store.inuse import in_use, remove_env, remove_unheld

__all__ = ["collect", "GcReport", "RemovedEnv", "KeptEnv", "RemovedCacheEntry", "DEFAULT_AGE"]

DEFAULT_AGE = 30 * 24 * 3600.0
_UV_PRUNE_TIMEOUT = 120.0
_CONDA_SUFFIXES = (".conda", ".tar.bz2")


@dataclass(frozen=True)
class RemovedEnv:
    full_id: str
    path: Path
    name: str | None
    last_used: float
    bytes_freed: int


@dataclass(frozen=True)
class KeptEnv:
    full_id: str
    path: Path
    name: str | None
    last_used: float
    reason: str  # "tagged", "in use", "recent", "kept" (among the --keep most recent)
    tags: tuple[str, ...] = ()


@dataclass(frozen=True)
class RemovedCacheEntry:
    kind: str  # "conda" (rattler's cache) or "archive" (the archive store)
    path: Path
    bytes_freed: int


@dataclass
class GcReport:
    dry_run: bool
    removed_envs: list[RemovedEnv] = field(default_factory=list)
    kept_envs: list[KeptEnv] = field(default_factory=list)
    removed_cache: list[RemovedCacheEntry] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    uv_prune: str | None = None  # uv's own summary of `uv cache prune`, if it ran
    # Stale edit locks and memos removed (not in a dry run: they go stale with the envs).
    bookkeeping_bytes: int = 0

    @property
    def env_bytes(self) -> int:
        return sum(e.bytes_freed for e in self.removed_envs)

    @property
    def cache_bytes(self) -> int:
        return sum(c.bytes_freed for c in self.removed_cache)

    @property
    def bytes_freed(self) -> int:
        return self.env_bytes + self.cache_bytes

    def kept(self, reason: str) -> list[KeptEnv]:
        return [k for k in self.kept_envs if k.reason == reason]

    def to_json(self) -> dict[str, object]:
        return {
            "dry_run": self.dry_run,
            "removed_envs": [
                {"full_id": e.full_id, "path": str(e.path), "name": e.name,
                 "last_used": e.last_used, "bytes_freed": e.bytes_freed}
                for e in self.removed_envs
            ],
            "kept_envs": [
                {"full_id": k.full_id, "path": str(k.path), "name": k.name,
                 "last_used": k.last_used, "reason": k.reason, "tags": list(k.tags)}
                for k in self.kept_envs
            ],
            "removed_cache": [
                {"kind": c.kind, "path": str(c.path), "bytes_freed": c.bytes_freed}
                for c in self.removed_cache
            ],
            "env_bytes": self.env_bytes,
            "cache_bytes": self.cache_bytes,
            "bytes_freed": self.bytes_freed,
            "bookkeeping_bytes": self.bookkeeping_bytes,
            "uv_prune": self.uv_prune,
            "notes": list(self.notes),
        }  # fmt: skip


def collect(
    store: Store,
    *,
    older_than: float | None = None,
    keep: int | None = None,
    dry_run: bool = False,
    prune_uv: bool = True,
) -> GcReport:
    """Remove (or, with ``dry_run``, only report) old unused untagged envs, then the
    package-cache entries that no remaining env or tagged lock needs."""
    if older_than is None:
        older_than = DEFAULT_AGE
    if older_than < 0 or (keep is not None and keep < 0):
        raise AmberError("gc: --older-than and --keep must not be negative")
    report = GcReport(dry_run=dry_run)
    links = _Links()
    cutoff = time.time() - older_than

    tags: dict[str, list[str]] = {}
    for name, tag, full_id, _created in store.tags():
        tags.setdefault(full_id, []).append(f"{name}:{tag}")

    remaining: list[Env] = []
    for rank, record in enumerate(store.envs()):  # most recently used first
        env = Env(record.full_id, record.path)

        def kept(reason: str, record=record, env=env) -> None:
            report.kept_envs.append(
                KeptEnv(record.full_id, record.path, record.name, record.last_used, reason,
                        tuple(tags.get(record.full_id, ())))
            )  # fmt: skip
            remaining.append(env)

        if record.full_id in tags:
            kept("tagged")
        elif keep is not None and rank < keep:
            kept("kept")
        elif record.last_used >= cutoff:
            kept("recent")
        elif not _can_lock(store.env_lock_path(record.full_id)):
            kept("in use")
        else:
            freed, pending = links.measure([record.path])
            if not dry_run:
                try:
                    _remove_env(env, store)
                except AmberError:  # taken by a process since we looked
                    kept("in use")
                    continue
            links.commit(pending)
            report.removed_envs.append(
                RemovedEnv(record.full_id, record.path, record.name, record.last_used, freed)
            )

    for record in store.prefix_envs():  # envs at chosen paths: only `amber env rm` removes them
        report.kept_envs.append(
            KeptEnv(record.full_id, record.path, record.name, record.last_used, "prefix",
                    tuple(tags.get(record.full_id, ())))
        )  # fmt: skip
        remaining.append(Env(record.full_id, record.path))

    if _build_in_progress(store, {e.path.name for e in remaining} | _removed_names(report)):
        report.notes.append(
            "an env is being built right now: the package caches were left alone (run gc again)"
        )
    else:
        _collect_caches(store, report, links, remaining, tags, dry_run)

    if not dry_run:
        _sweep_bookkeeping(store, report)
        swept = sweep_scratch()
        if swept:
            report.notes.append(
                f"removed {swept} temporary file(s) left in {tempfile.gettempdir()} by "
                "killed amber commands"
            )

    if prune_uv and not dry_run and store.uv_cache.is_dir():
        report.uv_prune = _prune_uv(store, report)
    elif store.uv_cache.is_dir():
        report.notes.append("uv's cache is pruned by `uv cache prune` (not in a dry run)")
    return report


def _sweep_bookkeeping(store: Store, report: GcReport) -> None:
    """What commands leave behind that outlives its use: the edit locks of `amber add` that
    nobody holds, `amber run`'s memos of envs that are gone and `amber lock`'s of spec
    files that changed."""
    removed = 0
    stale = [*_hot.stale_memos(str(store.home)), *_early.stale_memos(str(store.home))]
    for path in [*sorted((store.home / "edits").glob("*.lock")), *map(Path, stale)]:
        with suppress(OSError):
            size = path.lstat().st_size
            if path.suffix == ".lock" and path.parent.name == "edits":
                if not remove_unheld(path):
                    continue
            else:
                os.unlink(path)
            removed += 1
            report.bookkeeping_bytes += size
    if removed:
        report.notes.append(
            f"removed {removed} stale lock or memo file(s) of earlier commands "
            f"({human_bytes(report.bookkeeping_bytes)})"
        )


# -- envs ------------------------------------------------------------------------------


def _can_lock(path: Path) -> bool:
    """Whether no process holds the env's in-use lock right now."""
    return not in_use(path)


def _remove_env(env: Env, store: Store) -> None:
    remove_env(env, store)


def _removed_names(report: GcReport) -> set[str]:
    return {e.path.name for e in report.removed_envs}


def _build_in_progress(store: Store, known: set[str]) -> bool:
    """An env directory that no index entry names, whose lock is held: hydrate is building
    it, from packages gc cannot know about."""
    try:
        entries = list(os.scandir(store.envs_dir))
    except FileNotFoundError:
        return False
    for entry in entries:
        if entry.name.startswith(".") or entry.name in known:
            continue
        if not Env(entry.name, Path(entry.path)).marker.exists() and not _can_lock(
            store.envs_dir / ".locks" / f"{entry.name}.lock"
        ):
            return True
    return False


# -- package caches -------------------------------------------------------------------


def _needed(store: Store, remaining: Iterable[Env], tagged: Iterable[str]) -> tuple[set, set]:
    """(conda cache directory names, archive sha256s) that remaining envs and tagged locks use."""
    locks: list[Path] = []
    for env in remaining:
        if env.lock_file.is_file():
            locks.append(env.lock_file)
        else:
            stored = store.find_lock(env.full_id)
            if stored is not None:
                locks.append(stored)
    for full_id in tagged:
        stored = store.find_lock(full_id)
        if stored is not None:
            locks.append(stored)
    stems: set[str] = set()
    shas: set[str] = set()
    for path in dict.fromkeys(locks):
        try:
            lock = Lock.read(path)
        except Exception:  # an unreadable lock: keep everything rather than guess
            raise AmberError(
                f"gc: cannot read the lock {path}; nothing removed from the caches"
            ) from None
        for body in lock.platforms.values():
            for package in body.conda:
                stems.add(_stem(package.file_name))
                shas.add(package.sha256)
            for wheel in body.pypi:
                shas.add(wheel.sha256)
    return stems, shas


def _stem(file_name: str) -> str:
    for suffix in _CONDA_SUFFIXES:
        if file_name.endswith(suffix):
            return file_name[: -len(suffix)]
    return file_name


def _collect_caches(
    store: Store,
    report: GcReport,
    links: _Links,
    remaining: list[Env],
    tags: dict[str, list[str]],
    dry_run: bool,
) -> None:
    try:
        stems, shas = _needed(store, remaining, tags)
    except AmberError as exc:
        report.notes.append(str(exc))
        return

    # rattler's cache: <name-version-build>/ plus <name-version-build>.lock beside it.
    if store.conda_pkgs.is_dir():
        for entry in sorted(os.scandir(store.conda_pkgs), key=lambda e: e.name):
            if entry.name.startswith(".") or not entry.is_dir(follow_symlinks=False):
                continue
            if entry.name in stems or not (Path(entry.path) / "info").is_dir():
                continue  # needed, or not a package (rattler's own bookkeeping)
            paths = [Path(entry.path)]
            lock_file = store.conda_pkgs / f"{entry.name}.lock"
            if lock_file.exists():
                paths.append(lock_file)
            state = store.home / "pkgs" / "conda-state" / entry.name  # its fingerprint
            if state.exists():
                paths.append(state)
            _remove_entry("conda", paths, report, links, dry_run)

    # the archive store: <sha[:2]>/<sha>/<file name>
    if store.archives.is_dir():
        for shard in sorted(os.scandir(store.archives), key=lambda e: e.name):
            if not shard.is_dir(follow_symlinks=False) or shard.name.startswith("."):
                continue
            for entry in sorted(os.scandir(shard.path), key=lambda e: e.name):
                if entry.name in shas or entry.name.startswith(".") or len(entry.name) != 64:
                    continue
                _remove_entry("archive", [Path(entry.path)], report, links, dry_run)
            if not dry_run:
                try:
                    os.rmdir(shard.path)  # only when empty
                except OSError:
                    pass


def _remove_entry(
    kind: str, paths: list[Path], report: GcReport, links: _Links, dry_run: bool
) -> None:
    freed, pending = links.measure(paths)
    if not dry_run:
        try:
            for path in paths:
                if path.is_dir() and not path.is_symlink():
                    remove_tree(path)
                else:
                    path.unlink(missing_ok=True)
        except OSError as exc:
            report.notes.append(f"cannot remove {paths[0]}: {exc}")
            return
    links.commit(pending)
    report.removed_cache.append(RemovedCacheEntry(kind, paths[0], freed))


def _prune_uv(store: Store, report: GcReport) -> str | None:
    try:
        proc = subprocess.run(
            [uv_bin(), "cache", "prune"],
            env=uv_env(store.uv_cache),
            capture_output=True,
            text=True,
            timeout=_UV_PRUNE_TIMEOUT,
        )
    except subprocess.TimeoutExpired:
        report.notes.append("`uv cache prune` waited too long (uv busy?): uv's cache left alone")
        return None
    except OSError as exc:
        report.notes.append(f"cannot run `uv cache prune`: {exc}")
        return None
    if proc.returncode != 0:
        report.notes.append(f"`uv cache prune` failed: {proc.stderr.strip()}")
        return None
    lines = [line.strip() for line in (proc.stderr + proc.stdout).splitlines() if line.strip()]
    return lines[-1] if lines else None


# -- bytes freed, each inode once -------------------------------------------------------


class _Links:
    """Link counts of the inodes seen, less the links removed so far (or, in a dry run,
    that would be): an inode is freed when its last link goes."""

    def __init__(self) -> None:
        self._left: dict[tuple[int, int], int] = {}

    def measure(self, roots: list[Path]) -> tuple[int, dict[tuple[int, int], int]]:
        """Bytes that removing ``roots`` frees, and the link counts to ``commit`` if it is done."""
        freed, pending = 0, {}
        for key, inode in inodes(roots).items():
            left = self._left.get(key, inode.nlink) - inode.found
            pending[key] = left
            if left <= 0:
                freed += inode.size
        return freed, pending

    def commit(self, pending: dict[tuple[int, int], int]) -> None:
        self._left.update(pending)
