"""Looking at envs for ``amber env list``, ``amber env show`` and ``amber verify``."""

from __future__ import annotations

from dataclasses import dataclass

from amber.api import find_env
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


def list_envs(store: Store) -> list[EnvRecord]:
    """The complete envs in the store, most recently used first."""
    return [e for e in store.envs() if Env(e.full_id, e.path).is_complete()]


def show_env(ref: str, store: Store) -> EnvDetails:
    """An env by reference, with what ``amber env show`` prints about it."""
    env = find_env(ref, store)
    # An env `amber unpack` made lives outside the store: no index record is its own, even
    # when the store holds the env it was packed from (same full_id, another path).
    here = env.path.resolve()
    record = next(
        (e for e in store.envs() if e.full_id == env.full_id and e.path.resolve() == here), None
    )
    return EnvDetails(env, Lock.read(env.lock_file), env.activation(), record)


def verify(env: Env | str, store: Store) -> Verified:
    """Check every file of an env (or of the env a reference names) against its records."""
    found = find_env(env, store) if isinstance(env, str) else env
    return Verified(found, verify_env(found))
