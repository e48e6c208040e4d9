"""pixi's lock file (``pixi.lock``), written and read with rattler's ``LockFile`` API:
environment ``default``, every platform, conda and PyPI packages.

rattler 0.28's ``add_pypi_package`` takes no hash, so the PyPI sha256s are added to the
written file (the ``sha256:`` key pixi itself writes) and the file is passed through
rattler once more, which reads them and writes its canonical form.
"""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path
from typing import Any

from packaging.utils import canonicalize_name
from rattler import Channel, LockChannel, LockFile, LockPlatform

from amber._fs import scratch_dir
from amber._input import read_input
from amber.errors import AmberError, LockFileError
from amber.formats import Exported, ExportOptions, git_lost, platforms_lost
from amber.formats._conda_meta import (
    channel_of,
    imported_lock,
    lock_channels,
    python_of,
    same_channel,
)
from amber.lock import Lock, LockedConda, LockedPypi, PlatformLock

__all__ = ["NAME", "SUFFIX", "WHOLE", "ENVIRONMENT", "export", "detect", "read"]

NAME = "pixi"
SUFFIX = ".lock"
WHOLE = True
ENVIRONMENT = "default"


def export(lock: Lock, options: ExportOptions) -> Exported:
    names = sorted(dict.fromkeys(options.platforms)) or sorted(lock.platforms)
    bodies = [lock.for_platform(name) for name in names]
    platforms = {b.platform: LockPlatform(b.platform, virtual_packages=list(b.virtual_packages))
                 for b in bodies}  # fmt: skip
    lock_file = LockFile(list(platforms.values()))
    channels = [_channel_url(c, bodies) for c in lock_channels(lock.spec.channels, bodies)]
    lock_file.set_channels(ENVIRONMENT, [LockChannel(c) for c in channels])
    hashes: dict[str, str] = {}
    for body in bodies:
        for c in body.conda:
            lock_file.add_conda_package(ENVIRONMENT, platforms[body.platform], c.to_record())
        for w in (w for w in body.pypi if w.is_archive):
            url = w.url.split("#", 1)[0]
            lock_file.add_pypi_package(
                ENVIRONMENT, platforms[body.platform], w.name, w.version, url
            )
            hashes[url] = w.sha256
    with scratch_dir("pixi") as tmp:
        path = Path(tmp) / "pixi.lock"
        lock_file.to_path(path)
        if hashes:
            path.write_text(_with_hashes(path.read_text(encoding="utf-8"), hashes))
            written = LockFile.from_path(path)
            _check_hashes(written, hashes)
            written.to_path(path)  # rattler's canonical text
        text = path.read_text(encoding="utf-8")
    lost = [
        "pixi also needs a pixi.toml (the spec): only the lock is written",
    ]
    if hashes:
        lost.append(
            "the PyPI packages' requirements (requires_dist, requires_python) and the PyPI "
            "index are not recorded"
        )
    if any(body.provided for body in bodies):
        lost.append("which conda package provides which PyPI distribution is not carried")
    lost += platforms_lost(lock, names) + git_lost(lock, names, "Amber's pixi.lock export")
    return Exported(text=text, lost=tuple(lost))


def _channel_url(channel: str, bodies: list[PlatformLock]) -> str:
    """pixi records channels by URL, with a trailing slash: a name becomes the URL its
    packages came from (or rattler's default for it)."""
    if "://" not in channel:
        urls = (c.channel for b in bodies for c in b.conda if same_channel(channel, c.channel))
        channel = next(urls, None) or str(Channel(channel).base_url)
    return channel.rstrip("/") + "/"


def _with_hashes(text: str, hashes: dict[str, str]) -> str:
    """Add ``sha256:`` to each PyPI package entry (``- pypi: URL`` in ``packages:``)."""
    out = []
    pending: str | None = None
    for line in text.splitlines():
        if pending is not None and not line.startswith("  "):
            out.append(f"  sha256: {pending}")
            pending = None
        out.append(line)
        match = re.match(r"^- pypi: (\S+)$", line)
        if match and match[1] in hashes:
            pending = hashes[match[1]]
    if pending is not None:
        out.append(f"  sha256: {pending}")
    return "\n".join(out) + "\n"


def _check_hashes(lock_file: Any, hashes: dict[str, str]) -> None:
    """Every PyPI package of the written file must carry its sha256 (rattler read them)."""
    env = lock_file.environment(ENVIRONMENT)
    for packages in env.pypi_packages().values():
        for package in packages:
            got = package._package.hashes
            if got is None or got.sha256 is None or got.sha256.hex() != hashes[package.location]:
                raise AmberError(f"pixi: could not record the sha256 of {package.location}")


def detect(path: Path, head: str) -> bool:
    return bool(
        re.match(r"version:\s*\d+\s*\n", head)
        and re.search(r"^environments:\s*$", head, re.MULTILINE)
    )


def read(path: Path) -> Lock:
    """Environment ``default`` (or the only one) of a pixi.lock."""
    path = Path(path)
    read_input(
        path, lambda message: LockFileError(f"{path}: {message}", path=path)
    )  # a regular file of UTF-8 text, else refused by name
    try:
        lock_file = LockFile.from_path(path)
    except Exception as exc:  # rattler's own parse errors
        message = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise LockFileError(
            f"{path}: not a pixi.lock rattler can read: {message}", path=path
        ) from None
    environments = dict(lock_file.environments())
    if ENVIRONMENT in environments:
        env = environments[ENVIRONMENT]
    elif len(environments) == 1:
        env = next(iter(environments.values()))
    else:
        raise LockFileError(
            f"{path}: no environment 'default' (it has: {', '.join(sorted(environments))})",
            path=path,
        )
    try:
        records = env.conda_repodata_records()
    except Exception as exc:  # source packages have no record until built
        raise LockFileError(f"{path}: cannot import its conda packages: {exc}", path=path) from None
    pypi = env.pypi_packages()
    bodies = []
    for platform in env.platforms():
        name = platform.name
        conda = tuple(_conda(r, path) for r in records.get(name, []))
        bodies.append(
            PlatformLock(
                platform=name,
                python=python_of(conda),
                virtual_packages=tuple(platform.virtual_packages),
                conda=conda,
                pypi=tuple(_pypi(p, path) for p in pypi.get(name, [])),
            )
        )
    channels = [str(c).rstrip("/") for c in env.channels()]
    return imported_lock(bodies, channels)


def _conda(record: Any, path: Path) -> LockedConda:
    try:
        package = LockedConda.from_record(record)
    except LockFileError as exc:
        raise LockFileError(f"{path}: {exc}", path=path) from None
    if not package.channel:  # pixi may leave it out; the URL says it
        package = replace(package, channel=channel_of(package.url))
    return package


def _pypi(package: Any, path: Path) -> LockedPypi:
    location = str(package.location)
    url, _, fragment = location.partition("#")
    if "://" not in url:  # a local path, relative to the lock
        local = (path.parent / url).resolve()
        if not local.name.endswith((".whl", ".tar.gz", ".zip")):
            raise LockFileError(
                f"{path}: the PyPI package {package.name} is the source tree {url}: "
                "Amber locks only wheel and sdist files",
                path=path,
            )
        url = local.as_uri()
    hashes = package._package.hashes  # the public wrapper fails when there are none
    sha256 = hashes.sha256.hex() if hashes is not None and hashes.sha256 else None
    if sha256 is None and fragment.startswith("sha256="):
        sha256 = fragment.removeprefix("sha256=")
    if sha256 is None:
        raise LockFileError(
            f"{path}: the PyPI package {package.name} has no sha256: Amber locks only hashed files",
            path=path,
        )
    return LockedPypi(
        name=canonicalize_name(package.name),
        version=str(package.version),
        url=url,
        sha256=sha256.lower(),
    )
