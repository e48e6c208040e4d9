"""PEP 751 ``pylock.toml``: the PyPI part of a lock, every platform, installable by uv and pip.

Each locked file is one ``[[packages]]`` entry. A file that every exported platform
installs has no marker; a platform-specific one (a binary wheel) carries a ``marker``
selecting its platforms (``sys_platform`` and ``platform_machine``), and ``environments``
lists the platforms the file was made for, so an installer elsewhere refuses it.

Read back, the file is selected per platform the way PEP 751 tells installers to: the
package markers evaluated for the platform, then the best wheel for its tags (or the
sdist). Markers of the platforms are also what the requirements format evaluates.

``packaging.pylock`` parses, validates and builds the file (``Pylock``), ``tomli-w`` writes
it: Amber adds no keys of its own. What stays here is what packaging does not do: turning
conda subdirs into marker environments, and choosing each platform's file (with Amber's
one wheel ranking, ``amber.resolve.wheels``) for platforms other than the running one.
"""

from __future__ import annotations

import re
import sys
import tomllib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import tomli_w
from packaging.markers import Marker
from packaging.pylock import (
    Package,
    PackageArchive,
    PackageDirectory,
    PackageSdist,
    PackageVcs,
    PackageWheel,
    Pylock,
    PylockValidationError,
)
from packaging.specifiers import SpecifierSet
from packaging.utils import InvalidSdistFilename, canonicalize_name, parse_sdist_filename
from packaging.version import Version

from amber._input import read_input, shorten
from amber._platform import host_platform
from amber._urls import redact
from amber.errors import LockFileError
from amber.formats import Exported, ExportOptions, chosen_platforms
from amber.lock import Lock, LockedPypi, PlatformLock
from amber.resolve.wheels import DistFile, best_file, file_version
from amber.spec import Spec

__all__ = [
    "NAME",
    "SUFFIX",
    "WHOLE",
    "export",
    "detect",
    "read",
    "platform_marker",
    "marker_environment",
    "evaluate",
    "lock_of_pins",
    "select",
]

NAME = "pylock"
SUFFIX = ".toml"  # installers want the whole name `pylock.toml` or `pylock.<name>.toml`
WHOLE = False

# conda subdir -> (sys_platform, platform_machine, platform_system, os_name), as CPython
# reports them there.
_MARKER_VALUES = {
    "linux-64": ("linux", "x86_64", "Linux", "posix"),
    "linux-aarch64": ("linux", "aarch64", "Linux", "posix"),
    "osx-64": ("darwin", "x86_64", "Darwin", "posix"),
    "osx-arm64": ("darwin", "arm64", "Darwin", "posix"),
    "win-64": ("win32", "AMD64", "Windows", "nt"),
    "win-arm64": ("win32", "ARM64", "Windows", "nt"),
    "linux-ppc64le": ("linux", "ppc64le", "Linux", "posix"),
    "linux-s390x": ("linux", "s390x", "Linux", "posix"),
}
_NAME_PATTERN = re.compile(r"^pylock\.([^.]+\.)?toml$")
_PYTHON_IN_MARKER = re.compile(r"python_version\s*==\s*['\"]([\d.]+)['\"]")


def _marker_values(platform: str) -> tuple[str, str, str, str]:
    """(sys_platform, platform_machine, platform_system, os_name) of a conda subdir."""
    if platform in _MARKER_VALUES:
        return _MARKER_VALUES[platform]
    system, _, arch = platform.partition("-")
    if system == "win":
        return ("win32", arch.upper(), "Windows", "nt")
    if system == "osx":
        return ("darwin", arch, "Darwin", "posix")
    return (system, arch, system.capitalize(), "posix")


def platform_marker(platform: str) -> str:
    """The environment marker true exactly on ``platform`` (a conda subdir)."""
    sys_platform, machine = _marker_values(platform)[:2]
    return f"sys_platform == '{sys_platform}' and platform_machine == '{machine}'"


def marker_environment(platform: str, python: str) -> dict[str, str]:
    """The marker values of CPython ``python`` (X.Y or X.Y.Z) on ``platform``."""
    sys_platform, machine, system, os_name = _marker_values(platform)
    parts = python.split(".")
    full = ".".join((parts + ["0"])[:3])
    return {
        "implementation_name": "cpython",
        "implementation_version": full,
        "os_name": os_name,
        "platform_machine": machine,
        "platform_python_implementation": "CPython",
        "platform_release": "",
        "platform_system": system,
        "platform_version": "",
        "python_full_version": full,
        "python_version": ".".join(parts[:2]),
        "sys_platform": sys_platform,
    }


def evaluate(marker: Any, platform: str, python: str) -> bool:
    """``marker`` (a ``packaging.markers.Marker``) on ``platform`` with ``python``; lock-file
    context (no extras, no dependency groups asked for)."""
    env: dict[str, Any] = marker_environment(platform, python)
    env.update(extras=frozenset(), dependency_groups=frozenset(), extra="")
    return bool(marker.evaluate(env, context="lock_file"))


# -- export ---------------------------------------------------------------------------


def export(lock: Lock, options: ExportOptions) -> Exported:
    """Every chosen platform's PyPI packages; one entry per distinct file. The file is a
    ``packaging.pylock.Pylock``, validated by it and written with ``tomli-w``."""
    platforms = chosen_platforms(lock, options)
    locks = [lock.platforms[p] for p in platforms]
    pythons = {p.platform: _python_xy(p) for p in locks}
    same_python = len(set(pythons.values())) == 1

    def environment(platform: str) -> Marker:
        marker = platform_marker(platform)
        if not same_python and pythons[platform]:
            marker += f" and python_version == '{pythons[platform]}'"
        return Marker(marker)

    # (name, version, url, sha256) -> the platforms that install that file.
    users: dict[LockedPypi, list[str]] = {}
    for p in locks:
        for w in p.pypi:
            users.setdefault(w, []).append(p.platform)
    packages = []
    for w, where in sorted(
        users.items(), key=lambda item: (item[0].name, platforms.index(item[1][0]))
    ):
        marker = None
        if len(where) < len(platforms):
            markers = [platform_marker(p) for p in where]
            marker = Marker(
                markers[0] if len(markers) == 1 else " or ".join(f"({m})" for m in markers)
            )
        packages.append(_package(w, marker))
    python = pythons[platforms[0]] if same_python and locks else None
    document = Pylock(
        lock_version=Version("1.0"),
        environments=[environment(p) for p in platforms],
        requires_python=SpecifierSet(f"=={python}.*") if python else None,
        created_by="amber",
        packages=packages,
    )
    document.validate()
    header = (
        f"# Generated by amber from lock {lock.full_id}: PyPI packages for "
        f"{', '.join(platforms)}.\n"
        "# Install with `uv pip install -r pylock.toml` (or any PEP 751 installer).\n"
    )
    lost = []
    conda = [(p.platform, p) for p in locks if p.conda]
    if conda:
        lost.append(_conda_lost(conda))
    return Exported(text=header + tomli_w.dumps(document.to_dict()), lost=tuple(lost))


def _python_xy(p: PlatformLock) -> str | None:
    return ".".join(p.python.split(".")[:2]) if p.python else None


def _package(w: LockedPypi, marker: Marker | None) -> Package:
    """The ``[[packages]]`` entry of one locked file."""
    name = canonicalize_name(w.name)
    version = Version(w.version) if w.version else None  # a git entry may have none
    if w.path is not None:  # PEP 751's directory, relative to the spec's (and lock's) folder
        directory = PackageDirectory(path=w.path, editable=bool(w.editable))
        return Package(name=name, version=version, marker=marker, directory=directory)
    if w.commit is not None:
        url, _, subdirectory = w.url.removeprefix("git+").partition("#subdirectory=")
        vcs = PackageVcs(type="git", url=url, commit_id=w.commit, subdirectory=subdirectory or None)
        return Package(name=name, version=version, marker=marker, vcs=vcs)
    hashes = {"sha256": w.sha256}
    if w.file_name.endswith(".whl"):
        wheel = PackageWheel(name=w.file_name, url=w.url, hashes=hashes)
        return Package(name=name, version=version, marker=marker, wheels=[wheel])
    try:
        parse_sdist_filename(w.file_name)
    except InvalidSdistFilename:
        archive = PackageArchive(url=w.url, hashes=hashes)
        return Package(name=name, version=version, marker=marker, archive=archive)
    sdist = PackageSdist(name=w.file_name, url=w.url, hashes=hashes)
    return Package(name=name, version=version, marker=marker, sdist=sdist)


def _conda_lost(conda: Sequence[tuple[str, PlatformLock]]) -> str:
    parts = []
    for platform, p in conda:
        part = f"{platform}: {', '.join(c.name for c in p.conda)}"
        if p.provided:
            part += f"; they provide the PyPI distributions {', '.join(p.provided)}"
        parts.append(part)
    return (
        "conda packages (pylock.toml holds PyPI packages only; install them with conda "
        "first): " + "; ".join(parts)
    )


# -- read -------------------------------------------------------------------------------


def detect(path: Path, head: str) -> bool:
    """``pylock.toml`` / ``pylock.<name>.toml``, or another ``.toml`` that starts like one."""
    if _NAME_PATTERN.match(path.name):
        return True
    return path.suffix == ".toml" and bool(
        re.search(r"^lock-version\s*=", head, re.M) and re.search(r"^created-by\s*=", head, re.M)
    )


def read(path: Path) -> Lock:
    """A PyPI-only ``Lock`` of the files a PEP 751 installer would take on each platform
    the file lists in ``environments`` (the host's when it lists none)."""
    text = read_input(path, lambda message: LockFileError(f"{path}: {message}", path=path))
    try:
        data = tomllib.loads(text)
    except RecursionError:
        raise LockFileError(f"{path}: malformed TOML: nested too deeply", path=path) from None
    except tomllib.TOMLDecodeError as exc:
        raise LockFileError(f"{path}: malformed TOML: {shorten(exc)}", path=path) from None
    try:
        pylock = Pylock.from_dict(data)
    except PylockValidationError as exc:
        raise LockFileError(
            f"{path}: not a valid pylock.toml (PEP 751): {exc}", path=path
        ) from None

    targets = _targets(pylock, path)
    platforms = {
        platform: select(pylock, platform, python, path) for platform, python in targets.items()
    }
    return lock_of_pins(platforms, targets)


def _targets(pylock: Any, path: Path) -> dict[str, str]:
    """platform -> python version, from ``environments`` and ``requires-python``."""
    requires = pylock.requires_python
    exact = _exact_python(str(requires)) if requires is not None else None
    env_markers = list(pylock.environments or [])
    if exact:
        candidates = [exact]
    else:
        named = {v for m in env_markers for v in _PYTHON_IN_MARKER.findall(str(m))}
        running = f"{sys.version_info.major}.{sys.version_info.minor}"
        candidates = sorted(named) or [running]
        if requires is not None and not named and not requires.contains(_running_full()):
            raise LockFileError(
                f"{path}: requires-python {str(requires)!r} names no Python version and the "
                f"running one ({running}) is outside it: read it with a Python it allows",
                path=path,
            )
    if not env_markers:
        return {host_platform(): candidates[0]}
    targets: dict[str, str] = {}
    for platform in _MARKER_VALUES:
        for python in candidates:
            if platform not in targets and any(evaluate(m, platform, python) for m in env_markers):
                targets[platform] = python
    if not targets:
        raise LockFileError(
            f"{path}: its environments ({'; '.join(map(str, env_markers))}) match none of the "
            f"platforms Amber knows ({', '.join(_MARKER_VALUES)})",
            path=path,
        )
    return targets


def _running_full() -> str:
    return ".".join(str(n) for n in sys.version_info[:3])


def _exact_python(requires: str) -> str | None:
    match = re.fullmatch(r"\s*===?\s*(\d+\.\d+(?:\.\d+)?)(\.\*)?\s*", requires)
    return match.group(1) if match else None


def select(pylock: Any, platform: str, python: str, path: Path) -> list[LockedPypi]:
    """PEP 751's installer steps for one platform: markers, then the file to take."""
    chosen: dict[str, LockedPypi] = {}
    for index, package in enumerate(pylock.packages):
        where = f"{path}: packages[{index}] ({package.name})"
        if package.marker is not None and not evaluate(package.marker, platform, python):
            continue
        if package.requires_python is not None and not package.requires_python.contains(
            marker_environment(platform, python)["python_full_version"]
        ):
            raise LockFileError(
                f"{where} requires Python {package.requires_python}, not {python} ({platform})",
                path=path,
                package=package.name,
            )
        if package.name in chosen:
            raise LockFileError(
                f"{where}: a second entry for {package.name} on {platform}",
                path=path,
                package=package.name,
            )
        chosen[package.name] = _file_of(package, platform, python, where, path)
    return list(chosen.values())


def _file_of(package: Any, platform: str, python: str, where: str, path: Path) -> LockedPypi:
    vcs = package.vcs
    if vcs is not None and vcs.type == "git" and vcs.url and vcs.commit_id:
        sub = f"#subdirectory={vcs.subdirectory}" if vcs.subdirectory not in (None, ".") else ""
        return LockedPypi(
            name=package.name,
            version=str(package.version or ""),
            url=f"git+{redact(vcs.url)}{sub}",
            commit=vcs.commit_id,
        )
    if vcs is not None or package.directory is not None:
        raise LockFileError(
            f"{where} is a {'VCS checkout other than a git commit' if vcs else 'directory'}: "
            "Amber locks files by their sha256, and git sources by their commit",
            path=path,
            package=package.name,
        )
    files = []
    for dist in [*(package.wheels or []), package.sdist, package.archive]:
        if dist is None:
            continue
        sha256 = (dist.hashes or {}).get("sha256")
        if not sha256:
            raise LockFileError(
                f"{where} lists a file without a sha256 hash", path=path, package=package.name
            )
        url = dist.url or (path.parent / dist.path).resolve().as_uri()
        name = getattr(dist, "filename", None) or url.rsplit("/", 1)[-1]
        files.append(DistFile(name=name, url=url, sha256=sha256.lower()))
    picked = best_file(files, python, platform)
    if picked is None:
        raise LockFileError(
            f"{where} has no file for {platform} with Python {python} "
            f"(wheels: {', '.join(f.name for f in files) or 'none'})",
            path=path,
            package=package.name,
        )
    version = str(package.version) if package.version is not None else _version_of(picked)
    return LockedPypi(
        name=package.name, version=version, url=redact(picked.url), sha256=picked.sha256
    )


def _version_of(f: DistFile) -> str:
    version = file_version(f.name)
    if version is None:
        raise LockFileError(f"{f.url}: no version in the entry nor in the file name")
    return version


def lock_of_pins(
    platforms: Mapping[str, Sequence[LockedPypi]],
    pythons: Mapping[str, str],
    *,
    index_url: str | None = None,
    extra_index_urls: Sequence[str] = (),
) -> Lock:
    """A PyPI-only ``Lock`` of exactly these files, its spec pinning each ``name==version``
    (with a platform marker when not every platform has it)."""
    where: dict[str, list[str]] = {}
    for platform, files in platforms.items():
        for w in files:
            where.setdefault(_pin(w), []).append(platform)
    pins = []
    for pin, on in where.items():
        if len(on) == len(platforms):
            pins.append(pin)
        else:
            marker = " or ".join(f"({platform_marker(p)})" for p in sorted(on))
            pins.append(f"{pin} ; {marker}")
    python = pythons[sorted(pythons)[0]] if pythons else None
    spec = Spec.create(
        pypi=pins,
        python=python,
        platforms=sorted(platforms),
        index_url=index_url,
        extra_index_urls=extra_index_urls,
    )
    return Lock(
        spec=spec,
        req_id=spec.req_id,
        platforms={
            p: PlatformLock(platform=p, python=pythons[p], pypi=tuple(files))
            for p, files in platforms.items()
        },
    )


def _pin(w: LockedPypi) -> str:
    # A file with a standard name is found by name and version; any other by its URL.
    return f"{w.name}=={w.version}" if _is_index_file(w) else f"{w.name} @ {w.url}"


def _is_index_file(w: LockedPypi) -> bool:
    return file_version(w.file_name) is not None
