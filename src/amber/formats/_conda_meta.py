"""What the conda formats share: packages known by URL, hash and what the file says of
them, completed from their channel's repodata, and the ``Lock`` an already-resolved file
becomes.

Explicit files and conda-lock files name a conda package by URL and hash (conda-lock adds
name, version, build and dependencies); installing it right needs its metadata
(``noarch: python`` packages are linked differently, build numbers order builds). As conda
and pixi do, ``complete`` takes it from the channel's repodata (one query per channel and
subdir, not one read per archive); then from what the file itself says when that is enough
(a sha256, and a subdir that is not ``noarch``); an archive is opened only when neither
has it, and then read with the standard library's zip and tar readers (rattler's async zip
reader refuses real ``.conda`` archives that conda unpacks). A package none of them can
complete is refused, naming the entry and the reason.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
import os
import re
import tarfile
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast
from urllib.parse import unquote, urlsplit

import rattler
import zstandard
from rattler.package_streaming import download_to_path

from amber._auth import remember
from amber._conda_client import conda_client
from amber._fs import scratch_dir
from amber._urls import redact, redact_text
from amber.errors import LockFileError, SourceError, SpecError
from amber.lock import Lock, LockedConda, PlatformLock
from amber.settings import Network
from amber.spec import Spec

__all__ = [
    "ArchiveRef", "Given", "complete", "imported_lock", "channel_of", "depends_names",
    "python_of", "lock_channels", "same_channel", "index_of_archive",
]  # fmt: skip

_HEX = re.compile(r"^[0-9a-f]+$")
_PARALLEL = 16  # archives read at once
_BUILD_NUMBER = re.compile(r"_(\d+)$")
# What rattler's HTTP client says when the host cannot be reached at all (then its
# archives cannot be read either, and asking for each would only wait for retries).
_UNREACHABLE = ("dns error", "client error (Connect)", "Connection refused")


@dataclass(frozen=True)
class Given:
    """What a lock file itself says of a conda package (conda-lock: name, version, build,
    dependencies); enough to lock it when it has a sha256 and is not ``noarch``."""

    name: str
    version: str
    build: str
    depends: tuple[str, ...] = ()


@dataclass(frozen=True)
class ArchiveRef:
    """A conda archive named by URL (credentials allowed: only the redacted URL is kept),
    with the hashes the file gives, what it says of the package, and how it names the
    entry in messages."""

    url: str
    sha256: str | None = None
    md5: str | None = None
    given: Given | None = field(default=None, compare=False)
    entry: str = field(default="", compare=False)


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
    """A ``LockedConda`` per archive: metadata from the channel's repodata, else from what
    the file gives, else from the archive (whose sha256 is then computed); a hash that
    disagrees is an error naming ``source``, and so is a package nothing can complete.
    Every request goes through ``network`` (mirrors, proxies, CA bundle) as resolve's and
    hydrate's do; the locked URL stays the one the file gives."""
    network = network or Network()
    if not refs:
        return []
    for ref in refs:  # credentials in the URLs: kept in memory, handed to the client
        _hex(ref.sha256, 64, ref, source)
        _hex(ref.md5, 32, ref, source)
        if "://" in ref.url and not ref.url.startswith("file://"):
            remember(channel_of(ref.url.split("#", 1)[0]))
    unique = list(dict.fromkeys(refs))  # a noarch package is listed once per platform
    with scratch_dir("repodata") as cache:
        records, why = _from_repodata(unique, Path(cache), network)
    done: dict[ArchiveRef, LockedConda] = {}
    rest: list[ArchiveRef] = []
    for ref in unique:
        record = records.get(_base(ref.url))
        if record is not None and record.sha256 is not None:
            done[ref] = _from_record(record, ref, source)
        elif (package := _from_given(ref)) is not None:
            done[ref] = package
        else:
            rest.append(ref)
    for ref in rest:
        base = ref.url.split("#", 1)[0]
        if (reason := why.get((channel_of(base), ""))) is not None:
            raise SourceError(
                f"{source}: cannot import {_shown(ref)}: {_needs(ref)}, and its channel "
                f"cannot be reached: {reason}",
                url=_base(ref.url),
            )
    if rest:
        done.update(zip(rest, asyncio.run(_from_archives(rest, source, why, network)), strict=True))
    return [done[ref] for ref in refs]


def _base(url: str) -> str:
    return redact(url.split("#", 1)[0])


def _shown(ref: ArchiveRef) -> str:
    return ref.entry or _base(ref.url)


def _from_repodata(
    refs: Sequence[ArchiveRef], cache: Path, network: Network
) -> tuple[dict[str, Any], dict]:
    """The repodata record of each archive URL that its channel lists (one query per channel
    and subdir), and why a channel could not be read."""
    groups: dict[tuple[str, str], set[str]] = {}
    for ref in refs:
        base = ref.url.split("#", 1)[0]
        if base.count("/") < 3 or "://" not in base:
            continue  # a local path: no channel to ask
        channel, subdir, file_name = base.rsplit("/", 2)
        groups.setdefault((channel, subdir), set()).add(file_name.rsplit("-", 2)[0])
    if not groups:
        return {}, {}
    found: dict[str, Any] = {}
    why: dict[tuple[str, str], str] = {}
    gateway = rattler.Gateway(cache_dir=cache, client=conda_client(network))

    async def one(channel: str, subdir: str, names: set[str]) -> None:
        try:
            result = await gateway.query(
                [rattler.Channel(redact(channel))], [cast(Any, subdir)], sorted(names),
                recursive=False,
            )  # fmt: skip
        except Exception as exc:  # rattler's GatewayError and friends: unreachable, no index
            lines = [x.strip() for x in str(exc).strip().splitlines() if x.strip()]
            lines = lines or [type(exc).__name__]
            cause = lines[-1].removeprefix("Caused by: ")
            why[(channel, subdir)] = redact_text(
                lines[0] if len(lines) == 1 else f"{lines[0]}: {cause}"
            )
            if any(mark in str(exc) for mark in _UNREACHABLE):
                why[(channel, "")] = why[(channel, subdir)]  # the host: no archive either
            return
        for records in result:
            for record in records:
                found.setdefault(_base(record.url), record)

    async def every() -> None:
        await asyncio.gather(*(one(c, s, n) for (c, s), n in sorted(groups.items())))

    asyncio.run(every())
    return found, why


def _from_record(record: Any, ref: ArchiveRef, source: object) -> LockedConda:
    for name, given, actual in (
        ("sha256", ref.sha256, record.sha256.hex() if record.sha256 else None),
        ("md5", ref.md5, record.md5.hex() if record.md5 else None),
    ):
        if given is not None and actual is not None and given.lower() != actual:
            raise LockFileError(
                f"{source}: hash mismatch for {_shown(ref)}: the file gives {name} {given}, "
                f"its channel's repodata has {actual}",
                path=str(source),
                package=_shown(ref),
            )
    url = _base(ref.url)
    return LockedConda.from_metadata(
        record,
        subdir=str(record.subdir) or url.rsplit("/", 2)[-2],
        url=url,
        channel=channel_of(url),
        sha256=record.sha256.hex(),
        md5=record.md5.hex() if record.md5 else ref.md5,
        size=record.size,
    )


def _from_given(ref: ArchiveRef) -> LockedConda | None:
    """What the file says is a whole record when it has a sha256 and the subdir is not
    ``noarch`` (which may be ``noarch: python``, linked differently: only the channel or
    the archive says)."""
    given, url = ref.given, _base(ref.url)
    subdir = url.rsplit("/", 2)[-2] if url.count("/") >= 2 else ""
    if given is None or ref.sha256 is None or subdir in ("", "noarch"):
        return None
    number = _BUILD_NUMBER.search(given.build)
    return LockedConda(
        name=given.name,
        version=given.version,
        build=given.build,
        build_number=int(number[1]) if number else 0,
        subdir=subdir,
        url=url,
        channel=channel_of(url),
        sha256=ref.sha256,
        md5=ref.md5,
        depends=given.depends,
    )


async def _from_archives(
    refs: Sequence[ArchiveRef], source: object, why: dict[tuple[str, str], str], network: Network
) -> list[LockedConda]:
    client = conda_client(network)
    limit = asyncio.Semaphore(_PARALLEL)
    with scratch_dir("archives") as tmp:

        async def one(ref: ArchiveRef) -> LockedConda:
            async with limit:
                return await _read(client, ref, Path(tmp), source, why)

        return list(await asyncio.gather(*(one(r) for r in refs)))


async def _read(
    client: Any, ref: ArchiveRef, tmp: Path, source: object, why: dict[tuple[str, str], str]
) -> LockedConda:
    url = ref.url.split("#", 1)[0]
    shown = redact(url)
    if not url.startswith("file://"):
        url = shown  # the client adds what authenticates it (remembered above)
    file_name = url.rsplit("/", 1)[-1]
    try:
        if url.startswith("file://"):
            path = Path(unquote(urlsplit(url).path))
            if not path.is_file():
                raise LockFileError(
                    f"{source}: {_shown(ref)}: no such file", path=str(source), package=_shown(ref)
                )
        else:
            path = tmp / file_name
            await download_to_path(client, url, path)
        sha256, md5, size = _check(path, ref, source)
        index = index_of_archive(path)
    except LockFileError:
        raise
    except Exception as exc:  # rattler raises OSError / its own errors for unreachable URLs
        message = redact_text((str(exc).strip().splitlines() or [type(exc).__name__])[0])
        base = ref.url.split("#", 1)[0]
        repodata = why.get((channel_of(base), base.rsplit("/", 2)[-2]))
        also = f" (nor its channel's repodata: {repodata})" if repodata else ""
        raise SourceError(
            f"{source}: cannot import {_shown(ref)}: {_needs(ref)}, and the package cannot "
            f"be read: {message}{also}",
            url=shown,
        ) from None
    return _locked(index, shown, sha256, md5, size, source)


def _needs(ref: ArchiveRef) -> str:
    if ref.sha256 is None:
        return (
            "the file gives no sha256 (which Amber locks every package by; the channel's "
            "repodata or the archive would)"
        )
    return "the file does not say whether this noarch package is noarch: python"


def index_of_archive(path: Path) -> Any:
    """``info/index.json`` of a ``.conda`` or ``.tar.bz2`` archive, read with the standard
    library's zip and tar readers (and zstandard for the inner ``info-*.tar.zst``)."""
    if path.name.endswith(".conda"):
        with zipfile.ZipFile(path) as outer:
            names = [
                n for n in outer.namelist() if n.startswith("info-") and n.endswith(".tar.zst")
            ]
            if not names:
                raise LockFileError(f"{path.name} has no info-*.tar.zst")
            with outer.open(names[0]) as raw:
                data = zstandard.ZstdDecompressor().stream_reader(raw).read()
        tar = tarfile.open(fileobj=io.BytesIO(data), mode="r:")
    else:
        tar = tarfile.open(path, mode="r:bz2")
    with tar:
        member = next(
            (m for m in tar if m.isfile() and m.name.lstrip("./") == "info/index.json"), None
        )
        handle = tar.extractfile(member) if member is not None else None
        if handle is None:
            raise LockFileError(f"{path.name} has no info/index.json")
        text = handle.read().decode()
    json.loads(text)  # a clear error for malformed JSON before rattler's
    return rattler.IndexJson.from_str(text)


def _hex(value: str | None, length: int, ref: ArchiveRef, source: object) -> str | None:
    if value is None:
        return None
    value = value.strip().lower()
    if len(value) != length or not _HEX.match(value):
        raise LockFileError(
            f"{source}: {_shown(ref)}: malformed hash {value!r}",
            path=str(source),
            package=_shown(ref),
        )
    return value


def _check(path: Path, ref: ArchiveRef, source: object) -> tuple[str, str, int]:
    """Hash an archive; it must match the hashes the file gives."""
    sha256, md5, url = (
        _hex(ref.sha256, 64, ref, source),
        _hex(ref.md5, 32, ref, source),
        _shown(ref),
    )
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
    # A local project is asked for by its path, as a spec says it (`-e ./path`).
    pypi = {w.requirement_line() if w.path else w.name for p in bodies.values() for w in p.pypi}
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
