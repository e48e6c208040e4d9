"""Wheel choice: which file of a release an interpreter takes on a platform.

The tags an interpreter accepts come from ``packaging.tags`` for the target (not the
running) platform, ranked best first; a wheel's tags come from its file name. Every place
that picks a file of a release (the resolve, ``adopt``, reading pylock.toml and hashed
requirements) picks it here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from packaging import tags
from packaging.utils import InvalidWheelFilename, parse_sdist_filename, parse_wheel_filename

from amber.resolve.virtual import DEFAULTS

__all__ = [
    "DistFile", "best_file", "file_version", "wheel_tags", "glibc_minor", "macos_version",
]  # fmt: skip

_NO_REQUIREMENTS: Mapping[str, str] = {}
_LINUX_ARCH = {"linux-64": "x86_64", "linux-32": "i686", "linux-armv7l": "armv7l"}
_LEGACY_MANYLINUX = {17: "manylinux2014", 12: "manylinux2010", 5: "manylinux1"}


@dataclass(frozen=True)
class DistFile:
    """One file of a release, as an index or a lock lists it."""

    name: str  # file name
    url: str
    sha256: str


def glibc_minor(requirements: Mapping[str, str]) -> int:
    """The glibc 2.X a spec's system requirements target (within the range uv knows)."""
    minor = int(requirements.get("libc", DEFAULTS["libc"]).split(".")[1])
    return max(17, min(minor, 40))


def macos_version(requirements: Mapping[str, str]) -> tuple[int, int]:
    """The macOS (major, minor) a spec's system requirements target."""
    major, _, minor = requirements.get("macos", DEFAULTS["macos"]).partition(".")
    return int(major), int(minor or 0)


def wheel_tags(python: str, platform: str, requirements: Mapping[str, str]) -> dict[Any, int]:
    """Wheel tags an interpreter of ``python`` on ``platform`` accepts, best first: {tag: rank}."""
    return _wheel_tags(python, platform, glibc_minor(requirements), macos_version(requirements))


@lru_cache(maxsize=64)
def _wheel_tags(python: str, platform: str, glibc: int, macos: tuple[int, int]) -> dict[Any, int]:
    major, minor = (int(x) for x in python.split(".")[:2])
    if platform.startswith("linux-"):
        arch = _LINUX_ARCH.get(platform, platform.removeprefix("linux-"))
        plats = []
        for m in range(glibc, 4, -1):
            plats.append(f"manylinux_2_{m}_{arch}")
            legacy = _LEGACY_MANYLINUX.get(m)
            if legacy:
                plats.append(f"{legacy}_{arch}")
        plats.append(f"linux_{arch}")
    elif platform.startswith("osx-"):
        arch = "arm64" if platform == "osx-arm64" else "x86_64"
        plats = list(tags.mac_platforms(macos, arch))
    else:
        plats = [{"win-32": "win32", "win-arm64": "win_arm64"}.get(platform, "win_amd64")]
    order = list(tags.cpython_tags((major, minor), platforms=plats))
    order += list(tags.compatible_tags((major, minor), f"cp{major}{minor}", plats))
    return {tag: rank for rank, tag in reversed(list(enumerate(order)))}


def best_file(
    files: Iterable[DistFile],
    python: str,
    platform: str,
    requirements: Mapping[str, str] = _NO_REQUIREMENTS,
    *,
    installed: frozenset[Any] = frozenset(),
) -> DistFile | None:
    """What an installer of ``python`` on ``platform`` takes among ``files``: the first wheel
    with a tag of ``installed`` (the wheel already installed), else the best wheel for the
    platform's tags, else the first sdist (or other archive); None when nothing fits."""
    ranks = wheel_tags(python, platform, requirements)
    best: tuple[int, DistFile] | None = None
    fallback: DistFile | None = None
    for f in files:
        if not f.name.endswith(".whl"):
            fallback = fallback or f
            continue
        try:
            file_tags = parse_wheel_filename(f.name)[3]
        except InvalidWheelFilename:
            continue
        if file_tags & installed:
            return f
        rank = min((ranks[t] for t in file_tags if t in ranks), default=None)
        if rank is not None and (best is None or rank < best[0]):
            best = (rank, f)
    return best[1] if best else fallback


def file_version(name: str) -> str | None:
    """The version in a wheel's or an sdist's standard file name; None for any other name."""
    try:
        if name.endswith(".whl"):
            return str(parse_wheel_filename(name)[1])
        return str(parse_sdist_filename(name)[1])
    except ValueError:  # InvalidWheelFilename, InvalidSdistFilename
        return None
