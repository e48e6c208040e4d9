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
from rattler.explicit_environment import ExplicitEnvironmentSpec

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

__all__ = ["NAME", "SUFFIX", "WHOLE", "export", "detect", "read"]

NAME = "explicit"
SUFFIX = ".txt"
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
    return bool(_MARKER.search(head))


def read(path: Path) -> Lock:
    """The packages of an explicit file, their metadata read from each archive."""
    path = Path(path)
    text = read_input(path, lambda message: LockFileError(f"{path}: {message}", path=path))
    try:
        parsed = ExplicitEnvironmentSpec.from_str(text)
    except Exception as exc:  # rattler's own parse error
        message = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise LockFileError(f"{path}: not a valid explicit file: {message}", path=path) from None
    refs = [_ref(entry.url, path) for entry in parsed.packages]
    conda = complete(refs, path)
    pypi = [
        _pip(line.strip(), path, number)
        for number, line in enumerate(text.splitlines(), start=1)
        if _PIP_LINE.match(line.strip())
    ]
    platform = str(parsed.platform) if parsed.platform is not None else None
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


def _ref(url: str, path: Path) -> ArchiveRef:
    base, _, fragment = url.partition("#")
    digest = re.sub(r"^sha256[:=]", "", fragment).lower()
    if not fragment:
        return ArchiveRef(base)
    if len(digest) == 64:
        return ArchiveRef(base, sha256=digest)
    if len(digest) == 32 and not fragment.startswith("sha256"):
        return ArchiveRef(base, md5=digest)
    raise LockFileError(
        f"{path}: {base}: unknown hash '#{fragment}' (expected an md5 or sha256)", path=path
    )


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
