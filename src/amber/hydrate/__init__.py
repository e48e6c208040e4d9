"""Materialise a lock into an env: rattler for conda, uv for PyPI, in place, under a lock.

An env is built where it will live (conda prefixes embed their own path), under
an exclusive file lock, and is complete only once its marker is written, last.
An incomplete directory found under the lock is the wreck of a killed build:
it is removed and built again.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import hashlib
import os
import stat
import tempfile
import time
import urllib.request
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import IO, Any
from urllib.parse import unquote, urlsplit

import rattler

from amber._fs import remove_tree, walk_tree
from amber._platform import host_platform
from amber._progress import Progress
from amber._python import find_interpreter
from amber._uv import UvFailed, run_uv
from amber.errors import HydrateError
from amber.lock import Lock, LockedConda, LockedPypi, PlatformLock
from amber.store import Store, inuse
from amber.store.env import Env, capture_activation

__all__ = [
    "hydrate", "existing_env", "download_archives", "Package", "local_archive_path",
    "open_local_archive",
]  # fmt: skip


def existing_env(lock: Lock, store: Store) -> Env | None:
    """The complete env for ``lock`` if there is one (no lock taken, no work done)."""
    env = Env(lock.full_id, store.env_path(lock.full_id))
    return env if env.is_complete() else None


Package = LockedConda | LockedPypi


def hydrate(
    lock: Lock,
    store: Store,
    *,
    name: str | None = None,
    progress: Progress | None = None,
    fetch: Callable[[list[Package]], None] | None = None,
) -> Env:
    """The env for ``lock`` on this host, built if needed; concurrent callers share one build.

    Packages in the store's archive store are installed from there (sha256 checked);
    ``fetch`` (e.g. a remote store) is first asked for the ones missing from it.
    """
    progress = progress or Progress(quiet=True)
    packages = lock.for_platform(host_platform())
    env = existing_env(lock, store)
    if env is not None:
        return env
    env = Env(lock.full_id, store.env_path(lock.full_id))
    lock_file = store.env_lock_path(lock.full_id)
    lock_file.parent.mkdir(parents=True, exist_ok=True)
    with inuse.exclusive(lock_file):
        if env.is_complete():  # another process built it while we waited
            return env
        if env.path.exists():
            progress.message(f"Removing the incomplete env {env.path} left by an earlier build")
            remove_tree(env.path)
        try:
            if fetch is not None:
                pinned: list[Package] = [*packages.conda, *packages.pypi]
                missing = [p for p in pinned if not store.find_archive(p.sha256)]
                if missing:
                    fetch(missing)
            _build(env, lock, packages, store, progress)
        except BaseException:
            _discard(env.path)
            raise
    store.record_env(lock.full_id, env.path, name, _size(env.path))
    return env


def _build(env: Env, lock: Lock, packages: PlatformLock, store: Store, progress: Progress) -> None:
    if packages.conda:
        _install_conda(env.path, lock, packages, store, progress)
    else:
        _create_venv(env.path, packages, store, progress)
    # Activation comes from the conda packages alone: capture it while uv installs.
    with ThreadPoolExecutor(max_workers=1) as pool:
        activation = pool.submit(capture_activation, env.path, conda=bool(packages.conda))
        if packages.pypi:
            _install_pypi(env, packages, store, progress)
        env.meta.mkdir(parents=True, exist_ok=True)
        env.write_activation(activation.result())
    lock.write(env.lock_file)
    env.mark_complete()


def _install_conda(
    prefix: Path, lock: Lock, packages: PlatformLock, store: Store, progress: Progress
) -> None:
    local = _local(packages.conda, store)
    _verify_local_archives(local, store)
    records = [p.to_record() for p in local]
    requested = []
    for text in lock.spec.conda:
        try:
            requested.append(rattler.MatchSpec(text)._match_spec)
        except Exception:
            continue  # only decorates conda-meta; never fail an install over it
    description = f"Installing {len(records)} conda packages"
    with progress.installer(description, len(records)) as reporter:
        try:
            asyncio.run(
                rattler.install(
                    records,
                    target_prefix=prefix,
                    cache_dir=store.conda_pkgs,
                    installed_packages=[],
                    execute_link_scripts=False,
                    show_progress=False,
                    reporter=reporter,
                    requested_specs=requested or None,
                )
            )
        except Exception as exc:
            raise HydrateError(
                f"cannot install the conda packages into {prefix}: {exc}", prefix=prefix
            ) from None


def _local(packages: Sequence[Package], store: Store) -> list[Any]:
    """The packages, pointing at the store's archive copy where it has one."""
    out = []
    for package in packages:
        archive = store.find_archive(package.sha256)
        out.append(dataclasses.replace(package, url=archive.as_uri()) if archive else package)
    return out


def download_archives(packages: Sequence[Package], store: Store) -> None:
    """Put each package's archive into the store's archive store from its own URL
    (file:// or http(s)), checking its sha256; never more bytes than the lock's size."""

    def fetch(package: Package, tmp: Path) -> None:
        limit = package.size if isinstance(package, LockedConda) else None
        if package.url.startswith("file://"):
            source = open_local_archive(package)
        else:
            source = urllib.request.urlopen(package.url, timeout=120)
        with source, open(tmp, "wb") as out:
            _copy_bounded(source, out.write, limit, package)

    for package in packages:
        if store.find_archive(package.sha256):
            continue
        try:
            actual = store.add_archive(
                package.sha256, package.file_name, functools.partial(fetch, package)
            )
        except OSError as exc:
            raise HydrateError(
                f"cannot download {package.file_name} from {package.url}: {exc}",
                package=package.file_name,
            ) from None
        if actual != package.sha256:
            raise HydrateError(
                f"hash mismatch for {package.file_name} from {package.url}: the lock expects "
                f"sha256 {package.sha256}, the file has {actual}",
                package=package.file_name,
            )


def _copy_bounded(
    source: IO[bytes], write: Callable[[bytes], object], limit: int | None, package: Package
) -> None:
    """Hand the bytes of ``source`` to ``write``, refusing (and stopping) past ``limit``."""
    copied = 0
    while chunk := source.read(1 << 20):
        copied += len(chunk)
        if limit is not None and copied > limit:
            raise _too_large(package, limit)
        write(chunk)


def _too_large(package: Package, limit: int) -> HydrateError:
    return HydrateError(
        f"{package.file_name} at {package.url} is larger than the {limit} bytes its lock "
        "records: it is not the package the lock pins. Nothing was installed from it; "
        "restore the package or re-lock with `amber lock`.",
        package=package.file_name,
    )


def local_archive_path(package: Package) -> Path:
    """The local file a ``file://`` package URL names, if a lock may make Amber read it.

    A lock may name only a package file of a conda channel directory: the URL is
    ``<channel>/<subdir>/<file name>``, with no ``..``, query or fragment, and the
    channel's ``<subdir>/repodata.json`` beside it. Anything else (a device, ``/etc/...``,
    a path leading out of the channel) is refused before it is opened, so no lock, local
    or pulled from a remote, makes Amber read an arbitrary local file.
    """
    parts = urlsplit(package.url)
    path = unquote(parts.path)
    allowed = not parts.query and not parts.fragment and parts.netloc in ("", "localhost")
    allowed = allowed and "/../" not in f"{path}/" and "/./" not in f"{path}/"
    allowed = allowed and path.rsplit("/", 1)[-1] == package.file_name
    if allowed and isinstance(package, LockedConda):
        channel = urlsplit(package.channel)
        root = unquote(channel.path).rstrip("/")
        allowed = (
            channel.scheme == "file" and path == f"{root}/{package.subdir}/{package.file_name}"
        )
        allowed = allowed and os.path.isfile(f"{root}/{package.subdir}/repodata.json")
    elif allowed:
        allowed = package.file_name.endswith((".whl", ".tar.gz", ".zip"))
    if not allowed:
        raise HydrateError(
            f"the lock names {package.file_name} at {package.url}, which is not a package "
            "file of a local conda channel (<channel>/<subdir>/<file> beside its "
            "repodata.json): Amber reads no other local file a lock names. Nothing was read "
            "from it; re-lock with `amber lock` against the channel that has the package.",
            package=package.file_name,
        )
    return Path(path)


def open_local_archive(package: Package) -> IO[bytes]:
    """The ``file://`` archive of ``package``, opened for reading: only a regular file
    (never a device or a FIFO, which are not even opened blocking), no larger than the
    lock's size."""
    path = local_archive_path(package)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0))
    except OSError as exc:
        raise HydrateError(
            f"cannot read {package.file_name} at {path}: {exc.strerror}",
            package=package.file_name,
        ) from None
    info = os.fstat(fd)
    limit = package.size if isinstance(package, LockedConda) else None
    problem = None
    if not stat.S_ISREG(info.st_mode):
        problem = HydrateError(
            f"{package.file_name} at {path} is not a regular file: Amber reads no device, "
            "FIFO or directory a lock names. Nothing was read from it.",
            package=package.file_name,
        )
    elif limit is not None and info.st_size > limit:
        problem = _too_large(package, limit)
    if problem is not None:
        os.close(fd)
        raise problem
    os.set_blocking(fd, True)
    return os.fdopen(fd, "rb")


def _verify_local_archives(packages: Sequence[LockedConda], store: Store) -> None:
    """Check the sha256 of every ``file://`` archive rattler would extract: rattler checks
    downloads only, and reuses its cache entry only when that records the lock's sha256."""
    for package in packages:
        if (
            not package.url.startswith("file://")
            or _cached_sha256(store, package) == package.sha256
        ):
            continue
        archive = store.find_archive(package.sha256)
        if archive is not None and package.url == archive.as_uri():
            source: IO[bytes] = open(archive, "rb")  # written by Amber, named by its sha256
        else:
            source = open_local_archive(package)
        digest = hashlib.sha256()
        with source:
            try:
                _copy_bounded(source, digest.update, package.size, package)
            except OSError as exc:
                raise HydrateError(
                    f"cannot read {package.file_name} at {package.url}: {exc.strerror}",
                    package=package.file_name,
                ) from None
        if digest.hexdigest() != package.sha256:
            raise HydrateError(
                f"hash mismatch for {package.file_name}: the lock expects sha256 "
                f"{package.sha256}, the file at {package.url} has {digest.hexdigest()}. The "
                "channel changed since the lock was made: restore the package, or re-lock with "
                "`amber lock`.",
                package=package.file_name,
            )


def _cached_sha256(store: Store, package: LockedConda) -> str | None:
    """The sha256 rattler's package cache records for its entry of ``package`` (the
    ``<name>-<version>-<build>.lock`` file beside it: a revision, then the sha256)."""
    stem = package.file_name.removesuffix(".conda").removesuffix(".tar.bz2")
    try:
        with open(store.conda_pkgs / f"{stem}.lock", "rb") as f:
            data = f.read(41)
    except OSError:
        return None
    if len(data) != 40 or not (store.conda_pkgs / stem).is_dir():
        return None
    return data[8:].hex()


def _create_venv(prefix: Path, packages: PlatformLock, store: Store, progress: Progress) -> None:
    interpreter = find_interpreter(packages.python or "3")
    with progress.task(f"Creating a Python {packages.python} env"):
        try:
            asyncio.run(
                run_uv(
                    ["venv", "--quiet", "--python", str(interpreter), str(prefix)],
                    cache_dir=store.uv_cache,
                )
            )
        except UvFailed as exc:
            raise HydrateError(
                f"cannot create a venv with {interpreter}: {exc}", prefix=prefix
            ) from None


def _install_pypi(env: Env, packages: PlatformLock, store: Store, progress: Progress) -> None:
    local = _local(sorted(packages.pypi, key=lambda p: p.name), store)
    for package in local:
        if package.url.startswith("file://") and not store.find_archive(package.sha256):
            open_local_archive(package).close()  # uv reads it: only a regular package file
    lines = [p.requirement_line() for p in local]
    fd, reqs = tempfile.mkstemp(prefix="amber-", suffix=".txt")
    with os.fdopen(fd, "w") as f:
        f.write("\n".join(lines) + "\n")
    base = ["pip", "install", "--python", str(env.python), "--no-deps", "--require-hashes"]
    base += ["--quiet", "-r", reqs]
    try:
        with progress.task(f"Installing {len(lines)} PyPI packages"):
            try:
                # Offline first: with every wheel in uv's cache, no network at all.
                asyncio.run(run_uv([*base, "--offline"], cache_dir=store.uv_cache))
            except UvFailed:
                asyncio.run(run_uv(base, cache_dir=store.uv_cache))
    except UvFailed as exc:
        raise HydrateError(
            f"cannot install the PyPI packages into {env.path}:\n{exc}", prefix=env.path
        ) from None
    finally:
        os.unlink(reqs)


def _discard(path: Path) -> None:
    """Remove a failed build. rattler may still be linking in background threads after it
    raised, so retry until the directory stays gone; a leftover is only ever incomplete."""
    for _ in range(50):
        try:
            remove_tree(path)
        except OSError:
            pass
        time.sleep(0.05)
        if not path.exists():
            return


def _size(path: Path) -> int:
    """Apparent size of the files under ``path`` (symlinks not followed)."""
    return sum(e.stat.st_size for e in walk_tree(path) if e.kind != "dir")
