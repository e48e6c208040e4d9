"""Recorded runs: find one, and re-create the exact env a step of it used."""

from __future__ import annotations

from dataclasses import dataclass

from amber._progress import Progress
from amber.api.session import Session, using
from amber.errors import AmberError
from amber.hydrate import hydrate
from amber.lock import Lock
from amber.store import RunRecord, Store
from amber.store.env import Env

__all__ = ["find_run", "env_of_step", "list_runs", "show_run", "Runs"]


@dataclass(frozen=True)
class Runs:
    """Recorded runs, newest first: this store's and the remote store's (if one is set)."""

    records: tuple[RunRecord, ...]
    remote: frozenset[str] = frozenset()  # ids of the runs only the remote store has
    note: str | None = None  # why the remote store's runs are missing, if they are


def list_runs(store: Store | None = None, *, session: Session | None = None) -> Runs:
    """This store's runs and, with a remote store configured, the ones recorded there."""
    s = using(session, store)
    local = s.store.runs()
    if s.remote_url is None:
        return Runs(tuple(local))
    try:
        remote = s.remote.runs() if s.remote is not None else []
    except AmberError as exc:
        return Runs(tuple(local), note=f"the remote store's runs are not listed: {exc}")
    known = {r.run_id for r in local}
    extra = [r for r in remote if r.run_id not in known]
    merged = sorted([*local, *extra], key=lambda r: (-r.started, r.run_id))
    return Runs(tuple(merged), frozenset(r.run_id for r in extra))


def show_run(
    ref: str, store: Store | None = None, *, session: Session | None = None
) -> tuple[RunRecord, bool]:
    """(the run, whether it came from the remote store): this store's first."""
    s = using(session, store)
    try:
        return find_run(ref, session=s), False
    except AmberError:
        fetched = s.remote.fetch_run(ref) if s.remote is not None else None
        if fetched is None:
            raise
        return fetched, True


def find_run(ref: str, store: Store | None = None, *, session: Session | None = None) -> RunRecord:
    """A recorded run by id or a unique prefix of one."""
    runs = using(session, store).store.runs(ref)
    if len(runs) == 1:
        return runs[0]
    if not runs:
        raise AmberError(f"no run matches '{ref}': `amber runs list` shows the recorded runs")
    listing = ", ".join(r.run_id for r in runs[:5])
    raise AmberError(f"'{ref}' matches several runs ({listing}): give more of the id")


def env_of_step(
    run_ref: str,
    step: str,
    store: Store | None = None,
    progress: Progress | None = None,
    *,
    session: Session | None = None,
) -> Env:
    """The exact env a step of a past run used, hydrated again if it is gone."""

    s = using(session, store, progress)
    run, _ = show_run(run_ref, session=s)
    calls = [c for c in run.steps if c.step == step or c.step.rsplit(".", 1)[-1] == step]
    if not calls:
        names = ", ".join(sorted({c.step for c in run.steps})) or "none"
        raise AmberError(f"run {run.run_id} has no step '{step}' (its steps: {names})")
    full_id = calls[-1].full_id
    path = s.store.find_lock(full_id)
    if path is not None:
        the_lock = Lock.read(path)
    elif s.remote is not None:
        the_lock = s.remote.fetch_lock(full_id)
        s.store.save_lock(the_lock.dumps(), the_lock.req_id, the_lock.full_id)
    else:
        raise AmberError(
            f"the lock of env {full_id[:12]} is not in this store: it cannot be re-created here "
            "(with a remote store configured, AMBER_REMOTE, it is fetched from there)"
        )
    return hydrate(the_lock, s.store, progress=s.progress, fetch=s.fetch_hook(s.progress))
