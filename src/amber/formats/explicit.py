"""conda's explicit file (``@EXPLICIT``): one platform's conda package URLs, in install order.

Each URL carries its archive's sha256 as ``#sha256:<hex>`` (read by conda since 23.x, by
mamba and rattler). The format has no place for PyPI packages: they are listed as
``# pip NAME @ URL#sha256=HASH`` comments (conda-lock's convention), which conda and rattler
skip and ``conda-lock install`` and ``amber lock -f`` read.
"""

from __future__ import annotations

import heapq
import re
from collections.abc import Iterable
from pathlib import Path

from packaging.utils import canonicalize_name, parse_sdist_filename, parse_wheel_filename

from amber._input import read_input
from amber._platform import host_platform
from amber.errors import LockFileError
from amber.formats import Exported, ExportOptions, platforms_lost
from amber.formats._conda_meta import (
    ArchiveRef,
    complete,
    depends_names,
    imported_lock,
    python_of,
)
from amber.lock import Lock, LockedConda, LockedPypi, PlatformLock
from amber.settings import Network

__all__ = ["NAME", "SUFFIX", "WHOLE", "READ_NEEDS_NETWORK", "export", "detect", "read"]

NAME = "explicit"
SUFFIX = ".txt"
READ_NEEDS_NETWORK = True  # read() downloads archives without hashes (settings.Network)
WHOLE = False

_MARKER = re.compile(r"^@EXPLICIT\s*$", re.MULTILINE)
_PIP_LINE = re.compile(r"^#\s*pip\s+[A-Za-z0-9][A-Za-z0-9._-]*(\[[^\]]*\])?\s*(@|==)")
_PIP_DIRECT = re.compile(
    r"^#\s*pip\s+(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)\s*@\s*(?P<url>[^\s#]+)"
    r"#sha256=(?P<sha256>[0-9a-fA-F]{64})\s*$"
)


def export(lock: Lock, options: ExportOptions) -> Exported:
    """One explicit file per platform (``files`` when there are several)."""
    names = list(dict.fromkeys(options.platforms)) or sorted(lock.platforms)
    texts = {name: _text(lock, lock.for_platform(name)) for name in names}
    lost = []
    pypi = [f"{len(lock.platforms[n].pypi)} on {n}" for n in names if lock.platforms[n].pypi]
    if pypi:
        lost.append(
            f"the PyPI packages ({', '.join(pypi)}) are only listed as `# pip` comments: "
            "conda and rattler do not install them (`conda-lock install` and `amber lock -f` "
            "read them)"
        )
    lost += platforms_lost(lock, names)
    if len(names) == 1:
        return Exported(text=texts[names[0]], lost=tuple(lost))
    return Exported(files=texts, lost=tuple(lost))


def _text(lock: Lock, body: PlatformLock) -> str:
    lines = [
        f"# The conda packages of amber lock {lock.full_id[:16]} for {body.platform}, in",
        "# install order. Create an environment from it with `conda create -n ENV --file FILE`,",
        "# `micromamba create -n ENV -f FILE` or `amber lock -f FILE`.",
        f"# platform: {body.platform}",
        "@EXPLICIT",
        *(f"{c.url}#sha256:{c.sha256}" for c in install_order(body.conda)),
    ]
    if body.pypi:
        lines.append("# PyPI packages (conda skips these lines):")
        lines += [
            f"# pip {w.requirement_line()}"
            if not w.is_archive
            else f"# pip {w.name} @ {w.url.split('#', 1)[0]}#sha256={w.sha256}"
            for w in body.pypi
        ]
    return "\n".join(lines) + "\n"


def install_order(packages: Iterable[LockedConda]) -> list[LockedConda]:
    """Dependencies before their dependents; ties (and cycles) broken by name."""
    by_name = {c.name: c for c in packages}
    needs = {n: {d for d in depends_names(c.depends) if d in by_name and d != n}
             for n, c in by_name.items()}  # fmt: skip
    users: dict[str, set[str]] = {n: set() for n in by_name}
    for name, deps in needs.items():
        for dep in deps:
            users[dep].add(name)
    ready = [n for n, deps in needs.items() if not deps]
    heapq.heapify(ready)
    order: list[str] = []
    placed: set[str] = set()
    while len(order) < len(by_name):
        if not ready:  # a cycle: take its first name
            ready = [min(n for n in by_name if n not in placed)]
        name = heapq.heappop(ready)
        if name in placed:
            continue
        order.append(name)
        placed.add(name)
        for user in sorted(users[name]):
            needs[user].discard(name)
            if not needs[user] and user not in placed:
                heapq.heappush(ready, user)
    return [by_name[n] for n in order]


def detect(path: Path, head: str) -> bool:
    # Package URLs without the marker are an explicit file missing it: refused by `read`.
    return bool(_MARKER.search(head) or _UNMARKED.search(head))


# conda's own pattern for an explicit line (conda/misc.py `url_pat`): a URL or path to an
# archive, then an md5, a sha256 or `sha256:` and one.
_URL = re.compile(
    r"^(?:(?P<url_p>.+)[/\\])?(?P<fn>[^/\\#]+(?:\.tar\.bz2|\.conda))"
    r"(?:#(?P<checksum>[0-9a-fA-F]{32}|(?:sha256[:=])?[0-9a-fA-F]{64}))?$"
)
_UNMARKED = re.compile(r"^\S+(\.tar\.bz2|\.conda)(#\S*)?\s*$", re.MULTILINE)
_PLATFORM = re.compile(r"^#\s*platform:\s*(\S+)\s*$")


def read(path: Path, *, network: Network | None = None) -> Lock:
    """The packages of an explicit file, read as ``conda create --file`` reads it: blank
    lines and ``#`` comments skipped, ``@EXPLICIT`` required before the packages, each
    package a URL or path with an optional md5 or sha256; any other line refused by number."""
    path = Path(path)
    text = read_input(path, lambda message: LockFileError(f"{path}: {message}", path=path))
    refs: list[ArchiveRef] = []
    pypi: list[LockedPypi] = []
    platform: str | None = None
    marked = False
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        if line.startswith("#"):
            if _PIP_LINE.match(line):
                pypi.append(_pip(line, path, number))
            elif (found := _PLATFORM.match(line)) is not None and platform is None:
                platform = found[1]
            continue
        if line == "@EXPLICIT":
            marked = True
            continue
        if not marked:
            why = (
                "package lines come after an @EXPLICIT line, and this file has none"
                if _URL.match(line) and not _MARKER.search(text)
                else "conda reads the lines before @EXPLICIT as match specs, not packages"
            )
            raise LockFileError(
                f"{path}:{number}: not an explicit file: {_short(line)!r}: {why}",
                path=path,
                line=number,
            )
        refs.append(_ref(line, path, number))
    if not marked:
        raise LockFileError(f"{path}: not an explicit file: no @EXPLICIT line", path=path)
    conda = complete(refs, path, network)
    if platform is None:
        platform = next((c.subdir for c in conda if c.subdir != "noarch"), host_platform())
    for c in conda:
        if c.subdir not in (platform, "noarch"):
            raise LockFileError(
                f"{path}: {c.file_name} is for {c.subdir}, not {platform}", path=path
            )
    body = PlatformLock(
        platform=platform, python=python_of(conda), conda=tuple(conda), pypi=tuple(pypi)
    )
    return imported_lock([body], list(dict.fromkeys(c.channel for c in conda)))


def _short(line: str) -> str:
    return line if len(line) <= 120 else line[:117] + "..."


def _ref(line: str, path: Path, number: int) -> ArchiveRef:
    found = _URL.match(line)
    if found is None:
        raise LockFileError(
            f"{path}:{number}: {_short(line)!r} is not a package: conda reads a URL or path to "
            "a .conda or .tar.bz2 archive, with an optional #md5 or #sha256:",
            path=path,
            line=number,
        )
    base = line.split("#", 1)[0]
    if "://" not in base:  # a local path, as conda takes it (relative: to the file)
        local = Path(base).expanduser()
        base = (local if local.is_absolute() else path.parent / local).resolve().as_uri()
    checksum = (found["checksum"] or "").lower()
    digest = re.sub(r"^sha256[:=]", "", checksum)
    entry = f"line {number} ({found['fn']})"
    if len(digest) == 64:
        return ArchiveRef(base, sha256=digest, entry=entry)
    return ArchiveRef(base, md5=digest or None, entry=entry)


def _pip(line: str, path: Path, number: int) -> LockedPypi:
    match = _PIP_DIRECT.match(line)
    if match is None:
        raise LockFileError(
            f"{path}:{number}: cannot import {line!r}: a PyPI package needs its file and hash, "
            "as in `# pip NAME @ URL#sha256=HASH`",
            path=path,
            line=number,
        )
    url = match["url"]
    file_name = url.rsplit("/", 1)[-1]
    try:
        if file_name.endswith(".whl"):
            version = parse_wheel_filename(file_name)[1]
        else:
            version = parse_sdist_filename(file_name)[1]
    except ValueError:
        raise LockFileError(
            f"{path}:{number}: {file_name} is not a wheel or sdist file name",
            path=path,
            line=number,
        ) from None
    return LockedPypi(
        name=canonicalize_name(match["name"]),
        version=str(version),
        url=url,
        sha256=match["sha256"].lower(),
    )
