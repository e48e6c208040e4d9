"""What the conda formats share: packages known only by URL and hash, completed from their
archives' ``info/index.json``, and the ``Lock`` an already-resolved file becomes.

Explicit files and conda-lock files name a conda package by URL and hash alone; installing
it right needs its metadata (``noarch: python`` packages are linked differently), so
``complete`` reads ``info/index.json`` from each archive: from disk for ``file://``, with
range requests for remote ``.conda`` files, from a download otherwise.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from rattler.package_streaming import PackageArchive, download_to_path

from amber._auth import remember
from amber._conda_client import conda_client
from amber._fs import scratch_dir
from amber._urls import redact, redact_text
from amber.errors import LockFileError, SourceError, SpecError
from amber.lock import Lock, LockedConda, PlatformLock
from amber.settings import Network
from amber.spec import Spec

__all__ = [
    "ArchiveRef", "complete", "imported_lock", "channel_of", "depends_names", "python_of",
    "lock_channels", "same_channel",
]  # fmt: skip

_HEX = re.compile(r"^[0-9a-f]+$")
_PARALLEL = 16  # archives read at once


@dataclass(frozen=True)
class ArchiveRef:
    """A conda archive named by URL (credentials allowed: only the redacted URL is kept)."""

    url: str
    sha256: str | None = None
    md5: str | None = None


def channel_of(url: str) -> str:
    """The channel of a package URL: the URL minus ``/<subdir>/<file>``."""
    return url.rsplit("/", 2)[0]


def lock_channels(spec_channels: Iterable[str], bodies: Iterable[PlatformLock]) -> list[str]:
    """The spec's channels (names or URLs, in priority order), then any channel a package
    came from that none of them names."""
    out = list(spec_channels)
    for body in bodies:
        for c in body.conda:
            if c.channel and not any(same_channel(s, c.channel) for s in out):
                out.append(c.channel)
    return out


def same_channel(channel: str, url: str) -> bool:
    """Whether ``channel`` (a name like ``conda-forge`` or a URL) is the channel at ``url``."""
    channel, url = channel.rstrip("/"), url.rstrip("/")
    return channel == url or ("://" not in channel and url.endswith("/" + channel))


def depends_names(depends: Iterable[str]) -> list[str]:
    """The package names of conda match specs (``libfoo >=2,<3`` -> ``libfoo``)."""
    return [re.split(r"[\s=<>!~\[]", d.strip(), maxsplit=1)[0] for d in depends]


def complete(
    refs: Sequence[ArchiveRef], source: object, network: Network | None = None
) -> list[LockedConda]:
    """A ``LockedConda`` per archive, metadata from its ``info/index.json``; a missing sha256
    is computed from the archive, and a given hash that the archive does not match is an
    error naming ``source``. Downloads go through ``network`` (mirrors, proxies, CA bundle)
    as resolve's and hydrate's do; the locked URL stays the one the file gives."""
    if not refs:
        return []
    return asyncio.run(_complete(refs, source, network or Network()))


async def _complete(
    refs: Sequence[ArchiveRef], source: object, network: Network
) -> list[LockedConda]:
    for ref in refs:  # credentials in the URLs: kept in memory, handed to the client
        if "://" in ref.url and not ref.url.startswith("file://"):
            remember(channel_of(ref.url.split("#", 1)[0]))
    client = conda_client(network)
    limit = asyncio.Semaphore(_PARALLEL)
    with scratch_dir("archives") as tmp:

        async def one(ref: ArchiveRef) -> LockedConda:
            async with limit:
                return await _read(client, ref, Path(tmp), source)

        unique = list(dict.fromkeys(refs))  # a noarch package is listed once per platform
        done = dict(zip(unique, await asyncio.gather(*(one(r) for r in unique)), strict=True))
        return [done[ref] for ref in refs]


async def _read(client: Any, ref: ArchiveRef, tmp: Path, source: object) -> LockedConda:
    url = ref.url.split("#", 1)[0]
    shown = redact(url)
    if not url.startswith("file://"):
        url = shown  # the client adds what authenticates it (remembered above)
    file_name = url.rsplit("/", 1)[-1]
    sha256, md5, size = _hex(ref.sha256, 64, shown, source), _hex(ref.md5, 32, shown, source), None
    try:
        if url.startswith("file://"):
            path = Path(unquote(urlsplit(url).path))
            if not path.is_file():
                raise LockFileError(f"{source}: {shown}: no such file", path=str(source))
            sha256, md5, size = _check(path, sha256, md5, shown, source)
            archive = await PackageArchive.from_path(path)
        elif sha256 is None:
            # Only an md5 (or nothing): the sha256 Amber pins needs the whole archive.
            path = tmp / file_name
            await download_to_path(client, url, path)
            sha256, md5, size = _check(path, sha256, md5, shown, source)
            archive = await PackageArchive.from_path(path)
        else:
            archive = await PackageArchive.from_url(client, url)
        index = await archive.index_json()
    except LockFileError:
        raise
    except Exception as exc:  # rattler raises OSError / its own errors for unreachable URLs
        message = redact_text((str(exc).strip().splitlines() or [type(exc).__name__])[0])
        raise SourceError(
            f"{source}: cannot read the package {shown}: {message}", url=shown
        ) from None
    return _locked(index, shown, sha256, md5, size, source)


def _hex(value: str | None, length: int, url: str, source: object) -> str | None:
    if value is None:
        return None
    value = value.strip().lower()
    if len(value) != length or not _HEX.match(value):
        raise LockFileError(f"{source}: {url}: malformed hash {value!r}", path=str(source))
    return value


def _check(
    path: Path, sha256: str | None, md5: str | None, url: str, source: object
) -> tuple[str, str, int]:
    """Hash a local archive; it must match the hashes the file gives."""
    sha, mdf = hashlib.sha256(), hashlib.md5()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            sha.update(chunk)
            mdf.update(chunk)
    for name, given, actual in (("sha256", sha256, sha.hexdigest()), ("md5", md5, mdf.hexdigest())):
        if given is not None and given != actual:
            raise LockFileError(
                f"{source}: hash mismatch for {url}: the file gives {name} {given}, the "
                f"archive has {actual}",
                path=str(source),
            )
    return sha.hexdigest(), mdf.hexdigest(), os.path.getsize(path)


def _locked(
    index: Any, url: str, sha256: str, md5: str | None, size: int | None, source: object
) -> LockedConda:
    package = LockedConda.from_metadata(
        index,
        subdir=index.subdir or url.rsplit("/", 2)[-2],
        url=url,
        channel=channel_of(url),
        sha256=sha256,
        md5=md5,
        size=size,
    )
    if not package.file_name.startswith(f"{package.name}-{package.version}-{package.build}."):
        raise LockFileError(
            f"{source}: {url} holds {package.name} {package.version} {package.build}, "
            "which its file name does not say",
            path=str(source),
        )
    return package


def imported_lock(platforms: Iterable[PlatformLock], channels: Sequence[str]) -> Lock:
    """The ``Lock`` of an already-resolved file: exactly its packages, and a spec that names
    every package it holds (the file does not say which ones were asked for)."""
    bodies = {p.platform: p for p in platforms}
    conda = {c.name for p in bodies.values() for c in p.conda if not c.name.startswith("__")}
    pypi = {w.name for p in bodies.values() for w in p.pypi}
    try:
        spec = Spec.create(
            conda=sorted(conda), pypi=sorted(pypi), channels=channels, platforms=sorted(bodies)
        )
    except SpecError as exc:
        raise LockFileError(f"cannot import: {exc}") from None
    if not conda:  # a PyPI-only env runs on the interpreter its spec names
        bodies = {
            name: PlatformLock(
                platform=name,
                python=body.python or spec.python_version,
                virtual_packages=body.virtual_packages,
                pypi=body.pypi,
                provided=body.provided,
            )
            for name, body in bodies.items()
        }
    return Lock(spec=spec, req_id=spec.req_id, platforms=bodies)


def python_of(conda: Iterable[LockedConda]) -> str | None:
    """The interpreter version a conda package set provides."""
    return next((c.version for c in conda if c.name == "python"), None)
