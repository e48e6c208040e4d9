"""Benchmark 23: a task's round trip inside Airflow, ``@task.amber`` against ``@task``.

One ``airflow dags test`` of a DAG whose tasks alternate: ``plain_i`` (``@task``) and
``amber_i`` (``@task.amber``, a PyPI env that exists after the warm-up pair), the same
function (an int in, a small dict out to XCom). Each task's time is what Airflow
itself logs around it: from ``[DAG TEST] starting task_id=X`` to ``[DAG TEST] end task
task_id=X`` (rendering, execute, the XCom push, the state updates). Amber's part is the
difference: the step's env lookup, its subprocess and the pickles.

Airflow lives in its own venv (``.ci/run`` builds ``.ci-tools/airflow``): found through
``$AMBER_TEST_AIRFLOW`` or there. Without it, the benchmark says so and is left out.
Figures only: nothing here asserts on a time.
"""

from __future__ import annotations

import datetime
import os
import re
import subprocess
from pathlib import Path

from common import Figure, ms, spread

ROOT = Path(__file__).resolve().parents[1]
LABEL = "23. task round trip inside Airflow (`@task.amber` vs `@task`), existing env"
PIN = "six==1.16.0"

DAG = """\
import pendulum
from airflow.sdk import chain, dag, task


@task
def plain(i):
    return {{"i": i, "n": [i] * 10}}


@task.amber(pypi=["{pin}"])
def stepped(i):
    return {{"i": i, "n": [i] * 10}}


@dag(schedule=None, start_date=pendulum.datetime(2025, 1, 1), catchup=False)
def amber_bench():
    tasks = []
    for i in range({pairs}):  # pair 0 is the warm-up: it builds the step's env
        tasks += [plain.override(task_id=f"plain_{{i}}")(i),
                  stepped.override(task_id=f"amber_{{i}}")(i)]
    chain(*tasks)


amber_bench()
"""

_EVENT = re.compile(
    r"^(\S+) \[info\s*\] \[DAG TEST\] (starting|end task) task_id=(\w+) ", re.MULTILINE
)


def airflow() -> Path | None:
    """The ``airflow`` of Airflow's own venv, if there is one."""
    found = os.environ.get("AMBER_TEST_AIRFLOW") or str(ROOT / ".ci-tools/airflow/bin/airflow")
    return Path(found) if os.path.exists(found) else None


def bench_airflow(work: Path, reps: int) -> Figure | None:
    """23. ``@task.amber`` vs ``@task`` in one ``airflow dags test`` run, ``reps`` pairs."""
    binary = airflow()
    if binary is None:
        print("23: skipped, no Airflow (run .ci/run once, or set AMBER_TEST_AIRFLOW)")
        return None
    home = work / "airflow"
    (home / "dags").mkdir(parents=True)
    (home / "dags" / "amber_bench.py").write_text(DAG.format(pin=PIN, pairs=reps + 1))
    environ = {
        **{k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")},
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(home / "dags"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
    }
    _airflow([str(binary), "db", "migrate"], environ)
    output = _airflow([str(binary), "dags", "test", "amber_bench"], environ)
    times = _task_seconds(output)
    plain = [times[f"plain_{i}"] for i in range(1, reps + 1)]
    amber = [times[f"amber_{i}"] for i in range(1, reps + 1)]
    notes = [
        f"{reps} pairs in one `airflow dags test` (Airflow {_version(binary)}, SQLite), "
        f"alternating, after a warm-up pair whose `@task.amber` built the env "
        f"({ms(times['amber_0']):.0f} ms). `@task.amber` {spread(amber)}; `@task` "
        f"{spread(plain)}; each from Airflow's own log lines around the task.",
    ]
    return Figure(LABEL, amber, plain, 300, notes=notes)


def _airflow(cmd: list[str], environ: dict[str, str]) -> str:
    proc = subprocess.run(cmd, env=environ, capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"failed ({proc.returncode}): {' '.join(cmd)}\n{proc.stdout}{proc.stderr}")
    return proc.stdout + proc.stderr


def _task_seconds(output: str) -> dict[str, float]:
    """Each task's seconds between Airflow's own "starting" and "end task" lines."""
    started: dict[str, datetime.datetime] = {}
    out: dict[str, float] = {}
    for stamp, event, task_id in _EVENT.findall(output):
        when = datetime.datetime.fromisoformat(stamp.replace("Z", "+00:00"))
        if event == "starting":
            started[task_id] = when
        else:
            out[task_id] = (when - started[task_id]).total_seconds()
    return out


def _version(binary: Path) -> str:
    python = binary.with_name("python")
    code = "import airflow; print(airflow.__version__)"
    return subprocess.run([str(python), "-c", code], capture_output=True, text=True).stdout.strip()
