"""pixi's lock file (``pixi.lock``), written and read with rattler's ``LockFile`` API:
environment ``default``, every platform, conda and PyPI packages. A PyPI source tree
(``pypi: ./path``) is read as a local project relative to the lock's folder.

rattler 0.28's ``add_pypi_package`` takes no hash, so the PyPI sha256s are added to the
written file (the ``sha256:`` key pixi itself writes) and the file is passed through
rattler once more, which reads them and writes its canonical form.
"""

from __future__ import annotations

import os
import posixpath
import re
import tomllib
import warnings
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import yaml
from packaging.utils import canonicalize_name
from rattler import Channel, LockChannel, LockFile, LockPlatform

from amber._fs import scratch_dir
from amber._input import read_input
from amber.errors import AmberError, LockFileError, SpecWarning
from amber.formats import Exported, ExportOptions, git_lost, platforms_lost
from amber.formats._conda_meta import (
    channel_of,
    imported_lock,
    lock_channels,
    python_of,
    same_channel,
)
from amber.lock import Lock, LockedConda, LockedPypi, PlatformLock

__all__ = ["NAME", "SUFFIX", "WHOLE", "ENVIRONMENT", "export", "detect", "read", "environments"]

NAME = "pixi"
SUFFIX = ".lock"
WHOLE = True
ENVIRONMENT = "default"
READ_ENVIRONMENTS = True  # read(path, environment)
# What `--lock-version` can write: py-rattler writes 7; 6 is 7 without what 7 added.
LOCK_VERSIONS = (6, 7)


def export(lock: Lock, options: ExportOptions) -> Exported:
    version = options.lock_version or LOCK_VERSIONS[-1]
    if version not in LOCK_VERSIONS:
        raise AmberError(
            f"pixi.lock version {version}: Amber writes versions "
            f"{', '.join(map(str, LOCK_VERSIONS))} (py-rattler writes 7; 6 is what conda's "
            "lockfile plugin reads)"
        )
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
        if version == 6:
            text = _as_v6(text, path)
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
    if version == 6 and any(b.virtual_packages for b in bodies):
        lost.append("the virtual packages of each platform (pixi.lock 6 has no `platforms:`)")
    lost += platforms_lost(lock, names) + git_lost(lock, names, "Amber's pixi.lock export")
    return Exported(text=text, lost=tuple(lost))


def _as_v6(text: str, path: Path) -> str:
    """Version 7 as version 6: rattler_lock's v6 reader (``parse/deserialize.rs``,
    ``LegacyEnvironment``) takes the same environments and packages, keyed by subdir, and
    has no top-level ``platforms:`` table (7 added it, with relative paths and source
    packages, none of which Amber writes). Read back by rattler: the same packages."""
    lines = text.splitlines()
    if not lines or lines[0] != "version: 7":
        raise AmberError(f"pixi: rattler wrote {lines[:1]!r}, not version 7")
    out, skipping = ["version: 6"], False
    for line in lines[1:]:
        if line and not line[0].isspace() and not line.startswith("- "):
            skipping = line == "platforms:"
        if not skipping:
            out.append(line)
    v6 = "\n".join(out) + "\n"
    written = _packages(LockFile.from_path(path))  # the version 7 file, still there
    path.write_text(v6, encoding="utf-8")
    if _packages(LockFile.from_path(path)) != written:
        raise AmberError("pixi: the version 6 file does not read back as written")
    return v6


def _packages(lock_file: Any) -> dict[str, list[str]]:
    env = lock_file.environment(ENVIRONMENT)
    return {
        p.name: sorted(str(x.location) for x in env.packages(p) or [])
        for p in (env.platforms() if env else [])
    }


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
    body = _without_comments(head)
    return bool(
        re.match(r"version:\s*\d+\s*\n", body)
        and re.search(r"^environments:\s*$", body, re.MULTILINE)
    )


def _without_comments(text: str) -> str:
    """The text after the comment and blank lines a pixi.lock may start with."""
    lines = text.splitlines(keepends=True)
    skip = 0
    while skip < len(lines) and (not lines[skip].strip() or lines[skip].lstrip().startswith("#")):
        skip += 1
    return "".join(lines[skip:])


@dataclass(frozen=True)
class _Raw:
    """What the YAML itself says, independent of rattler: the file's version, its
    environments, and per platform of each environment the entries it references."""

    version: int
    environments: dict[str, dict[str, list[tuple[str, str]]]]  # env -> platform -> (kind, ref)
    subdirs: dict[str, str]  # v7 `platforms:` table: name -> subdir


def _raw(path: Path, text: str) -> _Raw:
    # Only the head: `version`, `platforms` and `environments` come before the (long)
    # `packages:` list, which rattler reads.
    head = re.split(r"^packages:", text, maxsplit=1, flags=re.MULTILINE)[0]
    try:
        data = yaml.load(head, Loader=_LOADER)
    except yaml.YAMLError as exc:
        raise LockFileError(f"{path}: malformed YAML: {exc}", path=path) from None
    if isinstance(data, dict) and data.get("version") in (1, 2, 3) and "environments" not in data:
        return _legacy(path, text)
    if not isinstance(data, dict) or not isinstance(data.get("environments"), dict):
        raise LockFileError(f"{path}: not a pixi.lock: no `environments:` mapping", path=path)
    version = data.get("version")
    environments: dict[str, dict[str, list[tuple[str, str]]]] = {}
    for name, env in data["environments"].items():
        platforms: dict[str, list[tuple[str, str]]] = {}
        packages = env.get("packages") if isinstance(env, dict) else None
        if packages is not None and not isinstance(packages, dict):
            raise LockFileError(
                f"{path}: environment '{name}': `packages` is not a mapping of platforms to "
                "package lists",
                path=path,
            )
        for platform, refs in (packages or {}).items():
            if refs is not None and not isinstance(refs, list):
                raise LockFileError(
                    f"{path}: environment '{name}': `packages` of platform '{platform}' is "
                    "not a list",
                    path=path,
                )
            entries = []
            for ref in refs or []:
                kind = next((k for k in _REF_KEYS if isinstance(ref, dict) and k in ref), "?")
                entries.append((kind, str(ref.get(kind, ref) if isinstance(ref, dict) else ref)))
            platforms[str(platform)] = entries
        environments[str(name)] = platforms
    subdirs = {}
    for entry in data.get("platforms") or []:
        if isinstance(entry, dict) and "name" in entry:
            subdirs[str(entry["name"])] = str(entry.get("subdir") or entry["name"])
    return _Raw(version if isinstance(version, int) else -1, environments, subdirs)


def _legacy(path: Path, text: str) -> _Raw:
    """rattler's legacy form of conda-lock's file (``version: 1``-``3``, one ``package:``
    list with a ``platform`` and a ``manager`` per entry): rattler reads it as the one
    environment ``default``; the entries it must return, per platform, counted here."""
    try:
        data = yaml.load(text, Loader=_LOADER)
    except yaml.YAMLError as exc:
        raise LockFileError(f"{path}: malformed YAML: {exc}", path=path) from None
    platforms: dict[str, list[tuple[str, str]]] = {}
    for entry in data.get("package") or []:
        if isinstance(entry, dict):
            kind = "pypi" if entry.get("manager") == "pip" else "conda"
            platforms.setdefault(str(entry.get("platform")), []).append(
                (kind, str(entry.get("url")))
            )
    return _Raw(int(data["version"]), {ENVIRONMENT: platforms}, {})


_REF_KEYS = ("conda", "conda_source", "pypi")
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_MAX_LISTED = 12


def environments(path: Path) -> list[str]:
    """The environments a pixi.lock holds, sorted."""
    return sorted(_raw(path, read_input(path, _input_error(path))).environments)


def _input_error(path: Path) -> Any:
    return lambda message: LockFileError(f"{path}: {message}", path=path)


def read(path: Path, environment: str | None = None) -> Lock:
    """One environment of a pixi.lock (``environment``; default ``default``, or the only
    one) with every platform, conda and PyPI; ``LockFileError`` naming each entry Amber
    cannot import, rather than leaving any out."""
    path = Path(path)
    text = read_input(path, _input_error(path))  # a regular file of UTF-8 text, else refused
    raw = _raw(path, text)
    try:
        lock_file = LockFile.from_path(path)
    except Exception as exc:  # rattler's own parse errors (a version it does not know...)
        message = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise LockFileError(
            f"{path}: not a pixi.lock rattler can read (lock version {raw.version}): {message}",
            path=path,
        ) from None
    name = _chosen(path, raw, environment)
    editable = _Editable(_local_entries(text), _editable_in_manifest(path.parent))
    env = lock_file.environment(name)
    if env is None:  # the YAML has it, rattler did not return it
        raise LockFileError(f"{path}: rattler does not read environment {name!r}", path=path)
    where = f"{path}: environment {name}"
    problems: list[str] = []
    bodies: dict[str, PlatformLock] = {}
    by_subdir: dict[str, list[str]] = {}
    for platform in env.platforms():
        conda, pypi, missing = _platform(env, platform, path, problems, platform.name, editable)
        expected = raw.environments.get(name, {}).get(platform.name, [])
        if len(expected) != len(conda) + len(pypi) + missing:
            problems.append(
                f"{platform.name}: the file lists {len(expected)} entries, rattler returned "
                f"{len(conda) + len(pypi) + missing}"
            )
        subdir = str(platform.subdir)
        by_subdir.setdefault(subdir, []).append(platform.name)
        bodies[subdir] = PlatformLock(
            platform=subdir,
            python=python_of(conda),
            virtual_packages=tuple(platform.virtual_packages),
            conda=tuple(conda),
            pypi=tuple(pypi),
        )
    seen = {p.name for p in env.platforms()}
    for platform_name, entries in raw.environments.get(name, {}).items():
        if platform_name not in seen and entries:
            problems.append(f"{platform_name}: {len(entries)} entries rattler did not return")
    for subdir, names in sorted(by_subdir.items()):
        if len(names) > 1:
            problems.append(
                f"{subdir}: platforms {', '.join(sorted(names))} all install for {subdir} (they "
                "differ in their virtual packages): an Amber lock holds one package set per subdir"
            )
    if problems:
        # The same entry refused on several platforms: said once, with its platforms.
        grouped: dict[str, list[str]] = {}
        for problem in problems:
            where_, _, reason = problem.partition(": ")
            grouped.setdefault(reason, []).append(where_)
        # Sorted: rattler's platform order varies from run to run, the message must not.
        problems = sorted(f"{reason} [{', '.join(sorted(p))}]" for reason, p in grouped.items())
        listed = problems[:_MAX_LISTED]
        more = len(problems) - len(listed)
        raise LockFileError(
            f"{where}: Amber cannot import {len(problems)} "
            f"entr{'y' if len(problems) == 1 else 'ies'}, and leaves none out silently: "
            + "; ".join(listed)
            + (f"; and {more} more" if more else ""),
            path=path,
        )
    channels = [str(c).rstrip("/") for c in env.channels()]
    # A local project's path is relative to the pixi.lock's folder, as pixi reads it.
    return imported_lock(list(bodies.values()), channels).located(path.parent)


def _chosen(path: Path, raw: _Raw, environment: str | None) -> str:
    names = sorted(raw.environments)
    if environment is not None:
        if environment not in raw.environments:
            raise LockFileError(
                f"{path}: no environment {environment!r} (it has: {', '.join(names) or 'none'})",
                path=path,
            )
        return environment
    if ENVIRONMENT in raw.environments:
        if len(names) > 1:
            warnings.warn(
                SpecWarning(
                    f"it has environments {', '.join(names)}: importing {ENVIRONMENT!r} "
                    "(choose one with --environment NAME)",
                    path,
                ),
                stacklevel=3,
            )
        return ENVIRONMENT
    if len(names) == 1:
        return names[0]
    raise LockFileError(
        f"{path}: no environment 'default': choose one with --environment NAME "
        f"(it has: {', '.join(names) or 'none'})",
        path=path,
    )


def _platform(
    env: Any, platform: Any, path: Path, problems: list[str], where: str, editable: _Editable
) -> tuple[list[LockedConda], list[LockedPypi], int]:
    """The conda and PyPI packages of one platform; what cannot be imported goes to
    ``problems`` (counted in the returned number), named with the reason."""
    conda: list[LockedConda] = []
    pypi: list[LockedPypi] = []
    refused = 0
    records = {r.url: r for r in env.conda_repodata_records_for_platform(platform) or []}
    for package in env.packages(platform) or []:
        kind = type(package).__name__
        try:
            if kind == "CondaLockedSourcePackage":
                raise LockFileError(
                    f"source package `{package.name}` (conda: {package.location}) is built by "
                    "pixi-build; Amber cannot build it: build it with `pixi build` and lock "
                    "the archive from a channel"
                )
            if kind == "CondaLockedBinaryPackage":
                location = str(package.location)
                record = records.get(location)
                if record is None and "://" not in location:  # rattler 7 writes file:// as a path
                    local = os.path.normpath(path.parent.absolute() / location)
                    record = records.get(Path(local).as_uri())
                if record is None:
                    raise LockFileError(f"`{package.name}`: rattler returned no record for it")
                if record.sha256 is None:
                    raise LockFileError(
                        f"`{package.name}` ({record.file_name}) has an md5 but no sha256: "
                        "Amber keeps and verifies packages by sha256"
                    )
                conda.append(_conda(record, path))
            else:
                pypi.append(_pypi(package, path, editable))
        except LockFileError as exc:
            refused += 1
            problems.append(f"{where}: {str(exc).removeprefix(f'{path}: ')}")
    return conda, pypi, refused


def _conda(record: Any, path: Path) -> LockedConda:
    try:
        package = LockedConda.from_record(record)
    except LockFileError as exc:
        raise LockFileError(f"{path}: {exc}", path=path) from None
    if not package.channel:  # pixi may leave it out; the URL says it
        package = replace(package, channel=channel_of(package.url))
    return package


def _pypi(package: Any, path: Path, editable: _Editable) -> LockedPypi:
    location = str(package.location)
    url, _, fragment = location.partition("#")
    inner = package._package
    if url.startswith("git+") and re.fullmatch(r"[0-9a-f]{40}", fragment):
        return _git(package, url, fragment)
    if "://" not in url and not url.endswith((".whl", ".tar.gz", ".zip")):
        return _local(package, url, editable)
    if "://" not in url:  # a wheel or sdist file beside the lock
        url = (path.parent / url).resolve().as_uri()
    hashes = inner.hashes  # the public wrapper fails when there are none
    sha256 = hashes.sha256.hex() if hashes is not None and hashes.sha256 else None
    if sha256 is None and fragment.startswith("sha256="):
        sha256 = fragment.removeprefix("sha256=")
    if sha256 is None:
        raise LockFileError(
            f"PyPI package `{package.name}` has no sha256: Amber locks only hashed files"
        )
    return LockedPypi(
        name=canonicalize_name(package.name),
        version=str(package.version),
        url=url,
        sha256=sha256.lower(),
    )


@dataclass(frozen=True)
class _Editable:
    """What the YAML says of each local project (its version; ``editable: true``, which
    older pixi wrote), and which ones the manifest beside the lock declares with
    ``editable = true`` (newer pixi reads it from there only)."""

    entries: dict[str, dict[str, str]]
    names: frozenset[str] = frozenset()

    def __call__(self, location: str, name: str) -> bool:
        written = self.entries.get(location, {}).get("editable") == "true"
        return written or canonicalize_name(name) in self.names

    def version(self, location: str, read: str) -> str:
        return self.entries.get(location, {}).get("version") or read


def _local(package: Any, location: str, editable: _Editable) -> LockedPypi:
    """A source tree (``pypi: ./path``) as pixi installs it: from the path relative to the
    pixi.lock's folder, editable or not."""
    written = location.replace("\\", "/")
    if posixpath.isabs(written) or re.match(r"^[A-Za-z]:/", written) or written.startswith("~"):
        raise LockFileError(
            f"PyPI package `{package.name}` is the source tree {location}, which is an absolute "
            "path: Amber locks a local project by its path relative to the lock's folder, "
            "which a teammate's checkout shares (re-lock it with pixi from inside the project)"
        )
    relative = posixpath.normpath(written)
    if relative not in (".", "..") and not relative.startswith("../"):
        relative = f"./{relative}"
    return LockedPypi(
        name=canonicalize_name(package.name),
        version=editable.version(location, str(package.version)),
        path=relative,
        editable=editable(location, str(package.name)),
    )


def _local_entries(text: str) -> dict[str, dict[str, str]]:
    """The ``packages:`` entries by location with their ``version`` and ``editable`` as
    written (a line scan: the list is long, and py-rattler says neither for a source tree:
    its version reads ``<dynamic>``)."""
    found: dict[str, dict[str, str]] = {}
    entry: dict[str, str] | None = None
    for line in text.split("\npackages:", 1)[-1].splitlines():
        if line.startswith("- "):
            entry = None
        match = re.match(r"^(?:- |  )(pypi|path|url|version|editable): (.+?)\s*$", line)
        if match is None:
            continue
        key, value = match[1], match[2].strip("'\"")
        if key in ("pypi", "path", "url"):
            if entry is None:
                entry = found.setdefault(value, {})
        elif entry is not None:
            entry[key] = value
    return found


def _editable_in_manifest(folder: Path) -> frozenset[str]:
    """The PyPI dependencies a pixi manifest beside the lock (``pixi.toml``, else
    ``[tool.pixi]`` in ``pyproject.toml``) declares ``editable = true``, in any feature."""
    for name in ("pixi.toml", "pyproject.toml"):
        try:
            data = tomllib.loads((folder / name).read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
            continue
        root = data if name == "pixi.toml" else (data.get("tool") or {}).get("pixi")
        if not isinstance(root, dict):
            continue
        features = [root, *((root.get("feature") or {}).values())]
        tables = [t for f in features if isinstance(f, dict)
                  for t in [f, *((f.get("target") or {}).values())]]  # fmt: skip
        return frozenset(
            canonicalize_name(dep)
            for table in tables
            if isinstance(table, dict)
            for dep, value in (table.get("pypi-dependencies") or {}).items()
            if isinstance(value, dict) and value.get("editable") is True
        )
    return frozenset()


def _git(package: Any, url: str, commit: str) -> LockedPypi:
    """pixi's ``git+URL?subdirectory=X&rev=R#COMMIT``: Amber's git entry, at that commit
    (``rev``/``tag``/``branch`` only said how pixi found it)."""
    base, _, query = url.partition("?")
    subdirectory = dict(part.partition("=")[::2] for part in query.split("&") if part).get(
        "subdirectory"
    )
    return LockedPypi(
        name=canonicalize_name(package.name),
        version=str(package.version),
        url=base + (f"#subdirectory={subdirectory}" if subdirectory else ""),
        commit=commit,
    )
