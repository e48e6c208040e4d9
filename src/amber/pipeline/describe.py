"""`amber steps`: the steps a Python file defines, with their env ids."""

from __future__ import annotations

import importlib.util
import sys
from dataclasses import dataclass
from pathlib import Path

from amber import api
from amber.errors import AmberError, SpecError
from amber.lock import Lock
from amber.pipeline import steps as steps_mod
from amber.store import Store
from amber.store.env import Env

__all__ = ["StepRow", "describe_steps"]


@dataclass(frozen=True)
class StepRow:
    """A step and its env: ``req_id`` is ``None`` for a step that names an existing env."""

    step: str
    req_id: str | None
    full_id: str | None  # None: not locked yet
    hydrated: bool


def describe_steps(
    module: Path, store: Store | None = None, *, prepare: bool = False, quiet: bool = False
) -> list[StepRow]:
    """The steps defined in a Python file, with their env ids (prepared if asked)."""
    store = store or api.Session.open().store
    module = Path(module).resolve()
    spec = importlib.util.spec_from_file_location(f"_amber_steps_{module.stem}", module)
    if spec is None or spec.loader is None:
        raise SpecError("not a Python module", module)
    mod = importlib.util.module_from_spec(spec)
    sys.path.insert(0, str(module.parent))
    sys.modules[spec.name] = mod
    try:
        spec.loader.exec_module(mod)
    except AmberError:
        raise
    except Exception as exc:
        raise SpecError(f"importing it failed: {type(exc).__name__}: {exc}", module) from None
    found = [v for v in vars(mod).values() if isinstance(v, steps_mod.Step)]
    if prepare and found:
        steps_mod.prepare(*found, quiet=quiet, store=store)
    rows = []
    for s in found:
        if s.spec is None:
            env = api.find_env(s._env_ref or "", store)
            rows.append(StepRow(s.name, None, env.full_id, True))
            continue
        stored = store.latest_lock(s.spec.req_id)
        full_id = Lock.read(stored).full_id if stored else None
        hydrated = full_id is not None and Env(full_id, store.env_path(full_id)).is_complete()
        rows.append(StepRow(s.name, s.spec.req_id, full_id, hydrated))
    return rows
