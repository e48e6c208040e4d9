"""Recorded runs: find one, and re-create the exact env a step of it used."""

from __future__ import annotations

from amber._progress import Progress
from amber.api.session import Session, using
from amber.errors import AmberError
from amber.hydrate import hydrate
from amber.lock import Lock
from amber.store import RunRecord, Store
from amber.store.env import Env

__all__ = ["find_run", "env_of_step"]


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
    try:
        run = find_run(run_ref, session=s)
    except AmberError:
        fetched = s.remote.fetch_run(run_ref) if s.remote is not None else None
        if fetched is None:
            raise
        run = fetched
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
