"""The conda side of a hydrate: link a lock's conda packages into a prefix with py-rattler,
from package-cache entries checked clean (``amber.store.pkgcache``) and archives whose sha256
is the lock's. Imported only when a lock has conda packages: a PyPI-only hydrate never loads
rattler.
"""

from __future__ import annotations

import asyncio
import hashlib
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import IO

import rattler

from amber._conda_client import conda_client
from amber._progress import Progress
from amber._urls import redact_text
from amber.errors import HydrateError
from amber.hydrate.scripts import run_link_scripts, settle_clobbers, show_prelink_messages
from amber.lock import Lock, LockedConda, PlatformLock
from amber.store import Store, pkgcache
from amber.store.fetch import copy_bounded, local_copies, open_local_archive

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None  # type: ignore[assignment]

__all__ = ["install_conda"]

_FICLONE = 0x40049409  # Linux: make the destination a reflink (copy on write) of the source


def install_conda(
    prefix: Path,
    lock: Lock,
    packages: PlatformLock,
    store: Store,
    progress: Progress,
    reinstall: set[str] | None = None,
) -> None:
    """Link the lock's conda packages into ``prefix``; with ``reinstall``, into an existing
    env, linking those packages again (from cache entries checked byte for byte)."""
    local = local_copies(packages.conda, store)
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
