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
import re
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import IO, Any

import rattler

from amber._auth import in_query, remember, requirement_with_credentials
from amber._conda_client import conda_client
from amber._fs import remove_tree, scratch_file, walk_tree, write_atomic
from amber._platform import host_platform
from amber._progress import Progress
from amber._python import find_interpreter
from amber._urls import redact_text
from amber._uv import UvFailed, run_uv
from amber.channels import VARIABLE, expand_vars
from amber.errors import ConfigError, HydrateError
from amber.hydrate.scripts import run_link_scripts, settle_clobbers, show_prelink_messages
from amber.lock import Lock, LockedConda, LockedPypi, PlatformLock
from amber.store import Store, inuse, pkgcache
from amber.store.env import Activation, Env, capture_activation
from amber.store.fetch import (
    Package,
    copy_bounded,
    download_archives,
    open_local_archive,
)

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None  # type: ignore[assignment]

__all__ = ["hydrate", "existing_env", "repair"]

_FICLONE = 0x40049409  # Linux: make the destination a reflink (copy on write) of the source


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
    prefix: Path | None = None,
) -> Env:
    """The env for ``lock`` on this host, built if needed; concurrent callers share one build.

    Packages in the store's archive store are installed from there (sha256 checked);
    ``fetch`` (e.g. a remote store) is first asked for the ones missing from it. With
    ``prefix`` (conda's ``-p``), the env is built at that path instead, tracked in the index.
    """
    progress = progress or Progress(quiet=True)
    packages = lock.for_platform(host_platform())
    if prefix is not None:
        return _hydrate_prefix(lock, packages, store, Path(prefix), name, progress, fetch)
    env = existing_env(lock, store)
    if env is not None:
        return env
    _channel_tokens(lock, packages, store)
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
                pinned: list[Package] = [*packages.conda, *_archived(packages.pypi)]
                missing = [p for p in pinned if not store.find_archive(p.sha256)]
                if missing:
                    fetch(missing)
            _build(env, lock, packages, store, progress)
        except BaseException:
            _discard(env.path)
            raise
    store.record_env(lock.full_id, env.path, name, _size(env.path))
    return env


_TOKEN_SEGMENT = re.compile(r"/t/[^/]+(?=/|$)")


def _channel_tokens(lock: Lock, packages: PlatformLock, store: Store) -> None:
    """The credentials of the lock's ``https://host/t/${VAR}/chan`` channels, from the
    environment, in memory for this process's downloads (the lock records the variable,
    never its value); ``ConfigError`` naming the variable and the entries that need it,
    when it is unset and a package of that channel is not in the store yet."""
    for channel in lock.spec.channels:
        if not VARIABLE.search(channel):
            continue
        base = _TOKEN_SEGMENT.sub("", channel, count=1).rstrip("/") + "/"
        try:
            remember(expand_vars(channel, store.network.variables))
        except ConfigError as exc:
            needed = [
                p for p in packages.conda
                if p.url.startswith(base) and not store.find_archive(p.sha256)
            ]  # fmt: skip
            if needed:
                entries = ", ".join(f"{packages.platform} conda {p.name}" for p in needed)
                raise ConfigError(
                    f"{exc} The lock {lock.full_id[:12]} needs it to download: {entries}.",
                    key=exc.key,
                    channel=exc.channel,
                ) from None


def _hydrate_prefix(
    lock: Lock,
    packages: PlatformLock,
    store: Store,
    prefix: Path,
    name: str | None,
    progress: Progress,
    fetch: Callable[[list[Package]], None] | None,
) -> Env:
    """The env of ``lock`` at ``prefix``, built in place (conda prefixes embed their path)
    under the prefix's own in-use lock; an env Amber made there for another lock is replaced,
    refused while a process uses it; anything else there is refused, never overwritten."""
    prefix = _checked_prefix(prefix, store)
    env = Env(lock.full_id, prefix)
    tracked = {r.path for r in store.prefix_envs()}
    if env.is_complete():  # nothing to do; processes may be running in it
        store.record_prefix(prefix, lock.full_id, name, _size(prefix))
        return env
    _channel_tokens(lock, packages, store)
    lock_file = store.in_use_lock(prefix, lock.full_id)
    lock_file.parent.mkdir(parents=True, exist_ok=True)
    # Another env there may be in use: refused at once. Nothing complete there: a build
    # by another process may be under way, and this one waits for it.
    with inuse.exclusive(lock_file, wait=Env.at(prefix) is None) as got:
        if not got:
            raise HydrateError(
                f"the env at {prefix} is in use by a running process: it cannot be updated "
                "to another lock now; try again when it has finished",
                prefix=prefix,
            )
        if env.is_complete():  # built by the process this one waited for
            store.record_prefix(prefix, lock.full_id, name, _size(prefix))
            return env
        if prefix.exists():
            old = Env.at(prefix)
            if old is None and prefix not in tracked and any(prefix.iterdir()):
                raise HydrateError(
                    f"{prefix} exists and is not an env Amber made (it is a non-empty "
                    "directory): Amber will not write over it; choose another prefix or "
                    "empty it first",
                    prefix=prefix,
                )
            if old is not None or prefix in tracked:
                what = f"env {old.full_id[:12]}" if old else "incomplete env"
                progress.message(f"Replacing the {what} at {prefix} with env {lock.full_id[:12]}")
                # Unmarked first: a crash halfway leaves an incomplete env, rebuilt next time.
                Env(old.full_id if old else lock.full_id, prefix).marker.unlink(missing_ok=True)
            store.record_prefix(prefix, lock.full_id, name, None)  # ours from here on
            _empty(prefix)
        else:
            store.record_prefix(prefix, lock.full_id, name, None)
        try:
            if fetch is not None:
                pinned: list[Package] = [*packages.conda, *packages.pypi]
                missing = [p for p in pinned if not store.find_archive(p.sha256)]
                if missing:
                    fetch(missing)
            _build(env, lock, packages, store, progress)
        except BaseException:
            _discard(prefix)
            store.forget_prefix(prefix)
            raise
    store.record_prefix(prefix, lock.full_id, name, _size(prefix))
    return env


def _checked_prefix(prefix: Path, store: Store) -> Path:
    """``prefix`` made absolute, refused when it is a file or inside the store."""
    prefix = Path(os.path.abspath(prefix.expanduser()))
    if prefix.is_file() or (prefix.is_symlink() and not prefix.is_dir()):
        raise HydrateError(
            f"the prefix {prefix} is a file, not a directory: choose another path",
            prefix=prefix,
        )
    home = Path(os.path.realpath(store.home))
    real = Path(os.path.realpath(prefix))
    if real == home or home in real.parents:
        raise HydrateError(
            f"the prefix {prefix} is inside the Amber store ({store.home}), which Amber "
            "manages itself: choose a path outside it",
            prefix=prefix,
        )
    return prefix


def _empty(prefix: Path) -> None:
    """Remove what is inside ``prefix`` (Amber's own env there), keeping the directory."""
    for entry in os.scandir(prefix):
        path = Path(entry.path)
        if entry.is_dir(follow_symlinks=False):
            remove_tree(path)
        else:
            path.unlink()


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
            _install_pypi(env, packages, store, progress, base=lock.base)
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
    prefix: Path,
    lock: Lock,
    packages: PlatformLock,
    store: Store,
    progress: Progress,
    reinstall: set[str] | None = None,
) -> None:
    """Link the lock's conda packages into ``prefix``; with ``reinstall``, into an existing
    env, linking those packages again (from cache entries checked byte for byte)."""
    local = _local(packages.conda, store)
    fresh = _check_cache(local, store, progress, suspect=reinstall or set())
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
                    installed_packages=None if reinstall else [],
                    reinstall_packages=reinstall or None,
                    execute_link_scripts=False,
                    show_progress=False,
                    client=conda_client(store.network),
                    reporter=reporter,
                    requested_specs=requested or None,
                    config=_link_config(store, prefix, progress),
                )
            )
        except Exception as exc:
            raise HydrateError(
                f"cannot install the conda packages into {prefix}: {redact_text(str(exc))}",
                prefix=prefix,
            ) from None
    if not reinstall:  # a repair links files again; conda runs no scripts for that either
        show_prelink_messages(records, store.conda_pkgs, progress)
        settle_clobbers(prefix, records, progress)
        run_link_scripts(prefix, records, store.conda_pkgs, store.link_scripts, progress)
    for package in fresh:  # extracted just now from an archive of the lock's sha256
        if pkgcache.cached_sha256(store, package.file_name) == package.sha256:
            pkgcache.record_clean(store, package.file_name, package.sha256)


def _check_cache(
    packages: Sequence[LockedConda], store: Store, progress: Progress, suspect: set[str]
) -> list[LockedConda]:
    """The packages rattler will extract afresh. A cache entry whose stat fingerprint moved
    since it was last found clean (or one of a ``suspect`` package) is hashed against its
    ``paths.json``; an edited one (through a hardlink, in an env) is removed."""
    fresh = []
    for package in packages:
        name, sha256 = package.file_name, package.sha256
        if pkgcache.cached_sha256(store, name) != sha256:
            fresh.append(package)
            continue
        if package.name not in suspect and pkgcache.is_clean(store, name, sha256):
            continue
        entry = pkgcache.entry_of(store, name)
        damaged = pkgcache.damaged_files(entry)
        if not damaged:
            pkgcache.record_clean(store, name, sha256)
            continue
        more = f" and {len(damaged) - 1} more" if len(damaged) > 1 else ""
        progress.message(
            f"The package cache's copy of {entry.name} was edited in place ({damaged[0]}{more}), "
            "most likely through a hardlink from an env: extracting it again from its archive"
        )
        pkgcache.discard(store, name)
        fresh.append(package)
    return fresh


def _link_config(store: Store, prefix: Path, progress: Progress) -> rattler.Config | None:
    """rattler's link preferences for the store's link mode (``None``: hardlinks, its default)."""
    if store.link_mode == "hardlink":
        return None
    reflink = store.link_mode == "reflink"
    if reflink and not _can_reflink(store.conda_pkgs, prefix.parent):
        progress.message(
            f"Note: AMBER_LINK_MODE=reflink, but {prefix.parent} cannot hold reflinks of the "
            f"package cache {store.conda_pkgs} (no copy-on-write filesystem there): the env's "
            "files are copies instead."
        )
    return rattler.Config.from_toml(
        "allow-hard-links = false\nallow-symbolic-links = false\n"
        f"allow-ref-links = {'true' if reflink else 'false'}\n"
    )


def _can_reflink(source_dir: Path, target_dir: Path) -> bool:
    """Whether a file in ``source_dir`` can be reflinked into ``target_dir`` (Linux's FICLONE;
    elsewhere rattler finds out on its own)."""
    if fcntl is None or not sys.platform.startswith("linux"):
        return True
    source_dir.mkdir(parents=True, exist_ok=True)
    target_dir.mkdir(parents=True, exist_ok=True)
    with (
        tempfile.TemporaryFile(dir=source_dir) as source,
        tempfile.TemporaryFile(dir=target_dir) as target,
    ):
        source.write(b"amber")
        source.flush()
        try:
            fcntl.ioctl(target.fileno(), _FICLONE, source.fileno())
        except OSError:
            return False
    return True


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
            or pkgcache.cached_sha256(store, package.file_name) == package.sha256
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


def _install_pypi(
    env: Env,
    packages: PlatformLock,
    store: Store,
    progress: Progress,
    reinstall: set[str] | None = None,
    base: Path | None = None,
) -> None:
    """uv installs the lock's PyPI packages, then its local projects (``-e ./path``, from
    ``base``); ``reinstall`` ones again, after uv's cache forgot them (an in-place edit
    through a hardlink changed its copy too)."""
    # A ?token= would stay in uv's cache and the env's direct_url.json: fetch those first.
    archived = _archived(packages.pypi)
    download_archives([p for p in archived if in_query(p.url)], store)
    local = _local(sorted(archived, key=lambda p: p.name), store)
    for package in local:
        if package.url.startswith("file://") and not store.find_archive(package.sha256):
            open_local_archive(package).close()  # uv reads it: only a regular package file
    # Credentials (kept in memory, or in rattler's storage) reach uv only through this
    # private temporary file.
    lines = [requirement_with_credentials(p.requirement_line()) for p in local]
    # A git commit has no file to hash: installed apart, from exactly that commit.
    commits = [p for p in packages.pypi if p.commit is not None]
    git_lines = [requirement_with_credentials(p.requirement_line()) for p in commits]
    # Local projects last, as conda runs `pip install -e ./path` after the rest; a repair
    # leaves them alone (verify does not check their source).
    local = [] if reinstall else [p for p in packages.pypi if p.path is not None]
    local_lines = [f"{'-e ' if p.editable else ''}{_project_dir(p, base, env)}" for p in local]
    count = len(lines) + len(git_lines) + len(local_lines)
    try:
        if reinstall:
            asyncio.run(run_uv(["cache", "clean", *sorted(reinstall)], cache_dir=store.uv_cache))
        with progress.task(f"Installing {count} PyPI packages"):
            if lines:
                urls = [p.url for p in local]
                _uv_install(env, store, lines, ["--require-hashes"], reinstall, urls)
            if git_lines:
                urls = [p.url for p in commits]
                _uv_install(env, store, git_lines, [], reinstall, urls)
            if local_lines:
                _uv_install(env, store, local_lines, [], reinstall, [], offline_first=False)
    except UvFailed as exc:
        raise HydrateError(
            f"cannot install the PyPI packages into {env.path}:\n{redact_text(str(exc))}",
            prefix=env.path,
        ) from None
    if store.link_mode == "hardlink" and not reinstall:
        edited = _edited_in_uv_cache(env, packages, store, progress)
        if edited:
            _install_pypi(env, packages, store, progress, reinstall=edited)


def _archived(pypi: Sequence[LockedPypi]) -> list[LockedPypi]:
    """The PyPI entries that pin a file (not a git commit, not a local project)."""
    return [p for p in pypi if p.is_archive]


def _project_dir(package: LockedPypi, base: Path | None, env: Env) -> Path:
    """Where a local project of the lock is: its path under the spec's folder; the
    ``HydrateError`` names the entry when there is no such folder."""
    if base is None:
        raise HydrateError(
            f"the lock installs {package.name} from the local project {package.path} (relative "
            "to its spec file), and this lock came without one (from the store, a remote or a "
            "run record): install it from the spec or lock file in the project's checkout",
            prefix=env.path,
        )
    directory = (base / (package.path or ".")).resolve()
    if not directory.is_dir():
        raise HydrateError(
            f"the lock installs {package.name} from the local project {package.path}, and "
            f"{directory} is not a directory: check the project out there, or re-lock",
            prefix=env.path,
        )
    return directory


def _uv_install(
    env: Env,
    store: Store,
    lines: Sequence[str],
    extra: Sequence[str],
    reinstall: set[str] | None,
    urls: Sequence[str],
    *,
    offline_first: bool = True,
) -> None:
    """``uv pip install`` of exactly ``lines`` (through a private temporary file), its
    downloads of ``urls`` through the store's network settings."""
    fd, reqs = scratch_file("reqs", ".txt")
    with os.fdopen(fd, "w") as f:
        f.write("\n".join(lines) + "\n")
    base = ["pip", "install", "--python", str(env.python), "--no-deps", *extra]
    base += ["--quiet", "-r", reqs]
    if store.link_mode != "hardlink":
        base += ["--link-mode", "copy" if store.link_mode == "copy" else "clone"]
    for name in sorted(reinstall or ()):
        base += ["--reinstall-package", name]
    try:
        # Offline first: with every wheel (or commit) in uv's cache, no network at all. A
        # local project is built each time (its build backend may need the index).
        offline = True
        if offline_first:
            try:
                asyncio.run(run_uv([*base, "--offline"], cache_dir=store.uv_cache))
            except UvFailed:
                offline = False
        if not offline_first or not offline:
            asyncio.run(run_uv(base, cache_dir=store.uv_cache, network=store.network, urls=urls))
    finally:
        os.unlink(reqs)


def _edited_in_uv_cache(
    env: Env, packages: PlatformLock, store: Store, progress: Progress
) -> set[str]:
    """The PyPI packages whose files, hardlinked from uv's cache, are not what their wheel's
    RECORD says (edited in place through another env): their cache entries must go."""
    records: dict[str, Path] = {}
    for site in env.path.glob("lib/python*/site-packages"):
        for found in site.glob("*.dist-info/RECORD"):
            name = found.parent.name.removesuffix(".dist-info").rsplit("-", 1)[0]
            records[_normalise(name)] = found
    edited = set()
    for package in packages.pypi:
        if package.path is not None:
            continue  # a local project: its files are the checkout's, not a cache's
        record = records.get(_normalise(package.name))
        if record is None:
            continue
        site = record.parent.parent
        files = [(site / rel, sha) for rel, sha, _ in pkgcache.wheel_files(record) if sha]
        # A git commit's wheel is uv's build: named by the commit where a file has a sha256.
        key = package.sha256 or hashlib.sha256(package.identity().encode()).hexdigest()
        if not pkgcache.shared_files_clean(store, key, files):
            progress.message(
                f"uv's cached copy of {package.name} was edited in place, most likely through a "
                "hardlink from an env: installing it again from its wheel"
            )
            edited.add(_normalise(package.name))
    return edited


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def repair(
    env: Env,
    store: Store,
    *,
    conda: set[str],
    pypi: set[str],
    remove: Sequence[str],
    progress: Progress | None = None,
) -> None:
    """Restore ``env`` to its lock: files no package owns (``remove``, relative) go, and the
    named conda and PyPI packages are linked again from clean cache entries."""
    progress = progress or Progress(quiet=True)
    lock = Lock.read(env.lock_file)
    packages = lock.for_platform(host_platform())
    lock_file = store.in_use_lock(env.path, lock.full_id)
    lock_file.parent.mkdir(parents=True, exist_ok=True)
    with inuse.exclusive(lock_file):
        for rel in remove:
            path = env.path / rel
            if path.is_symlink() or path.is_file():
                path.unlink()
            elif path.exists():
                remove_tree(path)
        if conda:
            _install_conda(env.path, lock, packages, store, progress, reinstall=conda)
        if pypi:
            _install_pypi(env, packages, store, progress, reinstall=pypi)


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
