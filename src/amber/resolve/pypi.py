"""The PyPI half of resolution: ``uv pip compile`` for one platform and interpreter."""

from __future__ import annotations

import sys
import tempfile
from collections.abc import Collection, Mapping, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

from amber._urls import redact
from amber._uv import UvFailed, run_uv
from amber.errors import ResolveError, SourceError
from amber.lock import LockedPypi
from amber.resolve.virtual import DEFAULTS
from amber.spec import Spec

__all__ = ["compile_pypi", "uv_python_platform", "wheel_tags"]


def _glibc_minor(requirements: Mapping[str, str]) -> int:
    minor = int(requirements.get("libc", DEFAULTS["libc"]).split(".")[1])
    return max(17, min(minor, 40))  # the range uv knows targets for


def _macos(requirements: Mapping[str, str]) -> tuple[int, int]:
    major, _, minor = requirements.get("macos", DEFAULTS["macos"]).partition(".")
    return int(major), int(minor or 0)


def uv_python_platform(platform: str, requirements: Mapping[str, str]) -> str:
    """uv's ``--python-platform`` for a conda subdir and the spec's system requirements."""
    if platform.startswith("linux-"):
        arch = "aarch64" if platform == "linux-aarch64" else "x86_64"
        return f"{arch}-manylinux_2_{_glibc_minor(requirements)}"
    return {
        "osx-64": "x86_64-apple-darwin",
        "osx-arm64": "aarch64-apple-darwin",
        "win-64": "x86_64-pc-windows-msvc",
    }[platform]


def wheel_tags(python: str, platform: str, requirements: Mapping[str, str]) -> dict[Any, int]:
    """Wheel tags an interpreter of ``python`` on ``platform`` accepts, best first: {tag: rank}."""
    return _wheel_tags(python, platform, _glibc_minor(requirements), _macos(requirements))


@lru_cache(maxsize=64)
def _wheel_tags(
    python: str, platform: str, glibc_minor: int, macos: tuple[int, int]
) -> dict[Any, int]:
    from packaging import tags

    major, minor = (int(x) for x in python.split(".")[:2])
    if platform.startswith("linux-"):
        arch = "aarch64" if platform == "linux-aarch64" else "x86_64"
        plats = []
        for m in range(glibc_minor, 4, -1):
            plats.append(f"manylinux_2_{m}_{arch}")
            legacy = {17: "manylinux2014", 12: "manylinux2010", 5: "manylinux1"}.get(m)
            if legacy:
                plats.append(f"{legacy}_{arch}")
        plats.append(f"linux_{arch}")
    elif platform.startswith("osx-"):
        arch = "arm64" if platform == "osx-arm64" else "x86_64"
        plats = list(tags.mac_platforms(macos, arch))
    else:
        plats = ["win_amd64"]
    order = list(tags.cpython_tags((major, minor), platforms=plats))
    order += list(tags.compatible_tags((major, minor), f"cp{major}{minor}", plats))
    return {tag: rank for rank, tag in reversed(list(enumerate(order)))}


async def compile_pypi(
    spec: Spec,
    platform: str,
    python: str | None,
    pins: dict[str, str],
    uv_cache: Path,
    prefer: Sequence[LockedPypi] = (),
    upgrade: Collection[str] = (),
) -> list[LockedPypi]:
    """Resolve ``spec.pypi`` for ``platform`` and ``python``.

    ``pins`` are fixed (what conda provides); ``prefer`` are an earlier lock's picks, kept
    where possible (uv reads them from its existing output file) except ``upgrade``'s names.
    """
    import tomllib

    if not spec.pypi:
        return []
    if python is None:
        raise ResolveError(f"{spec}: PyPI packages need a python, and the conda part has none")
    from packaging.version import InvalidVersion, Version

    constraints = list(spec.pypi_constraints)
    for dist, version in sorted(pins.items()):
        try:
            constraints.append(f"{dist}=={Version(version)}")
        except InvalidVersion:
            continue
    with tempfile.TemporaryDirectory(prefix="amber-uv-") as tmp:
        reqs, cons = Path(tmp, "requirements.in"), Path(tmp, "constraints.txt")
        output = Path(tmp, "pylock.toml")
        reqs.write_text("\n".join(spec.pypi) + "\n")
        cons.write_text("\n".join(constraints) + "\n")
        if prefer:
            output.write_text(_pylock(prefer))
        requirements = dict(spec.system_requirements)
        args = [
            "pip", "compile", str(reqs), "--constraints", str(cons),
            "--format", "pylock.toml", "--no-header", "--quiet", "--output-file", str(output),
            "--python-version", python,
            "--python-platform", uv_python_platform(platform, requirements),
            # Only builds sdists; naming it spares uv a slow search of PATH (pyenv shims).
            "--python", sys.executable,
        ]  # fmt: skip
        if spec.as_of:
            args += ["--exclude-newer", spec.as_of]
        for name in sorted(upgrade):
            args += ["--upgrade-package", name]
        if spec.index_url:
            args += ["--index-url", spec.index_url]
        for url in spec.extra_index_urls:
            args += ["--extra-index-url", url]
        try:
            macos = ".".join(map(str, _macos(requirements)))
            target = {"MACOSX_DEPLOYMENT_TARGET": macos} if platform.startswith("osx-") else {}
            await run_uv(args, cache_dir=uv_cache, env=target)
            out = output.read_text()
        except UvFailed as exc:
            message = _clean(exc.stderr, Path(tmp))
            error = SourceError if exc.is_network else ResolveError
            raise error(
                f"{spec}: cannot resolve the PyPI requirements for {platform} "
                f"(python {python}):\n{message}"
            ) from None
    packages = tomllib.loads(out).get("packages", [])
    return [_pick(spec, pkg, python, platform) for pkg in packages]


def _pylock(packages: Sequence[LockedPypi]) -> str:
    """A minimal pylock.toml of earlier picks: uv keeps them as preferences."""
    lines = ['lock-version = "1.0"', 'created-by = "amber"', ""]
    for p in packages:
        kind = "wheels" if p.file_name.endswith(".whl") else "sdist"
        entry = f'{{ url = "{p.url}", hashes = {{ sha256 = "{p.sha256}" }} }}'
        lines += ["[[packages]]", f'name = "{p.name}"', f'version = "{p.version}"']
        lines += [f"{kind} = [{entry}]" if kind == "wheels" else f"sdist = {entry}", ""]
    return "\n".join(lines)


def _pick(spec: Spec, package: dict[str, Any], python: str, platform: str) -> LockedPypi:
    from packaging.utils import InvalidWheelFilename, canonicalize_name, parse_wheel_filename

    name = str(canonicalize_name(package["name"]))
    ranks = wheel_tags(python, platform, dict(spec.system_requirements))
    best: tuple[int, dict[str, Any]] | None = None
    for wheel in package.get("wheels", []):
        filename = wheel.get("name") or wheel["url"].rsplit("/", 1)[-1]
        try:
            wheel_tag_set = parse_wheel_filename(filename)[3]
        except InvalidWheelFilename:
            continue
        rank = min((ranks[t] for t in wheel_tag_set if t in ranks), default=None)
        if rank is not None and (best is None or rank < best[0]):
            best = (rank, wheel)
    chosen = best[1] if best else package.get("sdist") or package.get("archive")
    if not chosen or "url" not in chosen or "sha256" not in chosen.get("hashes", {}):
        raise ResolveError(
            f"{spec}: {name} {package.get('version', '')} has no file for {platform} "
            f"(python {python}) with a URL and sha256 that a lock can pin"
        )
    return LockedPypi(
        name=name,
        version=str(package.get("version", "")),
        url=redact(chosen["url"]),
        sha256=chosen["hashes"]["sha256"],
    )


def _clean(stderr: str, tmp: Path) -> str:
    """uv's message without our temp file names."""
    return stderr.strip().replace(str(tmp / "requirements.in"), "the requirements")
