"""What ``amber lock``, ``amber install`` and ``amber run`` do with the file they are given."""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from amber import _hot, formats
from amber._platform import host_platform
from amber._progress import Progress
from amber.api import (
    LOCK_NAME,
    as_locked,
    check_lock,
    env_for_file,
    find_env,
    install,
    install_bundle,
    merge_lock,
)
from amber.api import lock as resolve_lock
from amber.api.locking import load, uv_project_lock
from amber.api.policy import check as check_policy
from amber.api.policy import enforce, policy_for
from amber.api.prelock import LockRequest, configured_priority, spec_to_lock, with_options
from amber.api.session import Session, using
from amber.errors import AmberError, LockCheckFailed
from amber.lock import Lock, is_amber_lock
from amber.resolve import ResolveCaches, resolve
from amber.resolve.check import unsatisfied
from amber.run import _hotpath
from amber.spec import Spec
from amber.store import Store
from amber.store.env import Env

if TYPE_CHECKING:
    from amber.policy import Finding

__all__ = ["Locked", "LockRequest", "lock_file", "import_file", "install_file", "env_to_run"]


@dataclass(frozen=True)
class Locked:
    """What ``lock_file`` did: the lock, where it is, what it replaced, how it was made."""

    lock: Lock
    target: Path
    source: Path | None
    previous: Lock | None = None
    imported: str | None = None  # the other tool's format, when the file was taken as-is
    checked: bool = False
    # `--update` moved nothing because the lock's as-of date holds these back.
    held_back: tuple[str, ...] = ()
    findings: tuple[Finding, ...] = ()  # the policy's on the lock (none blocking)


def lock_file(
    path: Path,
    request: LockRequest,
    store: Store,
    progress: Progress,
    *,
    session: Session | None = None,
) -> Locked:
    """Resolve (or check, update, merge) the spec at ``path``, or import a resolved file as-is."""
    s = using(session, store, progress)
    kind = formats.detect(path)
    if kind is not None:
        return _import_resolved(path, kind, request, store)
    if request.categories:
        raise AmberError(
            f"--category chooses the categories of a conda-lock file, and {path} is not one"
        )
    if is_amber_lock(path):
        return _lock_from_lock(path, request, s)
    spec = spec_to_lock(path, request, s)
    target = request.output or ((spec.source or path).parent / LOCK_NAME)
    # Flags that ask for something else than uv's own lock (a solve honours them).
    asked = request.platforms or request.as_of or request.python or request.channel_priority
    if not (request.check or request.merge or request.update or asked):
        from_uv = uv_project_lock(spec, s)
        if from_uv is not None:  # a uv project whose uv.lock matches: uv's packages, no solve
            store.save_lock(from_uv.dumps(), from_uv.req_id, from_uv.full_id)
            from_uv.write(target)
            return Locked(from_uv, target, path, imported="uv.lock")
    if request.check:
        checked = check_lock(spec, target)
        findings = _policy_check(s, checked, target, spec.source or path)
        return Locked(checked, target, spec.source, checked=True, findings=findings)
    previous = None
    if request.merge:
        previous, result = merge_lock(spec, target, session=s)
    else:
        if request.update:
            previous = Lock.read(target) if os.path.isfile(target) else None
            spec = as_locked(spec, previous) if previous else spec
        result = resolve_lock(spec, previous=previous, update=request.update, session=s)
    result.write(target)
    held = _held_back(spec, previous, result, request, s) if request.update else ()
    return Locked(result, target, spec.source, previous=previous, held_back=held)


def _import_resolved(path: Path, kind: str, request: LockRequest, store: Store) -> Locked:
    """conda-lock.yml, explicit, pixi.lock, pylock.toml, hashed requirements: taken as they
    are (no solve). ``-p`` keeps some of its platforms; ``--check`` compares the import with
    the lock beside it; the flags that ask for a solve are refused."""
    solving = [
        flag
        for flag, given in (
            ("--update", request.update), ("--as-of", request.as_of), ("--merge", request.merge),
            ("--python", request.python), ("--channel-priority", request.channel_priority),
        )
        if given
    ]  # fmt: skip
    if solving:
        raise AmberError(
            f"{path} is already resolved ({kind}): {' and '.join(solving)} "
            f"{'needs' if len(solving) == 1 else 'need'} a spec to solve again. Give the spec "
            f"file it was made from (`amber lock -f environment.yml {solving[0]} ...`), or "
            f"import this file as it is (`amber lock -f {path.name}`)"
        )
    result = formats.read_resolved(
        path, kind, uv_cache=store.uv_cache, network=store.network,
        categories=request.categories, environment=request.environment,
    )  # fmt: skip
    if request.platforms:
        result = formats.only_platforms(result, request.platforms, path)
    target = request.output or path.parent / LOCK_NAME
    local = result.local_projects()
    if local and os.path.abspath(target.parent) != os.path.abspath(path.parent):
        raise AmberError(
            f"{path} installs {', '.join(f'{p.name} ({p.path})' for p in local)} from a local "
            f"project, by its path relative to {path.name}'s folder: an amber.lock in "
            f"{target.parent} would read that path from there; write it beside {path.name} "
            "(without -o)"
        )
    if request.check:
        _check_import(result, target, path)
        return Locked(result, target, path, imported=kind, checked=True)
    store.save_lock(result.dumps(), result.req_id, result.full_id)
    result.write(target)
    return Locked(result, target, path, imported=kind)


def _check_import(result: Lock, target: Path, path: Path) -> None:
    """``--check`` of an already-resolved file: the lock beside it holds the same packages."""
    if not os.path.isfile(target):
        raise LockCheckFailed(
            f"{target} does not exist: `amber lock -f {path.name}` writes it", path=target
        )
    existing = Lock.read(target)
    if existing.full_id == result.full_id:
        return
    from amber.inspect.diff import diff_locks  # noqa: PLC0415 - only a failed check needs it

    changes = diff_locks(existing, result)
    shown = [f"{c.name} {c.old or '-'} -> {c.new or '-'} ({c.platform})" for c in changes[:8]]
    more = f" and {len(changes) - 8} more" if len(changes) > 8 else ""
    raise LockCheckFailed(
        f"{target} differs from {path}: " + ("; ".join(shown) or "other packages") + more,
        path=target,
    )


def import_file(path: Path, output: Path, *, session: Session | None = None) -> Locked:
    """``amber import FILE``: an already-resolved file's packages as-is, into
    ``output/amber.lock``; ``AmberError`` for a file that needs a solve."""
    kind = formats.detect(path) if os.path.isfile(path) else None
    if kind is None:
        raise AmberError(
            f"{path}: not an already-resolved file (uv.lock, pixi.lock, conda-lock.yml, "
            "pylock.toml, an explicit file, hashed requirements): `amber lock -f` solves a spec"
        )
    target = output / LOCK_NAME if os.path.isdir(output) or output == Path(".") else output
    return lock_file(
        path,
        LockRequest(output=target),
        using(session).store,
        using(session).progress,
        session=session,
    )


def _lock_from_lock(path: Path, request: LockRequest, s: Session) -> Locked:
    """``amber lock -f X.lock``: check, re-resolve or update from the spec the lock records."""
    if request.merge:
        raise AmberError(
            f"{path}: --merge needs the spec file the lock was made from "
            "(`amber lock --merge -f environment.yml`), or the git merge driver"
        )
    existing = Lock.read(path)
    if request.check:
        problems = unsatisfied(existing.spec, existing)
        if existing.spec.req_id != existing.req_id:
            problems.insert(0, "its req_id does not match the spec it records")
        if problems:
            raise LockCheckFailed(f"{path} is inconsistent: " + "; ".join(problems), path=path)
        findings = _policy_check(s, existing, path, path)
        return Locked(existing, path, path, checked=True, findings=findings)
    spec = with_options(configured_priority(existing.spec, s), request)
    if request.python and not spec.is_conda:
        spec = replace(spec, python=Spec.create(python=request.python).python)  # validated
    previous = existing if request.update else None
    result = resolve_lock(spec, previous=previous, update=request.update, session=s)
    target = request.output or path
    result.write(target)
    held = _held_back(spec, previous, result, request, s) if request.update else ()
    return Locked(result, target, path, previous=previous, held_back=held)


def _policy_check(s: Session, lock: Lock, target: Path, near: Path) -> tuple[Finding, ...]:
    """``amber lock --check``: the policy's findings; any blocking one fails the check (exit
    1, for CI), each named."""
    policy = policy_for(s, near)
    if policy is None:
        return ()
    findings = check_policy(lock, policy)
    blocking = [f for f in findings if f.blocking]
    if blocking:
        raise LockCheckFailed(
            f"{target} breaks the policy ({policy.source}): "
            + "; ".join(f.message for f in blocking),
            path=target,
        )
    return tuple(findings)


def _held_back(
    spec: Spec, previous: Lock | None, result: Lock, request: LockRequest, s: Session
) -> tuple[str, ...]:
    """The packages named in ``--update`` that did not move only because of the recorded
    as-of date: what a resolve without it would move (one more solve, only in that case)."""
    if previous is None or not spec.as_of or request.as_of or result.full_id != previous.full_id:
        return ()
    caches = ResolveCaches(s.store.repodata, s.store.uv_cache, s.store.conda_pkgs, s.store.network)
    free = resolve(
        replace(spec, as_of=None), caches, previous=previous, update=request.update,
        channel_config=s.conda,
    )  # fmt: skip
    from amber.inspect.diff import diff_locks  # noqa: PLC0415 - only --update needs it

    moved = {c.name for c in diff_locks(previous, free)}
    return tuple(sorted(moved))


def install_file(
    path: Path,
    store: Store,
    progress: Progress,
    *,
    python: str | None = None,
    prefix: Path | None = None,
    environment: str | None = None,
    session: Session | None = None,
) -> list[Env]:
    """Hydrate (or reuse) the env of a spec or lock file, or every env of a bundle; at
    ``prefix`` (``--prefix``, else environment.yml's ``prefix:`` in a file without ``name:``,
    as conda reads it) when there is one."""
    if _hotpath.is_bundle(path):
        if prefix is not None:
            raise AmberError(
                f"--prefix places one env, and {path} is a bundle (of one env or more): "
                f"`amber install {path}` hydrates them in the store"
            )
        return install_bundle(path, store, progress)
    s = using(session, store, progress)
    if not os.path.isfile(path):  # missing, a FIFO, a device: env_for_file says which
        return [env_for_file(path, python=python, session=s, environment=environment)]
    loaded = load(path, python=python, session=s, environment=environment)
    # conda's `env create -f`: `-p`, else the file's `name:` (here: the store), else `prefix:`.
    named = isinstance(loaded, Spec) and bool(loaded.name)
    target = prefix or (loaded.prefix if isinstance(loaded, Spec) and not named else None)
    if target is not None:
        return [install(loaded, session=s, prefix=target)]
    return [env_for_file(path, python=python, session=s, loaded=loaded, environment=environment)]


def env_to_run(
    file: Path | None,
    env_ref: str | None,
    store: Store,
    progress: Progress,
    *,
    python: str | None = None,
    environment: str | None = None,
) -> Env:
    """The env ``amber run`` uses: an existing one by reference, or the one of a file."""
    if env_ref and file:
        raise AmberError("give either --env or -f, not both")
    if env_ref:
        generation = _hot.generation(str(store.home))  # before the lookup: see amber._hot
        key = _hot.ref_key(env_ref, host_platform())  # and the settings' fingerprints
        env = find_env(env_ref, store)
        # The organisation's policy holds for an env named by reference too (no spec: no
        # project policy beside it).
        s = using(None, store, progress)
        policy = policy_for(s, None)
        if policy is not None and env.lock_file.is_file():
            enforce(s, Lock.read(env.lock_file), None)
        watchable = policy is None or policy.local  # a policy at a URL is read at every run
        if env.path == store.env_path(env.full_id) and not os.path.isdir(env_ref) and watchable:
            lock = str(store.env_lock_path(env.full_id))
            files = [(w, f) for w, f, _ in policy.inputs] if policy is not None else []
            _hot.remember(str(store.home), key, env.full_id, str(env.path), lock,
                          files=files, generation_token=generation)  # fmt: skip
        return env
    if file is None:
        raise AmberError("no spec file: pass -f FILE")
    return env_for_file(file, store, progress, python=python, environment=environment)
