"""Checking a lock against a spec without solving: is it current, does it satisfy every request."""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from amber._auth import git_repository
from amber._names import canonical_name
from amber._urls import is_url, redact
from amber.channels import CondaConfig
from amber.errors import LockCheckFailed, LockFileError
from amber.lock import Lock, LockedPypi
from amber.spec import Spec
from amber.spec.model import is_unnamed, local_directory

if TYPE_CHECKING:
    from packaging.requirements import Requirement

__all__ = ["LockCheckFailed", "check_lock", "as_locked", "unsatisfied"]


def check_lock(spec: Spec, lock_path: Path) -> Lock:
    """The lock at ``lock_path`` if it is current for ``spec``; ``LockCheckFailed`` says why not.

    No solve: compares the canonical spec and checks every request against the pins.
    """
    if not os.path.isfile(lock_path):
        raise LockCheckFailed(
            f"{lock_path}: no lock file; create it with `amber lock`", path=lock_path
        )
    try:
        existing = Lock.read(lock_path)
    except LockFileError as exc:
        raise LockCheckFailed(f"inconsistent: {exc}") from None
    spec = as_locked(spec, existing)
    if existing.req_id != spec.req_id:
        wanted, had = spec.canonical(), existing.spec.canonical()
        fields = sorted(k for k in {*wanted, *had} if wanted.get(k) != had.get(k))
        raise LockCheckFailed(
            f"{lock_path} is stale: {spec} changed since the lock was made "
            f"({', '.join(fields) or 'spec'} differ); re-lock with `amber lock`",
            path=lock_path,
        )
    problems = unsatisfied(spec, existing)
    if problems:
        raise LockCheckFailed(
            f"{lock_path} is inconsistent with {spec}: " + "; ".join(problems), path=lock_path
        )
    return existing


def unsatisfied(spec: Spec, existing: Lock) -> list[str]:
    """Requests that the locked packages do not satisfy, per platform."""
    problems = []
    if spec.conda:
        from rattler import MatchSpec  # only for a conda part: a PyPI-only check needs none
    for platform, body in sorted(existing.platforms.items()):
        records = [c.to_record() for c in body.conda] if spec.conda else []
        for text in spec.conda:
            if not any(r.matches(MatchSpec(text)) for r in records):
                problems.append(f"{platform}: no locked package satisfies '{text}'")
        versions = {p.name: p.version for p in body.pypi}
        for text in spec.pypi:
            local = local_directory(text)
            if local is not None:
                if not any((p.path, p.editable) == local for p in body.pypi):
                    problems.append(f"{platform}: '{text}' is not locked")
                continue
            if is_unnamed(text):
                # Named by uv at lock time: some entry must come from that source.
                if not any(_from_source(p, text) for p in body.pypi):
                    problems.append(f"{platform}: nothing locked from '{redact(text)}'")
                continue
            req = _requirement(text)
            name = canonical_name(req.name)
            if name in body.provided:
                continue
            if name not in versions:
                if req.marker is None:
                    problems.append(f"{platform}: '{name}' is not locked")
            elif not req.specifier.contains(versions[name], prereleases=True):
                problems.append(f"{platform}: locked {name} {versions[name]} violates '{text}'")
    return problems


def _from_source(locked: LockedPypi, url: str) -> bool:
    """Whether ``locked`` is what the unnamed reference ``url`` resolved to: the same git
    repository (and subdirectory), or the same archive URL."""
    if url.startswith("git+"):
        if locked.commit is None:
            return False
        repo, revision = git_repository(url)
        fragment = revision.partition("#")[2]
        sub = next(
            (v for k, _, v in (f.partition("=") for f in fragment.split("&"))
             if k == "subdirectory" and v not in ("", ".")),
            "",
        )  # fmt: skip
        want = f"git+{redact(repo)}" + (f"#subdirectory={sub}" if sub else "")
        norm = lambda u: u.replace("git+file:///", "git+file:/", 1).rstrip("/")  # noqa: E731
        return norm(locked.url) == norm(want)
    return locked.commit is None and locked.url.split("#", 1)[0] == redact(url).split("#", 1)[0]


def as_locked(spec: Spec, existing: Lock) -> Spec:
    """``spec`` with the lock's platforms, as-of, interpreter and channel spelling where the
    spec file leaves them open (they may come from `amber lock --platform/--as-of/--python`,
    or from the Python a colleague's Amber ran on, all recorded in the lock)."""
    if not spec.is_conda and spec.python is None and not existing.spec.is_conda:
        if existing.spec.python:
            # A PyPI-only env runs on the lock's interpreter, not on the one running Amber.
            spec = replace(spec, python=existing.spec.python)
    if not spec.platforms and existing.spec.platforms:
        spec = spec.with_platforms(existing.spec.platforms)
    names = existing.spec.channels
    if spec.channels != names and not all(is_url(c) for c in names):
        # A lock made before Amber resolved channel names records them as written
        # (`conda-forge`, `defaults`), meaning what conda's built-in settings make of them:
        # the same request when they mean the channels the spec now resolves to.
        meant = CondaConfig().channel_urls(
            names, platforms=spec.target_platforms, add_configured=False
        )
        if [redact(c) for c in meant] == [redact(c) for c in spec.channels]:
            spec = replace(spec, channels=names)
    if not spec.as_of and existing.spec.as_of:
        spec = spec.with_as_of(existing.spec.as_of)
    return spec


def _requirement(text: str) -> Requirement:
    """``text`` as a ``packaging`` ``Requirement``."""
    # Imported here: PEP 508 parsing is for PyPI requirements, and `amber lock` of a conda
    # spec does without it (about 20 ms of imports; docs/ARCHITECTURE.md, the hot paths).
    from packaging.requirements import Requirement as Parsed

    return Parsed(text)
