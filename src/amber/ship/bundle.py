"""Bundles: locks plus every package archive they pin, for machines with no index.

A bundle is a plain tar (the archives inside are compressed already)::

    amber-bundle.json           first member: what it holds (see ``BundleInfo``), and the
                                NAME:TAG references it was packed by
    locks/<full_id>.lock        one Amber lock per env
    pkgs/<sha256>/<file name>   each conda archive and wheel once, however many envs pin it

``import_bundle`` copies the archives into the store's archive store, checking
each sha256, and returns the locks; hydrate then installs from there without a
network, exactly as from a remote store.
"""

from __future__ import annotations

import io
import json
import re
import shutil
import tarfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from amber._fs import atomic_output
from amber._input import shorten
from amber._progress import Progress
from amber.errors import HydrateError, PackError
from amber.lock import Lock
from amber.run._hotpath import BUNDLE_MANIFEST as MANIFEST
from amber.run._hotpath import is_bundle
from amber.store import Store
from amber.store.fetch import Package, download_archives
from amber.store.refs import valid_tag

__all__ = [
    "write_bundle", "read_bundle", "import_bundle", "is_bundle", "bundle_locks", "Bundle",
    "BundleInfo", "MANIFEST",
]  # fmt: skip

# Reads are bounded: a manifest or a lock larger than this is not one Amber wrote.
_MANIFEST_MAX = 16 << 20
_LOCK_MAX = 64 << 20
_SHA256 = re.compile(r"[0-9a-f]{64}")
_FILE_NAME = re.compile(r"[^/\\\0]{1,255}")


@dataclass(frozen=True)
class BundleInfo:
    output: Path
    envs: tuple[str, ...]  # full_ids
    platforms: tuple[str, ...]
    packages: int
    bytes: int  # of the bundle file


@dataclass(frozen=True)
class Bundle:
    """What a bundle brought: its locks and the (name, tag, full_id) it was packed by."""

    locks: tuple[Lock, ...]
    tags: tuple[tuple[str, str, str], ...] = ()


def write_bundle(
    locks: Sequence[Lock],
    platforms: Sequence[str],
    store: Store,
    output: Path,
    progress: Progress | None = None,
    tags: Sequence[tuple[str, str, str]] = (),
) -> BundleInfo:
    """Write ``locks`` and the archives of their ``platforms`` to ``output`` atomically,
    fetching into the archive store the ones it lacks (from each package's URL). ``tags``
    (name, tag, full_id) travel with it, for ``amber install`` to restore."""

    progress = progress or Progress(quiet=True)
    output = Path(output)
    packages: dict[str, Package] = {}
    for lock in locks:
        for platform in platforms:
            chosen = lock.for_platform(platform)
            local = [p for p in chosen.pypi if p.path is not None]
            if local:
                raise PackError(
                    f"{lock.full_id}: {local[0].name} is installed from the local project "
                    f"{local[0].path}{' (editable)' if local[0].editable else ''}, which is "
                    "not a package archive a bundle can carry: lock a built wheel or a "
                    "released version instead (a non-editable requirement)"
                )
            git = [p for p in chosen.pypi if p.commit is not None]
            if git:
                raise PackError(
                    f"{lock.full_id}: {git[0].name} is locked to a git commit "
                    f"({git[0].vcs_url}), which is not a package archive a bundle can carry: "
                    "the machine that unpacks it would need the repository; ship the env "
                    "itself (`amber pack ENV`), or lock a built wheel instead"
                )
            pinned: list[Package] = [*chosen.conda, *chosen.pypi]
            packages.update((package.sha256, package) for package in pinned)
    ordered = sorted(packages.values(), key=lambda p: (p.file_name, p.sha256))
    missing = [p for p in ordered if not store.find_archive(p.sha256)]
    if missing:
        with progress.task(f"Fetching {len(missing)} package archives"):
            download_archives(missing, store)
    manifest: dict[str, Any] = {
        "amber_bundle": 1,
        "envs": [lock.full_id for lock in locks],
        "platforms": sorted(platforms),
        "packages": [{"file_name": p.file_name, "sha256": p.sha256} for p in ordered],
        "tags": [
            {"name": name, "tag": tag, "full_id": full_id}
            for name, tag, full_id in sorted(set(tags))
        ],
    }
    archives = [(p, store.find_archive(p.sha256)) for p in ordered]
    total = sum(path.stat().st_size for _, path in archives if path is not None)
    try:
        with atomic_output(output) as out, tarfile.open(fileobj=out, mode="w") as tar:
            _add_bytes(tar, MANIFEST, json.dumps(manifest, indent=1).encode())
            for lock in locks:
                _add_bytes(tar, f"locks/{lock.full_id}.lock", lock.dumps().encode())
            with progress.bar(f"Writing {output.name}", total) as advance:
                for package, path in archives:
                    assert path is not None  # download_archives put it there
                    info = tarfile.TarInfo(f"pkgs/{package.sha256}/{package.file_name}")
                    info.size, info.mode, info.mtime = path.stat().st_size, 0o644, 0
                    with open(path, "rb") as f:
                        tar.addfile(info, f)
                    advance(info.size)
    except OSError as exc:
        raise PackError(f"cannot write {output}: {exc}", path=output) from None
    return BundleInfo(
        output, tuple(manifest["envs"]), tuple(manifest["platforms"]), len(ordered),
        output.stat().st_size,
    )  # fmt: skip


def _add_bytes(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mode, info.mtime = len(data), 0o644, int(time.time())
    tar.addfile(info, io.BytesIO(data))


def import_bundle(
    path: Path, store: Store, platform: str, progress: Progress | None = None
) -> list[Lock]:
    """The bundle's locks, its archives now in ``store`` (each sha256 checked); refused
    when the bundle holds no packages for ``platform``."""
    return list(read_bundle(path, store, platform, progress).locks)


def read_bundle(
    path: Path, store: Store, platform: str, progress: Progress | None = None
) -> Bundle:
    """``import_bundle``, with the tags the bundle was packed by."""
    progress = progress or Progress(quiet=True)
    path = Path(path)
    locks: list[Lock] = []
    try:
        with (
            progress.bar(f"Reading {path.name}", path.stat().st_size) as advance,
            tarfile.open(path, mode="r|") as tar,
        ):
            first = tar.next()
            if first is None or first.name != MANIFEST:
                raise PackError(f"{path}: not a bundle made by `amber pack --packages`", path=path)
            manifest = _manifest(_read(tar, first, _MANIFEST_MAX), path)
            if platform not in manifest["platforms"]:
                raise PackError(
                    f"{path} holds packages for {', '.join(manifest['platforms'])}, not for "
                    f"this machine ({platform}): make it with `amber pack --packages "
                    f"--platform {platform}`",
                    path=path,
                )
            expected = {p["sha256"]: p["file_name"] for p in manifest["packages"]}
            for member in tar:
                advance(member.size + 512)
                if member.name.startswith(("locks/", "pkgs/")) and not member.isfile():
                    raise PackError(
                        f"{path}: {shorten(member.name)} is not a regular file (a link, a "
                        "directory or a device): a bundle holds only files",
                        path=path,
                    )
                if member.name.startswith("locks/"):
                    text = _read(tar, member, _LOCK_MAX).decode("utf-8", "replace")
                    locks.append(Lock.loads(text, f"{path}:{member.name}"))
                elif member.name.startswith("pkgs/"):
                    _import_archive(tar, member, expected, store, path)
    except (tarfile.TarError, ValueError, KeyError, EOFError) as exc:
        raise PackError(f"{path}: damaged bundle: {exc}", path=path) from None
    unlocked = sorted(set(manifest["envs"]) - {lock.full_id for lock in locks})
    if unlocked or not locks:
        raise PackError(
            f"{path}: the bundle lacks the lock of env {shorten(unlocked[0] if unlocked else '')}"
            if unlocked
            else f"{path}: the bundle holds no lock",
            path=path,
        )
    absent = [sha for sha in expected if not store.find_archive(sha)]
    if absent:
        names = ", ".join(expected[sha] for sha in absent[:5])
        raise PackError(
            f"{path}: the bundle lacks {len(absent)} of its packages ({names})", path=path
        )
    tags = tuple((e["name"], e["tag"], e["full_id"]) for e in manifest.get("tags") or ())
    return Bundle(tuple(locks), tags)


def bundle_locks(path: Path) -> tuple[Lock, ...]:
    """The locks a bundle holds, read without importing its archives (``amber audit``)."""
    locks: list[Lock] = []
    try:
        with tarfile.open(path, mode="r|") as tar:
            first = tar.next()
            if first is None or first.name != MANIFEST:
                raise PackError(f"{path}: not a bundle made by `amber pack --packages`", path=path)
            for member in tar:
                if member.name.startswith("locks/") and member.isfile():
                    text = _read(tar, member, _LOCK_MAX).decode("utf-8", "replace")
                    locks.append(Lock.loads(text, f"{path}:{member.name}"))
    except (tarfile.TarError, ValueError, KeyError, EOFError, OSError) as exc:
        raise PackError(f"{path}: damaged bundle: {exc}", path=path) from None
    if not locks:
        raise PackError(f"{path}: the bundle holds no lock", path=path)
    return tuple(locks)


def _read(tar: tarfile.TarFile, member: tarfile.TarInfo, limit: int) -> bytes:
    if member.size > limit:
        raise PackError(f"{member.name}: too large for a bundle's own file (over {limit >> 20} MB)")
    f = tar.extractfile(member)
    if f is None:
        raise PackError(f"{member.name}: not a file")
    return f.read(limit)


def _manifest(data: bytes, source: Path) -> dict[str, Any]:
    """The bundle's manifest, its shape checked: every sha256 a hex digest and every file
    name a plain name, so that no entry names a path outside the archive store."""
    where = f"{source}: {MANIFEST}"
    try:
        manifest = json.loads(data.decode("utf-8"))
    except (ValueError, RecursionError) as exc:
        raise PackError(f"{where} is not valid JSON: {str(exc)[:200]}", path=source) from None
    if not isinstance(manifest, dict):
        raise PackError(f"{where} must be an object", path=source)
    for key in ("envs", "platforms", "packages"):
        if not isinstance(manifest.get(key), list):
            raise PackError(f"{where}: {key} must be a list", path=source)
    for key in ("envs", "platforms"):
        if not all(isinstance(item, str) for item in manifest[key]):
            raise PackError(f"{where}: {key} must be a list of names", path=source)
    tags = manifest.get("tags", [])
    if not isinstance(tags, list):
        raise PackError(f"{where}: tags must be a list", path=source)
    for i, item in enumerate(tags):
        fields = [item.get(k) if isinstance(item, dict) else None for k in ("name", "tag")]
        full_id = item.get("full_id") if isinstance(item, dict) else None
        if not (all(isinstance(f, str) for f in fields) and valid_tag(*fields)  # type: ignore[arg-type]
                and full_id in manifest["envs"]):  # fmt: skip
            raise PackError(
                f"{where}: tags[{i}] must be {{name, tag, full_id: one of its envs}}, "
                f"not {repr(item)[:120]}",
                path=source,
            )
    for i, item in enumerate(manifest["packages"]):
        sha256 = item.get("sha256") if isinstance(item, dict) else None
        name = item.get("file_name") if isinstance(item, dict) else None
        if not (isinstance(sha256, str) and _SHA256.fullmatch(sha256) and isinstance(name, str)
                and _FILE_NAME.fullmatch(name) and name not in (".", "..")):  # fmt: skip
            shown = repr(item)[:120]
            raise PackError(
                f"{where}: packages[{i}] must be {{sha256: 64 hex digits, file_name: a plain "
                f"file name}}, not {shown}",
                path=source,
            )
    return manifest


def _import_archive(
    tar: tarfile.TarFile, member: tarfile.TarInfo, expected: dict, store: Store, source: Path
) -> None:
    parts = member.name.split("/")
    if len(parts) != 3 or expected.get(parts[1]) != parts[2]:
        raise PackError(f"{source}: unexpected member {member.name}", path=source)
    sha256, file_name = parts[1], parts[2]
    if store.find_archive(sha256):
        return
    src = tar.extractfile(member)
    assert src is not None  # a regular file

    def copy(tmp: Path) -> None:
        with open(tmp, "wb") as out:
            shutil.copyfileobj(src, out, 1 << 20)

    actual = store.add_archive(sha256, file_name, copy)
    if actual != sha256:
        raise HydrateError(
            f"{source}: {file_name} is damaged: sha256 {actual}, the lock expects {sha256}",
            package=file_name,
        )
