"""Resolve a ``Spec`` into a ``Lock``: conda with rattler, PyPI with uv, per platform.

A PyPI-only spec never loads rattler or asyncio (benchmark 14: `amber lock` of a PyPI env
against uv): its platforms are uv calls in threads; a conda part brings the solver and an
event loop, where uv runs in a thread beside rattler's solves.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from amber._names import canonical_name
from amber._progress import Progress
from amber.channels import CondaConfig
from amber.errors import ResolveError
from amber.lock import Lock, LockedConda, LockedPypi, PlatformLock
from amber.resolve.virtual import virtual_packages
from amber.settings import Network
from amber.spec import Spec

if TYPE_CHECKING:
    from amber.policy import Policy
    from amber.resolve.conda import CondaSolver

__all__ = ["resolve", "ResolveCaches"]


@dataclass(frozen=True)
class ResolveCaches:
    """Where resolution may keep what it downloads (repodata, uv's cache, package cache)."""

    repodata: Path
    uv: Path
    conda_pkgs: Path
    network: Network = field(default_factory=Network)  # how downloads reach the channels


def resolve(
    spec: Spec,
    caches: ResolveCaches,
    progress: Progress | None = None,
    *,
    previous: Lock | None = None,
    update: Collection[str] = (),
    channel_config: CondaConfig | None = None,
    policy: Policy | None = None,
) -> Lock:
    """Resolve every target platform of ``spec`` concurrently into one ``Lock``.

    With ``previous``, its packages are kept wherever the request allows, except the
    ones named in ``update`` (conda or PyPI names), which may move to their newest. With
    ``policy``, what it refuses (sources, bans, cooldown) is invisible to the solvers, and
    the lock records the policy's digest.
    """
    progress = progress or Progress(quiet=True)
    keep = _Previous(previous, {_normal(n) for n in update})
    platforms = spec.target_platforms
    with progress.task(f"Resolving {spec} for {', '.join(platforms)}"):
        if spec.is_conda:
            import asyncio  # with the solver: only for a conda part

            from amber.resolve.conda import CondaSolver

            solver = CondaSolver(
                spec, caches.repodata, caches.conda_pkgs, caches.network, channel_config, policy
            )
            results = asyncio.run(_resolve_conda(spec, platforms, solver, caches, keep, policy))
        elif len(platforms) == 1:
            results = [_resolve_pypi(spec, platforms[0], caches, keep, policy)]
        else:
            with ThreadPoolExecutor(len(platforms)) as pool:
                results = list(
                    pool.map(lambda p: _resolve_pypi(spec, p, caches, keep, policy), platforms)
                )
    return Lock(
        spec=spec,
        req_id=spec.req_id,
        platforms={p.platform: p for p in results},
        policy=policy.digest if policy is not None else None,
    )


def _normal(name: str) -> str:
    return canonical_name(name)


@dataclass(frozen=True)
class _Previous:
    """The pins to keep from an earlier lock (for minimal changes)."""

    lock: Lock | None
    update: set[str]

    def conda(self, platform: str) -> list[LockedConda]:
        if self.lock is None or platform not in self.lock.platforms:
            return []
        return [
            c for c in self.lock.platforms[platform].conda if _normal(c.name) not in self.update
        ]

    def pypi(self, platform: str) -> list[LockedPypi]:
        if self.lock is None or platform not in self.lock.platforms:
            return []
        return list(self.lock.platforms[platform].pypi)


async def _resolve_conda(
    spec: Spec,
    platforms: Sequence[str],
    solver: CondaSolver,
    caches: ResolveCaches,
    keep: _Previous,
    policy: Policy | None = None,
) -> list[PlatformLock]:
    import asyncio  # loaded by ``resolve`` already, for a conda part only

    return await asyncio.gather(
        *(_resolve_platform(spec, p, solver, caches, keep, policy) for p in platforms)
    )


def _resolve_pypi(
    spec: Spec, platform: str, caches: ResolveCaches, keep: _Previous, policy: Policy | None
) -> PlatformLock:
    """A platform of a spec without a conda part: one uv call (more under a policy's bans)."""
    from amber.resolve.pypi import compile_pypi  # noqa: PLC0415 - a PyPI part's cost

    python = spec.python_version
    pypi = compile_pypi(
        spec, platform, python, {}, caches.uv, keep.pypi(platform), keep.update, caches.network,
        policy=policy,
    )  # fmt: skip
    _check_hashed(spec, platform, pypi)
    return PlatformLock(platform=platform, python=python, pypi=tuple(pypi))


async def _resolve_platform(
    spec: Spec,
    platform: str,
    solver: CondaSolver,
    caches: ResolveCaches,
    keep: _Previous,
    policy: Policy | None = None,
) -> PlatformLock:
    import asyncio  # loaded by ``resolve`` already, for a conda part only

    prefer, upgrade = keep.pypi(platform), keep.update
    virtual = virtual_packages(platform, dict(spec.system_requirements))
    conda = await solver.solve(platform, virtual, keep.conda(platform))
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
        from amber.resolve.pypi import compile_pypi  # noqa: PLC0415 - a PyPI part's cost

        pypi = await asyncio.to_thread(
            lambda: compile_pypi(
                spec,
                platform,
                python,
                pins,
                caches.uv,
                prefer,
                upgrade,
                caches.network,
                policy=policy,
            )  # fmt: skip
        )
    pypi = [p for p in pypi if p.name not in provided]
    _check_hashed(spec, platform, pypi)
    return PlatformLock(
        platform=platform,
        python=python,
        virtual_packages=tuple(virtual),
        conda=tuple(conda),
        pypi=tuple(pypi),
        provided=provided,
    )


def _check_hashed(spec: Spec, platform: str, pypi: Sequence[LockedPypi]) -> None:
    """pip's hash-checking mode: once one requirement has a --hash, every package pip would
    install needs one (dependencies too); what conda provides is already installed."""
    if not spec.pypi_hashes:
        return
    hashed = dict(spec.pypi_hashes)
    missing = sorted(f"{p.name}=={p.version}" for p in pypi if p.name not in hashed)
    if missing:
        raise ResolveError(
            f"{spec}: a requirement has --hash, so, as with pip's hash-checking mode, every "
            f"package installed from PyPI needs one; these have none: {', '.join(missing)}. "
            "Add `name==version --hash=sha256:...` lines for them (or remove the --hash)",
            platform=platform,
            package=missing[0].split("==")[0],
        )
