"""Specs and locks: load a file, resolve and keep a lock, add a requirement, merge locks."""

from __future__ import annotations

import os
import warnings
from collections.abc import Sequence
from pathlib import Path

from amber import formats
from amber._fs import write_atomic
from amber._names import canonical_name
from amber._progress import Progress
from amber.api.policy import policy_for
from amber.api.prelock import configured_priority, early_resolution
from amber.api.session import Session, using
from amber.errors import AmberError, LockFileError, SpecError, SpecWarning
from amber.lock import Lock, is_amber_lock, is_lock_file
from amber.resolve import ResolveCaches, resolve
from amber.resolve.check import as_locked
from amber.resolve.merge import agreed_pins, git_sides, merge_specs, split_conflict
from amber.run._hotpath import LOCK_NAME
from amber.spec import Spec, read_spec
from amber.store import Store
from amber.store.inuse import exclusive

__all__ = [
    "load",
    "uv_lock_beside",
    "uv_project_lock",
    "configured_priority",
    "lock",
    "ensure_lock",
    "beside_lock",
    "add",
    "merge_lock",
    "merge_driver",
]


def load(
    path: Path,
    *,
    python: str | None = None,
    session: Session | None = None,
    environment: str | None = None,
) -> Spec | Lock:
    """A spec file becomes a ``Spec``; an amber lock, or an already-resolved file of another
    tool (explicit, conda-lock.yml, pixi.lock, pylock.toml, hashed requirements), a ``Lock``."""

    path = Path(path)
    if not os.path.isfile(path):
        raise SpecError("no such file", path)
    if is_amber_lock(path):
        return Lock.read(path).located(path.parent)
    resolved = formats.detect(path)
    if resolved is not None:
        store = using(session).store
        return formats.read_resolved(
            path, resolved, uv_cache=store.uv_cache, network=store.network,
            environment=environment,
        )  # fmt: skip
    if is_lock_file(path):
        return Lock.read(path).located(path.parent)
    s = using(session)
    spec = read_spec(path, python=python, channel_config=s.conda, environment=environment)
    spec = configured_priority(spec, s)
    return uv_project_lock(spec, s) or spec


def uv_lock_beside(path: Path) -> Path | None:
    """The ``uv.lock`` of a uv project whose ``pyproject.toml`` is ``path``, if any."""
    beside = path.parent / "uv.lock"
    return beside if path.name == "pyproject.toml" and os.path.isfile(beside) else None


def uv_project_lock(spec: Spec, session: Session) -> Lock | None:
    """The packages of the ``uv.lock`` beside a PyPI-only ``pyproject.toml`` when the lock
    matches it (``uv lock --check``), as ``uv sync`` takes them; a stale one: a warning, and
    None (the spec is solved afresh, as ``uv sync`` re-locks)."""
    beside = uv_lock_beside(spec.source) if spec.source else None
    if beside is None or spec.is_conda:
        return None
    # Loaded only for a uv project (its readers import packaging's marker machinery).
    from amber.formats import uv_lock  # noqa: PLC0415

    cache = session.store.uv_cache
    stale = uv_lock.stale(beside, cache)
    if stale is not None:
        warnings.warn(
            SpecWarning(
                f"{beside.name} does not match pyproject.toml (`uv lock --check`: {stale}), "
                "so Amber solves pyproject.toml afresh, as `uv sync` would re-lock "
                "(`uv lock` updates it)",
                beside,
            ),
            stacklevel=2,
        )
        return None
    return uv_lock.read(beside, uv_cache=cache)


def lock(
    spec: Spec,
    store: Store | None = None,
    progress: Progress | None = None,
    *,
    previous: Lock | None = None,
    update: Sequence[str] = (),
    session: Session | None = None,
) -> Lock:
    """Resolve ``spec`` and keep the lock in the store as the newest for its ``req_id``.

    With ``previous``, its pins are kept wherever the spec allows, except for the
    packages named in ``update`` (and what they force).
    """

    s = using(session, store, progress)
    if update:
        _check_update_names(previous, update)
    caches = ResolveCaches(s.store.repodata, s.store.uv_cache, s.store.conda_pkgs, s.store.network)
    policy = policy_for(s, spec.source)
    early = None
    if previous is None and not update:
        early = early_resolution(spec, caches, s.conda, policy, s.progress)
    result = early or resolve(
        spec, caches, s.progress, previous=previous, update=update, channel_config=s.conda,
        policy=policy,
    )  # fmt: skip
    s.store.save_lock(result.dumps(), result.req_id, result.full_id)
    return result


def _check_update_names(previous: Lock | None, names: Sequence[str]) -> None:
    if previous is None:
        raise AmberError("--update needs an existing lock to update: run `amber lock` first")
    locked = {
        canonical_name(name)
        for body in previous.platforms.values()
        for name in (*(p.name for p in body.conda), *(p.name for p in body.pypi))
    }
    missing = [n for n in names if canonical_name(n) not in locked]
    if missing:
        raise AmberError(f"not in the lock, so nothing to update: {', '.join(missing)}")


def beside_lock(spec: Spec) -> Path | None:
    """Where the ``amber.lock`` of a spec file goes: beside it."""
    return spec.source.parent / LOCK_NAME if spec.source else None


def ensure_lock(
    spec_or_lock: Spec | Lock,
    store: Store | None = None,
    progress: Progress | None = None,
    *,
    session: Session | None = None,
) -> Lock:
    """A lock for the spec: the ``amber.lock`` beside it if current, the store's, or a new one."""

    if isinstance(spec_or_lock, Lock):
        return spec_or_lock
    s = using(session, store, progress)
    spec = spec_or_lock
    beside = beside_lock(spec)
    # A local project's path is relative to the spec file's folder.
    base = spec.source.parent if spec.source is not None else None
    if beside is not None and os.path.isfile(beside):
        existing = Lock.read(beside)
        if as_locked(spec, existing).req_id == existing.req_id:
            return existing.located(base or beside.parent)
    stored = s.store.latest_lock(spec.req_id)
    if stored is not None:
        found = Lock.read(stored)
        return found.located(base) if base is not None else found
    return lock(spec, session=s)


def add(
    path: Path,
    requirement: str,
    *,
    pypi: bool,
    python: str | None = None,
    store: Store | None = None,
    progress: Progress | None = None,
    session: Session | None = None,
) -> tuple[Lock | None, Lock, Path]:
    """Add a requirement to a spec file and re-lock with the fewest changes.

    Returns (the lock before, the lock after, where it was written). If the new
    request cannot be resolved, the spec file is restored as it was.
    """

    s = using(session, store, progress)
    path = Path(path)
    # One edit at a time per folder (the spec files there share one amber.lock): each reads
    # the spec and the lock the previous one left, and a rollback undoes only its own edit.
    with exclusive(s.store.edit_lock_path(path)):
        before = read_spec(path, python=python, channel_config=s.conda)
        beside = beside_lock(before)
        previous = None
        if beside is not None and os.path.isfile(beside):
            previous = Lock.read(beside)
        original = path.read_bytes()
        from amber.spec.edit import add_to_spec_file  # noqa: PLC0415 - `amber add` alone

        add_to_spec_file(path, requirement, pypi=pypi)
        try:
            spec = read_spec(path, python=python, channel_config=s.conda)
            if previous is not None:
                spec = as_locked(spec, previous)
            result = lock(spec, previous=previous, session=s)
            target = beside or path.parent / LOCK_NAME
            result.write(target)
        except BaseException:
            write_atomic(path, original.decode("utf-8"))  # nothing half-done: the spec as it was
            raise
    return previous, result, target


def merge_lock(
    spec: Spec,
    conflicted: Path,
    store: Store | None = None,
    progress: Progress | None = None,
    *,
    session: Session | None = None,
) -> tuple[Lock, Lock]:
    """(ours, merged): a lock file with git conflict markers re-created for ``spec``.

    Pins both sides agree on are kept; only what differs is resolved again.
    """

    s = using(session, store, progress)
    text = conflicted.read_text(encoding="utf-8")
    if "\n<<<<<<<" not in "\n" + text:
        # git merged the text cleanly: keep what that lock pins where it is still valid.
        try:
            merged_text = Lock.loads(text, conflicted)
        except LockFileError:
            merged_text = None
        base = as_locked(spec, merged_text) if merged_text else spec
        return merged_text or lock(base, session=s), lock(base, previous=merged_text, session=s)
    sides = git_sides(conflicted)
    if sides is not None:  # in a git merge: both sides whole, as each branch committed them
        ours, theirs = (
            Lock.loads(sides[0], f"{conflicted} (ours, git stage 2)"),
            Lock.loads(sides[1], f"{conflicted} (theirs, git stage 3)"),
        )
    else:
        # Only the markers: each side also holds the hunks git merged cleanly, so its
        # recorded full_id need not match; its pins are only preferred, never trusted.
        ours_text, theirs_text = split_conflict(text, conflicted)
        ours, theirs = (
            Lock.loads(ours_text, f"{conflicted} (ours)", check_id=False),
            Lock.loads(theirs_text, f"{conflicted} (theirs)", check_id=False),
        )
    return ours, lock(as_locked(spec, ours), previous=agreed_pins(ours, theirs), session=s)


def merge_driver(
    base: Path,
    ours: Path,
    theirs: Path,
    store: Store | None = None,
    *,
    session: Session | None = None,
) -> Lock:
    """git's merge driver for amber.lock: three-way merge of the specs the three locks record,
    then a resolve that keeps every pin both sides agree on. Writes the result to ``ours``.

    It needs nothing but the three files git hands it, since git runs drivers before it
    writes the merged spec file."""

    b, o, t = (Lock.read(p) for p in (base, ours, theirs))
    spec = merge_specs(b, o, t)
    previous = agreed_pins(o, t, keep_python=False)
    result = lock(spec, previous=previous, session=using(session, store))
    result.write(ours)
    return result
