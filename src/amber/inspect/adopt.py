"""Adopt an existing conda environment: what its user asked for, and an exact lock of it.

``conda-meta/*.json`` gives every conda package with its URL and sha256;
``conda-meta/history`` what the user asked for; the ``*.dist-info`` directories
that no conda package owns are the PyPI distributions installed on top (pip, uv),
whose files on the index uv finds. Nothing in the prefix is changed.
"""

from __future__ import annotations

import ast
import asyncio
import hashlib
import json
import re
import shlex
from collections.abc import Sequence
from dataclasses import dataclass, replace
from importlib.metadata import PathDistribution
from pathlib import Path
from typing import Any

from packaging.tags import parse_tag
from packaging.utils import canonicalize_name
from rattler import MatchSpec, PrefixRecord

from amber._fs import write_atomic
from amber._platform import host_platform
from amber._progress import Progress
from amber._urls import channel_url, redact
from amber._uv import UvFailed
from amber.errors import AdoptError, LockFileError, SourceError, SpecError
from amber.formats.environment_yml import spec_text
from amber.lock import Lock, LockedConda, LockedPypi, PlatformLock
from amber.resolve.pypi import release_files
from amber.resolve.virtual import virtual_packages
from amber.resolve.wheels import DistFile, best_file
from amber.settings import Network
from amber.spec import PLATFORMS, Spec, canonical_conda_spec
from amber.store import Store
from amber.store.conda_meta import prefix_files

__all__ = ["Adopted", "AdoptError", "adopt_prefix", "history_specs", "write_adopted"]

_HEADER = "adopted by `amber import --prefix`: the lock beside it pins every package"
_ANACONDA_ORG = "https://conda.anaconda.org/"
_SPECS_LINE = re.compile(r"^#\s*(\w+)\s*specs:\s*(.*)$")
_CMD_LINE = re.compile(r"^#\s*cmd:\s*(.+)$")
_DIST_DIR = re.compile(r"(?:^|/)site-packages/([^/]+\.(?:dist-info|egg-info))(?:/|$)")


@dataclass(frozen=True)
class Adopted:
    """An adopted environment: its spec, a lock of exactly what is installed, and what could
    not be carried over (one line each)."""

    prefix: Path
    spec: Spec
    lock: Lock
    requested_from: str  # "history", "conda-meta" (records' requested specs) or "top-level"
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class _PipDist:
    name: str  # canonical
    version: str
    path: Path
    tags: frozenset[Any]  # the installed wheel's tags (from its WHEEL file)
    url: str | None = None  # installed from this archive URL (direct_url.json)
    sha256: str | None = None  # ... with this hash, when the installer recorded it


def adopt_prefix(
    prefix: Path | str,
    *,
    store: Store,
    index_url: str | None = None,
    extra_index_urls: Sequence[str] = (),
    progress: Progress | None = None,
) -> Adopted:
    """Read the conda environment at ``prefix`` into a ``Spec`` and a ``Lock`` of exactly its
    packages; ``AdoptError`` when it is not one. PyPI files are looked up on ``index_url``
    (default PyPI) and ``extra_index_urls``."""
    progress = progress or Progress(quiet=True)
    prefix = Path(prefix).expanduser().absolute()
    warnings: list[str] = []
    records = _read_records(prefix)
    conda = [_locked(prefix, r) for r in records]
    platform = _platform_of(conda)
    python_record = next((c for c in conda if c.name == "python"), None)
    python = python_record.version if python_record else None
    python_xy = ".".join(python.split(".")[:2]) if python else None

    owners = _dist_owners(prefix)
    provided = _provided(conda, owners)
    pip: list[_PipDist] = []
    if python_xy is not None:
        site = prefix / _site_packages(python_record, python_xy, platform)
        pip = _pip_installed(site, owners, warnings)
    shadowing = [d for d in pip if d.name in provided]
    for d in shadowing:
        warnings.append(
            f"{d.name} {d.version} was installed with pip over the conda package "
            f"{provided[d.name]}: the lock keeps the conda package (Amber never lets PyPI "
            "packages overwrite conda ones)"
        )
    pip = [d for d in pip if d.name not in provided]

    locked_pypi: list[LockedPypi] = []
    if pip:
        assert python_xy is not None
        with progress.task(f"Finding the PyPI files of {len(pip)} packages"):
            locked_pypi = _find_files(
                pip, python_xy, platform, index_url, extra_index_urls, store, warnings
            )
    locked_names = {p.name for p in locked_pypi}
    pypi_requirements = [f"{d.name}=={d.version}" for d in pip if d.name in locked_names]

    requested, source = _requested(prefix, records, warnings)
    if pypi_requirements and python_xy and not any(_name_of(s) == "python" for s in requested):
        # The PyPI packages were installed for this interpreter: a re-lock must keep it.
        requested.append(f"python {python_xy}.*")
    channels = list(dict.fromkeys(_spec_channel(c.channel) for c in _by_first_use(conda, prefix)))
    try:
        spec = Spec.create(
            conda=requested,
            channels=channels,
            pypi=pypi_requirements,
            index_url=index_url,
            extra_index_urls=extra_index_urls,
            platforms=[platform],
            name=prefix.name,
        )
    except SpecError as exc:
        raise AdoptError(
            f"{prefix}: cannot make a spec of this environment: {exc}", prefix=prefix
        ) from None

    body = PlatformLock(
        platform=platform,
        python=python,
        virtual_packages=tuple(virtual_packages(platform, {})),
        conda=tuple(conda),
        pypi=tuple(locked_pypi),
        # As a resolve records it: only when there are PyPI requests to hold back.
        provided=provided if locked_pypi else {},
    )
    lock = Lock(spec=spec, req_id=spec.req_id, platforms={platform: body})
    return Adopted(prefix, spec, lock, source, tuple(warnings))


def write_adopted(
    adopted: Adopted, out_dir: Path | str, *, overwrite: bool = False
) -> tuple[Path, Path]:
    """Write ``environment.yml`` (with its ``pip:`` section) and ``amber.lock`` into
    ``out_dir``; refuses to replace existing files unless ``overwrite``."""

    out = Path(out_dir)
    env_yml, lock_file = out / "environment.yml", out / "amber.lock"
    existing = [p for p in (env_yml, lock_file) if p.exists()]
    if existing and not overwrite:
        raise AdoptError(
            f"{existing[0]} exists: choose another output directory, or remove it first",
            path=existing[0],
        )
    text = spec_text(adopted.spec, header=_HEADER)
    adopted.lock.write(lock_file)
    write_atomic(env_yml, text)
    return env_yml, lock_file


# -- conda-meta --------------------------------------------------------------------


def _read_records(prefix: Path) -> list[Any]:

    if not prefix.is_dir():
        raise AdoptError(f"{prefix}: no such directory", prefix=prefix)
    meta = prefix / "conda-meta"
    if not meta.is_dir():
        raise AdoptError(
            f"{prefix}: not a conda environment (it has no conda-meta directory); "
            "give the prefix of a conda environment, e.g. the path `conda env list` shows",
            prefix=prefix,
        )
    paths = sorted(meta.glob("*.json"))
    if not paths:
        raise AdoptError(
            f"{prefix}: the conda environment has no packages: nothing to adopt", prefix=prefix
        )
    records = []
    for path in paths:
        try:
            records.append(PrefixRecord.from_path(path))
        except Exception as exc:  # rattler raises its own parse/IO errors
            raise AdoptError(
                f"{path}: unreadable conda-meta record ({_first_line(exc)}); "
                "repair the environment with conda, or remove the file if the package is gone",
                path=path,
            ) from None
    return sorted(records, key=lambda r: r.name.normalized)


def _locked(prefix: Path, record: Any) -> LockedConda:
    """The lock entry of an installed record: channel from its URL (conda writes the
    channel with its subdir), sha256 from the cached archive when conda did not record it."""
    if record.sha256 is None:
        record.sha256 = _archive_sha256(prefix, record)
    try:
        locked = LockedConda.from_record(record)
    except LockFileError as exc:
        raise AdoptError(f"{prefix}: {exc}", prefix=prefix) from None
    return replace(locked, channel=_channel_of(locked))


def _archive_sha256(prefix: Path, record: Any) -> bytes:

    tarball = record.package_tarball_full_path
    fn = record.file_name
    if tarball is not None and Path(tarball).is_file():
        with open(tarball, "rb") as f:
            data = f.read()
        if record.md5 is None or hashlib.md5(data).digest() == record.md5:
            return hashlib.sha256(data).digest()
    raise AdoptError(
        f"{prefix}: the record of {fn} has no sha256 (written by an old conda) and its "
        "archive is not in the package cache, so the lock cannot pin it; "
        f"`conda install --force-reinstall {record.name.normalized}` records it",
        prefix=prefix,
    )


def _channel_of(package: LockedConda) -> str:
    tail = f"/{package.subdir}/{package.file_name}"
    if package.url.endswith(tail):
        return package.url[: -len(tail)]
    return package.channel.removesuffix(f"/{package.subdir}")


def _spec_channel(channel: str) -> str:
    """The channel as a user writes it: ``conda-forge`` for anaconda.org's, else its URL."""
    if channel.startswith(_ANACONDA_ORG):
        return channel[len(_ANACONDA_ORG) :].strip("/")
    return channel


def _by_first_use(conda: Sequence[LockedConda], prefix: Path) -> list[LockedConda]:
    """Channels matter in priority order: those named with ``-c`` in the history first
    (in the order given), then the others in the order of the packages' names."""
    named = _history_channels(prefix)

    def rank(c: LockedConda) -> tuple[int, str]:
        forms = (_spec_channel(c.channel), c.channel)
        for i, name in enumerate(named):
            if name.rstrip("/") in forms or channel_url(name) in forms:
                return (i, c.name)
        return (len(named), c.name)

    return sorted(conda, key=rank)


def _platform_of(conda: Sequence[LockedConda]) -> str:

    subdirs = [c.subdir for c in conda if c.name == "python"]
    subdirs += [c.subdir for c in conda if c.subdir != "noarch"]
    platform = subdirs[0] if subdirs else host_platform()
    if platform not in PLATFORMS:
        raise AdoptError(
            f"the environment is for {platform}, which Amber does not support "
            f"(supported: {', '.join(PLATFORMS)})"
        )
    return platform


def _site_packages(python: LockedConda | None, xy: str, platform: str) -> str:
    if python is not None and python.python_site_packages_path:
        return python.python_site_packages_path
    return "Lib/site-packages" if platform.startswith("win-") else f"lib/python{xy}/site-packages"


def _dist_owners(prefix: Path) -> dict[str, str]:
    """``*.dist-info``/``*.egg-info`` names in site-packages -> the conda package owning them."""
    owners: dict[str, str] = {}
    for f in prefix_files(prefix):
        match = _DIST_DIR.search(f.path.replace("\\", "/"))
        if match:
            owners.setdefault(match.group(1), f.package.lower())
    return owners


def _provided(conda: Sequence[LockedConda], owners: dict[str, str]) -> dict[str, str]:
    """PyPI name -> conda package, as resolve records it: the dist-info directories the
    Python packages install, else the conda name itself."""

    provided: dict[str, str] = {}
    for dist_dir, conda_name in owners.items():
        if conda_name != "python":
            provided[str(canonicalize_name(_dist_dir_name(dist_dir)))] = conda_name
    with_dists = set(owners.values())
    for c in conda:
        python_pkg = c.noarch == "python" or any(d.split()[0] == "python" for d in c.depends)
        if c.name != "python" and python_pkg and c.name not in with_dists:
            provided.setdefault(str(canonicalize_name(c.name)), c.name)
    return provided


def _dist_dir_name(dist_dir: str) -> str:
    return dist_dir.rsplit(".", 1)[0].split("-", 1)[0]


# -- what the user asked for --------------------------------------------------------


def history_specs(text: str) -> list[str]:
    """The specs still requested after every command in a ``conda-meta/history`` text,
    in the order first asked for (conda's own reading: updates replace, removals drop)."""
    requested: dict[str, str] = {}
    for line in text.splitlines():
        match = _SPECS_LINE.match(line.strip())
        if not match:
            continue
        action, specs = match.group(1), _parse_specs(match.group(2))
        for spec in specs:
            name = _name_of(spec)
            if name is None:
                continue
            if action in ("update", "install", "create", "neutered"):
                requested[name] = spec
            elif action in ("remove", "uninstall"):
                requested.pop(name, None)
    return list(requested.values())


def _parse_specs(text: str) -> list[str]:
    text = text.strip()
    if text.startswith("["):
        try:
            value = ast.literal_eval(text)
        except (ValueError, SyntaxError):
            return []
        specs = [str(s) for s in value] if isinstance(value, list) else []
    else:
        # conda's old format: "numpy, python >=3.6,<4": a piece that starts with an
        # operator continues the spec before it.
        specs = []
        for piece in text.split(","):
            piece = piece.strip()
            if specs and re.match(r"^[<>=!~]", piece):
                specs[-1] += "," + piece
            elif piece:
                specs.append(piece)
    return [s.strip() for s in specs if s.strip() and not s.strip().endswith("@")]


def _history_channels(prefix: Path) -> list[str]:
    """Channels named with ``-c``/``--channel`` in the history's commands, in order."""

    try:
        text = (prefix / "conda-meta" / "history").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return []
    channels: list[str] = []
    for line in text.splitlines():
        match = _CMD_LINE.match(line.strip())
        if not match:
            continue
        try:
            words = shlex.split(match.group(1))
        except ValueError:
            words = match.group(1).split()
        for i, word in enumerate(words):
            if word in ("-c", "--channel") and i + 1 < len(words):
                channels.append(words[i + 1])
            elif word.startswith("--channel="):
                channels.append(word.split("=", 1)[1])
    return list(dict.fromkeys(channels))


def _requested(prefix: Path, records: Sequence[Any], warnings: list[str]) -> tuple[list[str], str]:
    """(specs, where they came from): the history, else the records' own requested specs
    (rattler, pixi, mamba), else every package no other one depends on."""
    installed = {r.name.normalized for r in records}
    history = prefix / "conda-meta" / "history"
    specs: list[str] = []
    try:
        text = history.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        text = ""
    except OSError as exc:
        warnings.append(f"{history}: unreadable ({exc.strerror}); using the installed packages")
        text = ""
    specs = [s for s in history_specs(text) if _name_of(s) in installed]
    source = "history"
    if not specs:
        source = "conda-meta"
        for r in records:
            asked = list(r.requested_specs) or [r.requested_spec]
            specs += [s for s in asked if s and s != "None" and _name_of(s) in installed]
    if not specs:
        source = "top-level"
        needed = {_name_of(d) for r in records for d in r.depends}
        specs = [r.name.normalized for r in records if r.name.normalized not in needed]
        specs = specs or [r.name.normalized for r in records]
    out: list[str] = []
    for spec in dict.fromkeys(specs):
        try:
            out.append(canonical_conda_spec(spec))
        except SpecError as exc:
            name = _name_of(spec)
            warnings.append(f"{exc}: using '{name}' instead" if name else str(exc))
            if name:
                out.append(name)
    return out, source


def _name_of(spec: str) -> str | None:

    try:
        name = MatchSpec(spec.strip()).name
    except Exception:
        match = re.match(r"^(?:[^:]*::)?([A-Za-z0-9_.\-]+)", spec.strip())
        return match.group(1).lower() if match else None
    return name.normalized if name is not None else None


# -- PyPI distributions installed on top -----------------------------------------------


def _pip_installed(site: Path, owners: dict[str, str], warnings: list[str]) -> list[_PipDist]:
    """The distributions in ``site`` that no conda package owns."""

    if not site.is_dir():
        return []
    found: list[_PipDist] = []
    for path in sorted(site.iterdir()):
        if path.suffix == ".egg-link":
            warnings.append(f"{path.name}: an editable (develop) install, not locked")
            continue
        if path.suffix not in (".dist-info", ".egg-info") or not path.is_dir():
            continue
        if path.name in owners:
            continue
        dist = PathDistribution(path)
        name, version = dist.metadata["Name"], dist.version
        if not name or not version:
            warnings.append(f"{path.name}: no name or version in its metadata, not locked")
            continue
        name = str(canonicalize_name(name))
        installer = (dist.read_text("INSTALLER") or "").strip()
        if installer == "conda":
            warnings.append(
                f"{name} {version}: marked as installed by conda, but no conda-meta record "
                "owns it; not locked"
            )
            continue
        direct = _direct_url(dist)
        if isinstance(direct, str):
            warnings.append(f"{name} {version}: {direct}; not locked")
            continue
        url, sha256 = direct or (None, None)
        found.append(_PipDist(name, version, path, _wheel_tags_of(dist), url, sha256))
    return found


def _direct_url(dist: Any) -> tuple[str | None, str | None] | str | None:
    """None for an install from an index; (url, sha256 or None) for a remote archive;
    else why it cannot be locked (a local directory, a repository, a local file)."""

    text = dist.read_text("direct_url.json")
    if not text:
        return None
    try:
        info = json.loads(text)
    except ValueError:
        return None
    url = str(info.get("url", ""))
    if "dir_info" in info:
        editable = info["dir_info"].get("editable")
        where = f"installed from the local directory {redact(url)}"
        return where + (" (editable)" if editable else "")
    if "vcs_info" in info:
        return f"installed from the {info['vcs_info'].get('vcs', 'vcs')} repository {redact(url)}"
    if not url.startswith(("https://", "http://")):
        return f"installed from the local file {redact(url)}"
    archive = info.get("archive_info") or {}
    sha256 = (archive.get("hashes") or {}).get("sha256")
    if sha256 is None and str(archive.get("hash", "")).startswith("sha256="):
        sha256 = archive["hash"].split("=", 1)[1]
    return redact(url), sha256


def _wheel_tags_of(dist: Any) -> frozenset[Any]:

    tags: set[Any] = set()
    for line in (dist.read_text("WHEEL") or "").splitlines():
        key, _, value = line.partition(":")
        if key.strip() == "Tag" and value.strip():
            try:
                tags |= parse_tag(value.strip())
            except ValueError:
                continue
    return frozenset(tags)


def _find_files(
    dists: Sequence[_PipDist],
    python: str,
    platform: str,
    index_url: str | None,
    extra_index_urls: Sequence[str],
    store: Store,
    warnings: list[str],
) -> list[LockedPypi]:
    """Each distribution's file: the archive it was installed from when it was installed
    from a URL, else on the index the wheel its tags say it was installed from, else the best
    wheel for ``platform``, else the sdist."""
    locked: list[LockedPypi] = []
    lookup: list[_PipDist] = []
    for dist in dists:
        if dist.url and dist.sha256:  # the installer recorded the archive and its hash
            locked.append(LockedPypi(dist.name, dist.version, dist.url, dist.sha256))
        else:
            lookup.append(dist)
    found: dict[str, list[DistFile] | str] = {}
    if lookup:
        found = asyncio.run(
            _compile_each(
                lookup, python, index_url, extra_index_urls, store.uv_cache, store.network
            )
        )
    for dist in lookup:
        files = found.get(dist.name, [])
        if isinstance(files, str):
            warnings.append(f"{dist.name} {dist.version}: not found on the index ({files})")
            continue
        chosen = _installed_file(dist, files, python, platform)
        if chosen is None:
            warnings.append(
                f"{dist.name} {dist.version}: the index has no file with a sha256 for it"
            )
            continue
        locked.append(
            LockedPypi(
                name=dist.name, version=dist.version, url=redact(chosen.url), sha256=chosen.sha256
            )
        )
    return locked


async def _compile_each(
    dists: Sequence[_PipDist],
    python: str,
    index_url: str | None,
    extra_index_urls: Sequence[str],
    uv_cache: Path,
    network: Network,
) -> dict[str, list[DistFile] | str]:
    """name -> every file of that exact version, or why not.

    All at once first; when uv fails, one by one, to tell which ones it cannot find."""
    pins = [f"{d.name}=={d.version}" for d in dists]

    async def files(pins: Sequence[str]) -> dict[str, list[DistFile]]:
        return await release_files(
            pins, python, uv_cache, index_url=index_url, extra_index_urls=extra_index_urls,
            network=network,
        )  # fmt: skip

    try:
        return dict(await files(pins))
    except UvFailed as exc:
        _raise_if_network(exc)
    results = await asyncio.gather(*(files([p]) for p in pins), return_exceptions=True)
    out: dict[str, list[DistFile] | str] = {}
    for dist, result in zip(dists, results, strict=True):
        if isinstance(result, UvFailed):
            _raise_if_network(result)
            out[dist.name] = _uv_reason(result.stderr)
        elif isinstance(result, BaseException):
            raise result
        else:
            out.update(result)
    return out


def _installed_file(
    dist: _PipDist, files: Sequence[DistFile], python: str, platform: str
) -> DistFile | None:
    """The file ``dist`` was installed from: the archive at its recorded URL, else the wheel
    its tags name, else the one ``platform`` would take."""
    if dist.url is not None:
        same = [f for f in files if f.url == dist.url]
        if same:
            return same[0]
    return best_file(files, python, platform, installed=dist.tags)


def _raise_if_network(exc: UvFailed) -> None:
    if exc.is_network:
        message = exc.stderr.strip()
        raise SourceError(f"cannot reach the package index to find the PyPI files:\n{message}")


def _uv_reason(stderr: str) -> str:
    text = " ".join(stderr.split())
    if "there is no version of" in text:
        return "the index has no such version"
    if "not found in the package registry" in text:
        return "the index has no such package"
    lines = [line.strip() for line in stderr.strip().splitlines() if line.strip()]
    return lines[-1].removeprefix("cause:").strip() if lines else "uv failed"


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]
