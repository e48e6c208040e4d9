"""Benchmarks 21 and 22: a step's round trip inside Prefect and inside Ray, against the same
task without Amber (issue 18), run by run_benchmarks.py.

21. Inside a Prefect flow (Prefect's temporary local server): a call of an
    ``amber.prefect.task`` in a warm env against a call of a plain ``prefect.task``.
22. On a local Ray instance: ``ray.get(amber.ray.submit(step, ...))`` with the env warm in
    a worker against ``ray.get(task.remote(...))``.

Each side runs in the driver ``engine_call.py``, a process of its own, as a pipeline does.
Figures only: nothing here asserts on a time.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from common import Figure, ms, spread

HERE = Path(__file__).resolve().parent
ENGINE_CALL = str(HERE / "engine_call.py")


def _drive(work: Path, engine: str, reps: int) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env["PREFECT_HOME"] = str(work / "prefect-home")  # Prefect's temporary server keeps it here
    # Its first start creates that database: more than Prefect's 20 s on a busy machine.
    env["PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS"] = "180"
    proc = subprocess.run([sys.executable, ENGINE_CALL, engine, str(reps), str(work)], cwd=work,
                          env=env, capture_output=True, text=True)  # fmt: skip
    lines = [x for x in proc.stdout.splitlines() if x.startswith("RESULT ")]
    if proc.returncode != 0 or not lines:
        sys.exit(f"engine_call.py {engine} failed ({proc.returncode}):\n{proc.stderr[-4000:]}")
    return json.loads(lines[-1].removeprefix("RESULT "))


def bench_engines(work: Path, reps: int, only: set[int]) -> list[Figure]:
    """21 and 22 (those of them in ``only``)."""
    figures = []
    if 21 in only:
        out = _drive(work, "prefect", reps)
        notes = [
            f"{reps} task calls each inside one flow, alternating, after 2 warm-ups. Amber "
            f"{spread(out['amber'])}; plain `prefect.task` {spread(out['plain'])}.",
            f"Both record their task runs on Prefect's temporary local server. Preparing the "
            f"step's env (cold, untimed) took {ms(out['prepare']):.0f} ms; the whole flow "
            f"{out['flow']:.1f} s.",
        ]
        label = "21. Prefect task round trip, Amber step (warm env) vs plain task"
        figures.append(Figure(label, out["amber"], out["plain"], None, notes=notes))
    if 22 in only:
        out = _drive(work, "ray", reps)
        notes = [
            f"{reps} `ray.get` of one task each, alternating, after 2 warm-ups, on a local Ray "
            f"instance (2 CPUs). Amber {spread(out['amber'])}; plain `@ray.remote` "
            f"{spread(out['plain'])}.",
            f"`ray.init` took {out['init']:.1f} s; Amber's first call (resolve the lock, push "
            f"it to a directory remote store, hydrate in a worker, call; untimed) "
            f"{out['first']:.1f} s.",
        ]
        label = "22. Ray task round trip, Amber step (warm env) vs plain task"
        figures.append(Figure(label, out["amber"], out["plain"], None, notes=notes))
    return figures
