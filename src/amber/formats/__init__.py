"""Formats in and out: every lock format Amber writes or reads, behind one interface.

Each format is a module here with:

- ``NAME`` (the ``--format`` value), ``SUFFIX`` (default file suffix), ``WHOLE`` (True
  when the format can hold a whole lock: conda and PyPI, every platform);
- ``export(lock: Lock, options: ExportOptions) -> Exported``;
- optionally ``detect(path: Path, head: str) -> bool`` and ``read(path: Path) -> Lock``
  for formats that are also already-resolved input to ``amber lock -f`` (no solve);
  ``read(path, uv_cache=...)`` when the module sets ``READ_NEEDS_UV_CACHE`` (it asks uv
  for the files of pinned releases), ``read(path, network=...)`` when it sets
  ``READ_NEEDS_NETWORK`` (its downloads go through the session's network settings), and
  ``read(path, environment=...)`` when it sets ``READ_ENVIRONMENTS`` (a file of several
  environments: pixi.lock).

Exports report what the format cannot carry in ``Exported.lost`` (one line each),
which the CLI prints on stderr.
"""

from __future__ import annotations

import dataclasses
import importlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

from amber._input import read_head
from amber.errors import AmberError

if TYPE_CHECKING:  # the package stays light: a format's module is imported on use
    from amber.lock import Lock
    from amber.settings import Network

__all__ = [
    "ExportOptions", "Exported", "FORMATS", "get", "detect", "read_resolved", "only_platforms",
    "chosen_platforms",
    "platforms_lost", "git_lost",
]  # fmt: skip

# --format name -> module (imported on use).
FORMATS = {
    "environment.yml": "environment_yml",
    "explicit": "explicit",
    "conda-lock": "conda_lock",
    "pixi": "pixi",
    "requirements": "requirements",
    "pylock": "pylock",
    "cyclonedx": "cyclonedx",
    "uv.lock": "uv_lock",
}


@dataclass(frozen=True)
class ExportOptions:
    """What the user asked of an export."""

    platforms: tuple[str, ...] = ()  # empty: every platform the format can hold / the host's
    no_builds: bool = False  # environment.yml: name=version without builds
    from_history: bool = False  # environment.yml: the user's own spec (with its pip section)
    name: str | None = None  # environment.yml `name:`, the SBOM's root component
    # CycloneDX: where installed wheels' ``*.dist-info`` are (the env's site-packages, uv's
    # unpacked wheels), for the PyPI packages' licenses.
    metadata_dirs: tuple[Path, ...] = ()
    lock_version: int | None = None  # pixi.lock: the file format version (default: newest)


@dataclass(frozen=True)
class Exported:
    """An export: one file (``files`` maps a suffix-less label to text when a format writes
    several, e.g. one explicit file per platform) and what the format lost."""

    text: str = ""
    files: dict[str, str] = field(default_factory=dict)  # platform -> text, when several
    lost: tuple[str, ...] = ()


def chosen_platforms(lock: Lock, options: ExportOptions) -> list[str]:
    """The platforms an export covers: those asked for (each must be in the lock), else all."""
    if not options.platforms:
        return sorted(lock.platforms)
    missing = [p for p in options.platforms if p not in lock.platforms]
    if missing:
        raise AmberError(
            f"the lock has no packages for {', '.join(missing)} (it has: "
            f"{', '.join(sorted(lock.platforms)) or 'none'})"
        )
    return sorted(set(options.platforms))


def platforms_lost(lock: Lock, exported: Iterable[str]) -> list[str]:
    """The ``lost`` line for platforms of ``lock`` that an export leaves out, if any."""
    dropped = sorted(set(lock.platforms) - set(exported))
    return [f"platforms not exported: {', '.join(dropped)}"] if dropped else []


def git_lost(lock: Lock, exported: Iterable[str], fmt: str) -> list[str]:
    """The ``lost`` line for PyPI entries locked to a git commit, which ``fmt`` cannot carry
    (it pins files by hash): each with the line that installs exactly that commit."""
    lines = sorted(
        {p.requirement_line() for n in exported for p in lock.platforms[n].pypi if p.commit}
    )
    local = sorted(
        {p.requirement_line() for n in exported for p in lock.platforms[n].pypi if p.path}
    )
    out = []
    if lines:
        out.append(
            f"git commits ({fmt} pins files by hash; install these apart): {', '.join(lines)}"
        )
    if local:
        out.append(
            f"local projects ({fmt} pins files by hash; install these apart, from the spec's "
            f"folder): {', '.join(local)}"
        )
    return out


def get(name: str) -> ModuleType:
    """The module of a format; ``AmberError`` listing the known ones."""
    if name not in FORMATS:
        raise AmberError(f"unknown format {name!r} (known: {', '.join(FORMATS)})")
    return importlib.import_module(f"amber.formats.{FORMATS[name]}")


def detect(path: Path) -> str | None:
    """The format of an already-resolved file (explicit, conda-lock, pixi.lock, pylock,
    hashed requirements), or None for anything else (specs, amber locks)."""
    head = read_head(path, 4096)
    if not head:
        return None
    # A cheap look at the text first, so that only a likely format's module is imported
    # (this runs for every spec `install`/`run` reads).
    candidates = [name for name, looks in _LOOKS.items() if looks(path.name.lower(), head)]
    for name in candidates:
        if get(name).detect(path, head):
            return name
    return None


_LOOKS = {
    "explicit": lambda name, head: "@EXPLICIT" in head or ".conda" in head or ".tar.bz2" in head,
    "conda-lock": lambda name, head: (
        name.endswith((".yml", ".yaml")) and ("content_hash:" in head or "package:" in head)
    ),
    "pixi": lambda name, head: (
        "environments:" in head and (name.endswith(".lock") or "version:" in head)
    ),
    "requirements": lambda name, head: "--hash" in head,
    "pylock": lambda name, head: name.endswith(".toml") and "lock-version" in head,
    "uv.lock": lambda name, head: (
        name == "uv.lock" or (name.endswith(".lock") and "[[package]]" in head)
    ),
}


def read_resolved(
    path: Path,
    name: str | None = None,
    *,
    uv_cache: Path,
    network: Network | None = None,
    categories: Iterable[str] = (),
    environment: str | None = None,
) -> Lock:
    """A ``Lock`` holding exactly the packages of an already-resolved file; ``uv_cache`` is
    uv's cache, for the formats that look their files up on an index; ``network`` the
    settings (mirrors, proxies, CA bundle) every download of the import goes through;
    ``categories`` those of a conda-lock file; ``environment`` the one to read, for the
    formats that hold several (``READ_ENVIRONMENTS``: pixi.lock)."""
    name = name or detect(path)
    if name is None:
        raise AmberError(f"{path}: not a format Amber imports")
    module = get(name)
    kwargs: dict[str, Any] = {}
    categories = tuple(categories)
    if categories:
        if name != "conda-lock":
            raise AmberError(
                f"--category chooses the categories of a conda-lock file, and {path} is {name}"
            )
        kwargs["categories"] = categories
    if environment is not None:
        if not getattr(module, "READ_ENVIRONMENTS", False):
            raise AmberError(
                f"{path}: --environment chooses an environment of a pixi.lock or a pixi "
                f"manifest, and this is a {name} file (it has one)"
            )
        kwargs["environment"] = environment
    if getattr(module, "READ_NEEDS_UV_CACHE", False):
        kwargs["uv_cache"] = uv_cache
    if getattr(module, "READ_NEEDS_NETWORK", False):
        kwargs["network"] = network
    return module.read(path, **kwargs)


def only_platforms(lock: Lock, platforms: Iterable[str], source: object) -> Lock:
    """``lock`` with only ``platforms`` (``-p``), each of which it must have."""
    wanted = sorted(set(platforms))
    missing = [p for p in wanted if p not in lock.platforms]
    if missing:
        raise AmberError(
            f"{source} has no packages for {', '.join(missing)} (it has: "
            f"{', '.join(sorted(lock.platforms)) or 'none'})"
        )
    spec = lock.spec.with_platforms(wanted)
    kept = {p: lock.platforms[p] for p in wanted}
    return dataclasses.replace(lock, spec=spec, req_id=spec.req_id, platforms=kept)
