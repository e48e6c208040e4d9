"""Looking at envs for ``amber env list``, ``amber env show`` and ``amber verify``."""

from __future__ import annotations

from dataclasses import dataclass

from amber._names import canonical_name
from amber._platform import host_platform
from amber._progress import Progress
from amber.api import find_env
from amber.hydrate import repair
from amber.inspect.verify import VerifyResult, verify_env
from amber.lock import Lock
from amber.store import EnvRecord, Store
from amber.store.env import Activation, Env

__all__ = ["EnvDetails", "Verified", "list_envs", "show_env", "verify"]


@dataclass(frozen=True)
class EnvDetails:
    """An env with its lock and activation; ``record`` is ``None`` outside the store."""

    env: Env
    lock: Lock
    activation: Activation
    record: EnvRecord | None


@dataclass(frozen=True)
class Verified:
    """``verify``'s answer for one env."""

    env: Env
    result: VerifyResult
    repaired: VerifyResult | None = None  # what was found, when ``result`` is after a repair


def list_envs(store: Store) -> list[EnvRecord]:
    """The complete envs in the store, most recently used first, then the envs at chosen
    paths (``--prefix``) that it tracks."""
    return [
        e for e in [*store.envs(), *store.prefix_envs()] if Env(e.full_id, e.path).is_complete()
    ]


def show_env(ref: str, store: Store) -> EnvDetails:
    """An env by reference, with what ``amber env show`` prints about it."""
    env = find_env(ref, store)
    # An env `amber unpack` made lives outside the store: no index record is its own, even
    # when the store holds the env it was packed from (same full_id, another path).
    here = env.path.resolve()
    record = next(
        (
            e
            for e in [*store.envs(), *store.prefix_envs()]
            if e.full_id == env.full_id and e.path.resolve() == here
        ),
        None,
    )
    return EnvDetails(env, Lock.read(env.lock_file), env.activation(), record)


def verify(
    env: Env | str, store: Store, *, repair_env: bool = False, progress: Progress | None = None
) -> Verified:
    """Check every file of an env (or of the env a reference names) against its records;
    with ``repair_env``, restore what differs from clean cache entries, then check again."""
    found = find_env(env, store) if isinstance(env, str) else env
    result = verify_env(found)
    if not repair_env or result.ok:
        return Verified(found, result)
    conda_names = {p.name for p in Lock.read(found.lock_file).for_platform(host_platform()).conda}
    conda: set[str] = set()
    pypi: set[str] = set()
    remove = list(result.extra)
    remove += [m.path for m in result.modified if m.reason]  # bytecode: Python writes it again
    owners = [m.package for m in result.modified if not m.reason]
    for package in owners + [m.package for m in result.missing]:
        name = package.split("==")[0]
        if name in conda_names:
            conda.add(name)
        elif "==" in package:
            pypi.add(canonical_name(name))
    repair(found, store, conda=conda, pypi=pypi, remove=remove, progress=progress)
    return Verified(found, verify_env(found), result)
