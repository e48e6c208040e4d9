"""Resolve a ``Spec`` into a ``Lock``: conda with rattler, PyPI with uv, per platform."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path

from amber._progress import Progress
from amber.lock import Lock, PlatformLock
from amber.resolve.conda import CondaSolver
from amber.resolve.pypi import compile_pypi
from amber.spec import Spec

__all__ = ["resolve", "ResolveCaches"]


@dataclass(frozen=True)
class ResolveCaches:
    """Where resolution may keep what it downloads (repodata, uv's cache, package cache)."""

    repodata: Path
    uv: Path
    conda_pkgs: Path


def resolve(spec: Spec, caches: ResolveCaches, progress: Progress | None = None) -> Lock:
    """Resolve every target platform of ``spec`` concurrently into one ``Lock``."""
    progress = progress or Progress(quiet=True)
    return asyncio.run(_resolve(spec, caches, progress))


async def _resolve(spec: Spec, caches: ResolveCaches, progress: Progress) -> Lock:
    solver = CondaSolver(spec, caches.repodata, caches.conda_pkgs) if spec.is_conda else None
    platforms = spec.target_platforms
    label = ", ".join(platforms)
    with progress.task(f"Resolving {spec} for {label}"):
        results = await asyncio.gather(
            *(_resolve_platform(spec, p, solver, caches) for p in platforms)
        )
    return Lock(
        spec=spec.canonical(), req_id=spec.req_id, platforms={p.platform: p for p in results}
    )


async def _resolve_platform(
    spec: Spec, platform: str, solver: CondaSolver | None, caches: ResolveCaches
) -> PlatformLock:
    if solver is None:
        python = spec.python_version
        pypi = await compile_pypi(spec, platform, python, {}, caches.uv)
        return PlatformLock(platform=platform, python=python, pypi=tuple(pypi))
    conda = await solver.solve(platform)
    python = next((c.version for c in conda if c.name == "python"), None)
    provided: dict[str, str] = {}
    pins: dict[str, str] = {}
    pypi = []
    if spec.pypi:
        dists = await solver.provided_dists(conda)
        for conda_name, dist_list in dists.items():
            for dist, version in dist_list:
                provided[dist] = conda_name
                if version:
                    pins[dist] = version
        pypi = await compile_pypi(spec, platform, python, pins, caches.uv)
    return PlatformLock(
        platform=platform,
        python=python,
        conda=tuple(conda),
        pypi=tuple(p for p in pypi if p.name not in provided),
        provided=provided,
    )
