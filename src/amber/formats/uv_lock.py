"""``uv.lock``: the lock every uv project commits, imported without solving.

uv itself reads it: ``uv export --frozen --format pylock.toml`` gives the packages that
``uv sync`` would install (the default dependency groups included, as ``uv sync`` takes
them), with their markers and files; the pylock reader then picks, for each platform the
lock supports, the packages whose markers hold there and the file an installer would take.

The project itself and the workspace members are the user's own source trees, which
``uv sync`` installs editable: they are left out with a warning naming them, as
``uv export --no-emit-workspace`` does. Any other local directory is refused by name.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import re
import sys
import tomllib
import warnings
from pathlib import Path
from typing import Any

from packaging.markers import InvalidMarker, Marker
from packaging.pylock import Pylock, PylockValidationError
from packaging.specifiers import InvalidSpecifier, SpecifierSet

from amber._input import read_input, shorten
from amber._uv import UvFailed, run_uv
from amber.errors import AmberError, LockFileError, SpecWarning
from amber.formats import Exported, ExportOptions
from amber.formats.pylock import evaluate, lock_of_pins, select
from amber.lock import Lock, LockedPypi
from amber.settings import uv_index_environ

__all__ = [
    "NAME", "SUFFIX", "WHOLE", "READ_NEEDS_UV_CACHE", "export", "detect", "read", "stale",
]  # fmt: skip

NAME = "uv.lock"
SUFFIX = ".lock"
WHOLE = False
READ_NEEDS_UV_CACHE = True  # read() runs `uv export` with Amber's uv cache

# The platforms a universal uv.lock is read for (those uv and PyPI publish wheels for).
# A project's settings (`[tool.uv]`, uv.toml) are part of what its lock means: uv reads
# them here as it does for the user (Amber's other uv calls read no settings file).
_AS_UV = {"UV_NO_CONFIG": "0"}

PLATFORMS = ("linux-64", "linux-aarch64", "osx-64", "osx-arm64", "win-64")


def export(lock: Lock, options: ExportOptions) -> Exported:
    """uv.lock is uv's to write (``uv lock``): Amber reads it only."""
    raise AmberError(
        "Amber does not write uv.lock (uv writes it with `uv lock`): export "
        "--format pylock instead, which uv installs with `uv pip install -r pylock.toml`"
    )


def detect(path: Path, head: str) -> bool:
    """A file named ``uv.lock``, or a ``.lock`` that starts like one."""
    if path.name == "uv.lock":
        return True
    return bool(
        re.search(r"^version\s*=\s*\d+\s*$", head, re.M)
        and re.search(r"^requires-python\s*=", head, re.M)
        and "[[package]]" in head
    )


def read(path: Path, *, uv_cache: Path) -> Lock:
    """A PyPI-only ``Lock`` of what ``uv sync`` installs from ``path``, on every platform
    the lock supports; ``LockFileError`` naming the entry for what Amber cannot hold."""
    fail = lambda message: LockFileError(f"{path}: {message}", path=path)  # noqa: E731
    text = read_input(path, fail)
    try:
        raw = tomllib.loads(text)
    except (tomllib.TOMLDecodeError, RecursionError) as exc:
        raise fail(f"malformed TOML: {shorten(exc)}") from None
    members = _workspace_members(raw, path)
    exported = _uv_export(path, uv_cache)
    try:
        pylock = Pylock.from_dict(tomllib.loads(exported))
    except (tomllib.TOMLDecodeError, PylockValidationError) as exc:
        raise fail(f"uv export gave no valid pylock.toml: {shorten(exc)}") from None

    skipped = []
    kept = []
    for package in pylock.packages:
        directory = package.directory
        if directory is not None and str(package.name) in members:
            skipped.append(str(package.name))
            continue
        if directory is not None:
            raise LockFileError(
                f"{path}: package {package.name} is the local directory {directory.path!r}: "
                "Amber locks files by their sha256, and a source tree has none (publish it "
                "to an index, or depend on it by git commit)",
                path=path,
                package=str(package.name),
            )
        kept.append(package)
    if skipped:
        warnings.warn(
            SpecWarning(
                f"left out the project's own source trees, which `uv sync` installs editable "
                f"(as `uv export --no-emit-workspace` does): {', '.join(sorted(skipped))}",
                path,
            ),
            stacklevel=2,
        )
    pylock = dataclasses.replace(pylock, packages=kept)
    python = _python(raw, path)
    platforms = _platforms(raw, path, python)
    chosen: dict[str, list[LockedPypi]] = {}
    left_out: list[str] = []
    for platform in platforms:
        try:
            chosen[platform] = select(pylock, platform, python, path)
        except LockFileError as exc:
            if len(platforms) == 1:
                raise
            left_out.append(f"{platform} ({exc})")
    if left_out:
        warnings.warn(SpecWarning(f"platforms left out: {'; '.join(left_out)}", path), stacklevel=2)
    if not chosen:
        raise fail(f"no platform has a file for every package: {'; '.join(left_out)}")
    indexes = sorted({str(p.index) for p in kept if p.index is not None})
    default = "https://pypi.org/simple"
    index_url = None if default in indexes or not indexes else indexes[0]
    extra = [u for u in indexes if u not in (default, index_url)]
    return lock_of_pins(
        chosen, {p: python for p in chosen}, index_url=index_url, extra_index_urls=extra
    )


def _workspace_members(raw: dict[str, Any], path: Path) -> set[str]:
    """The names uv installs from the workspace's own trees: the root project and the
    ``[manifest] members``."""
    manifest = raw.get("manifest", {})
    members = manifest.get("members", []) if isinstance(manifest, dict) else []
    names = {m for m in members if isinstance(m, str)}
    for package in raw.get("package", []):
        source = package.get("source", {}) if isinstance(package, dict) else {}
        if (
            isinstance(source, dict)
            and source.get("virtual") == "."
            or (isinstance(source, dict) and source.get("editable") == ".")
        ):
            name = package.get("name")
            if isinstance(name, str):
                names.add(name)
    return names


def stale(path: Path, uv_cache: Path) -> str | None:
    """None when ``path`` (a project's uv.lock) matches its pyproject.toml, as
    ``uv lock --check`` decides; else uv's reason."""
    args = ["lock", "--check", "--quiet", "--directory", str(path.parent.resolve())]
    try:
        asyncio.run(run_uv(args, cache_dir=uv_cache, env={**_AS_UV, **uv_index_environ()}))
    except UvFailed as exc:
        said = re.sub(r"://[^/\s@]+@", "://", exc.stderr.strip())
        lines = [line for line in said.splitlines() if line.startswith("error:")]
        reason = (lines or [said])[0].removeprefix("error: ")
        return "out of date" if "needs to be updated" in reason or not reason else shorten(reason)
    return None


def _uv_export(path: Path, uv_cache: Path) -> str:
    """``uv export --frozen --format pylock.toml`` of the project ``path`` locks."""
    if path.name != "uv.lock":
        raise LockFileError(
            f"{path}: uv reads a project's lock only under the name uv.lock: rename it",
            path=path,
        )
    args = [
        "export", "--frozen", "--format", "pylock.toml", "--quiet",
        "--directory", str(path.parent.resolve()),
    ]  # fmt: skip
    try:
        return asyncio.run(run_uv(args, cache_dir=uv_cache, env={**_AS_UV, **uv_index_environ()}))
    except UvFailed as exc:
        said = re.sub(r"://[^/\s@]+@", "://", exc.stderr.strip())  # no index credentials
        raise LockFileError(
            f"{path}: uv cannot read it (uv export --frozen):\n{said}", path=path
        ) from None


def _python(raw: dict[str, Any], path: Path) -> str:
    """The Python ``uv sync`` would use: ``.python-version`` beside the project, else the
    running one when ``requires-python`` allows it."""
    requires = raw.get("requires-python")
    try:
        allowed = SpecifierSet(requires) if isinstance(requires, str) else SpecifierSet()
    except InvalidSpecifier:
        raise LockFileError(
            f"{path}: requires-python {shorten(requires)!r} is not a version range", path=path
        ) from None
    pinned = path.parent / ".python-version"
    if os.path.isfile(pinned):
        first = read_input(pinned, lambda m: LockFileError(f"{pinned}: {m}", path=pinned))
        match = re.match(r"\s*(?:cpython-|python)?(\d+\.\d+)", first)
        if match:
            return match.group(1)
    running = f"{sys.version_info.major}.{sys.version_info.minor}"
    if allowed.contains(f"{running}.{sys.version_info.micro}"):
        return running
    raise LockFileError(
        f"{path}: requires-python {requires!r} excludes the running Python ({running}): "
        "name the version in a .python-version file beside it, as uv reads it",
        path=path,
    )


def _platforms(raw: dict[str, Any], path: Path, python: str) -> list[str]:
    """The platforms of ``PLATFORMS`` that ``supported-environments`` allows (all of them
    when the lock is universal)."""
    supported = raw.get("supported-environments") or []
    if not isinstance(supported, list):
        raise LockFileError(f"{path}: supported-environments must be a list", path=path)
    markers = []
    for text in supported:
        try:
            markers.append(Marker(str(text)))
        except InvalidMarker:
            raise LockFileError(
                f"{path}: supported-environments entry {shorten(text)!r} is not a marker",
                path=path,
            ) from None
    platforms = [
        p for p in PLATFORMS if not markers or any(evaluate(m, p, python) for m in markers)
    ]
    if not platforms:
        raise LockFileError(
            f"{path}: its supported-environments match none of {', '.join(PLATFORMS)}",
            path=path,
        )
    return platforms
