"""Disk usage of the store: per env, the package caches, and the total.

Envs hardlink their files from the package caches, so an env's apparent size says
little about what removing it frees. One walk over every env and cache (``os.scandir``,
symlinks not followed, directories' own sizes not counted) maps each inode to the
set of trees holding a link to it:

- an env's *apparent* size sums ``st_size`` over every file and symlink in it;
- its *unique* bytes count each inode once, and only inodes whose every link
  (``st_nlink``) was found inside this env: what ``amber env rm`` frees;
- a cache's size counts each of its inodes once;
- the total counts every inode once across all envs and caches.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from amber._fs import walk_tree
from amber.store import Store

__all__ = ["disk_usage", "inodes", "Inode", "Usage", "EnvUsage"]


@dataclass(frozen=True)
class Inode:
    """A file's inode as found under some roots: its size, its links, those found."""

    size: int
    nlink: int  # links it has in all
    found: int  # links to it found under the roots


def inodes(roots: Iterable[Path | str]) -> dict[tuple[int, int], Inode]:
    """(dev, ino) -> ``Inode`` for every non-directory under ``roots`` (a root may be a file;
    symlinks are counted as themselves, never followed)."""
    seen: dict[tuple[int, int], list[int]] = {}  # (dev, ino) -> [size, nlink, found]

    def count(st: os.stat_result) -> None:
        key = (st.st_dev, st.st_ino)
        if key in seen:
            seen[key][2] += 1
        else:
            seen[key] = [st.st_size, st.st_nlink, 1]

    for root in roots:
        try:
            st = os.lstat(root)
        except OSError:
            continue
        if not os.path.isdir(root) or os.path.islink(root):
            count(st)
            continue
        for entry in walk_tree(root):
            if entry.kind != "dir":
                count(entry.stat)
    return {key: Inode(size, nlink, found) for key, (size, nlink, found) in seen.items()}


@dataclass(frozen=True)
class EnvUsage:
    full_id: str
    name: str | None
    path: str
    apparent: int  # bytes, every file and symlink counted
    unique: int  # bytes of inodes linked from this env only
    files: int
    prefix: bool = False  # an env at a chosen path (`amber install --prefix`, `prefix:`)


@dataclass
class Usage:
    envs: list[EnvUsage] = field(default_factory=list)  # sorted: most unique bytes first
    caches: dict[str, int] = field(default_factory=dict)  # "conda" | "uv" | "archives" -> bytes
    total: int = 0  # every inode once, envs and caches

    @property
    def caches_total(self) -> int:
        return sum(self.caches.values())

    def to_json(self) -> dict:
        return {
            "envs": [asdict(e) for e in self.envs],
            "caches": dict(self.caches),
            "caches_total": self.caches_total,
            "total": self.total,
        }


def disk_usage(store: Store) -> Usage:
    """Walk every env in the index (in the store and at chosen paths) and the package caches
    once."""
    trees: list[tuple[str, Path]] = [
        ("cache:conda", store.conda_pkgs),
        ("cache:uv", store.uv_cache),
        ("cache:archives", store.archives),
    ]
    records = [(r, False) for r in store.envs()] + [(r, True) for r in store.prefix_envs()]
    trees += [(f"env:{r.path}", r.path) for r, _ in records]

    table: dict[tuple[int, int], list] = {}  # (dev, ino) -> [size, nlink, links seen, owners]
    apparent: dict[str, int] = {}
    files: dict[str, int] = {}
    seen_roots: set[tuple[int, int]] = set()
    for owner, root in trees:
        apparent[owner], files[owner] = 0, 0
        try:
            root_stat = os.stat(root)
        except OSError:
            continue
        if (root_stat.st_dev, root_stat.st_ino) in seen_roots:  # two records, one dir
            continue
        seen_roots.add((root_stat.st_dev, root_stat.st_ino))
        # A root that is a symlink to a directory is measured as that directory.
        for key, inode in inodes([os.path.realpath(root)]).items():
            apparent[owner] += inode.size * inode.found
            files[owner] += inode.found
            info = table.get(key)
            if info is None:
                table[key] = [inode.size, inode.nlink, inode.found, {owner}]
            else:
                info[2] += inode.found
                info[3].add(owner)

    unique: dict[str, int] = {}
    caches = {"conda": 0, "uv": 0, "archives": 0}
    grand = 0
    for size, nlink, links, owners in table.values():
        grand += size
        for owner in owners:
            if owner.startswith("cache:"):
                caches[owner.removeprefix("cache:")] += size
        if len(owners) == 1 and links >= nlink:
            (owner,) = owners
            unique[owner] = unique.get(owner, 0) + size

    usage = Usage(caches=caches, total=grand)
    for r, prefix in records:
        owner = f"env:{r.path}"
        usage.envs.append(
            EnvUsage(
                r.full_id, r.name, str(r.path), apparent.get(owner, 0), unique.get(owner, 0),
                files.get(owner, 0), prefix,
            )
        )  # fmt: skip
    usage.envs.sort(key=lambda e: (-e.unique, -e.apparent, e.full_id))
    return usage
