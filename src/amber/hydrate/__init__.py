"""Materialise a lock into an env: rattler for conda, uv for PyPI, in place, under a lock.

An env is built where it will live (conda prefixes embed their own path), under
an exclusive file lock, and is complete only once its marker is written, last.
An incomplete directory found under the lock is the wreck of a killed build:
it is removed and built again.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import json
import os
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import IO, Any

import rattler

from amber._fs import remove_tree, scratch_file, walk_tree, write_atomic
from amber._platform import host_platform
from amber._progress import Progress
from amber._python import find_interpreter
from amber._uv import UvFailed, run_uv
from amber.errors import HydrateError
from amber.lock import Lock, LockedConda, PlatformLock
from amber.store import Store, inuse
from amber.store.env import Activation, Env, capture_activation
from amber.store.fetch import (
    Package,
    copy_bounded,
    open_local_archive,
)

__all__ = ["hydrate", "existing_env"]


def existing_env(lock: Lock, store: Store) -> Env | None:
    """The complete env for ``lock`` if there is one (no lock taken, no work done)."""
    env = Env(lock.full_id, store.env_path(lock.full_id))
    return env if env.is_complete() else None


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
    variables = dict(lock.spec.variables)
    if variables and packages.conda:
        _write_env_vars(env.path, variables)
    # Activation comes from the conda packages alone: capture it while uv installs.
    with ThreadPoolExecutor(max_workers=1) as pool:
        activation = pool.submit(capture_activation, env.path, conda=bool(packages.conda))
        if packages.pypi:
            _install_pypi(env, packages, store, progress)
        env.meta.mkdir(parents=True, exist_ok=True)
        captured = activation.result()
        if variables:
            captured = Activation({**captured.set, **variables}, captured.path_prepend)
        env.write_activation(captured)
    lock.write(env.lock_file)
    env.mark_complete()


def _write_env_vars(prefix: Path, variables: dict[str, str]) -> None:
    """environment.yml's ``variables:`` where conda keeps them (``conda-meta/state``), so
    that ``conda activate`` and rattler's activation set them too."""
    state = prefix / "conda-meta" / "state"
    try:
        data = json.loads(state.read_text())
    except (OSError, ValueError):
        data = {}
    if not isinstance(data, dict):
        data = {}
    data["env_vars"] = {**(data.get("env_vars") or {}), **variables}
    write_atomic(state, json.dumps(data, indent=2, sort_keys=True) + "\n")


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
                copy_bounded(source, digest.update, package.size, package)
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
    fd, reqs = scratch_file("reqs", ".txt")
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
