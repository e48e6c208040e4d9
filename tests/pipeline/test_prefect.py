"""Steps as Prefect tasks, in Prefect's own local ephemeral mode (no server configured).

The flow runs as a script in a process of its own, as a user's does: ``PREFECT_API_URL``
unset, ``PREFECT_HOME`` in the test's directory, so Prefect starts its temporary local
server and database there, and nothing of it stays in this test process.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import env_dirs

import amber

prefect = pytest.importorskip("prefect")

import amber.prefect  # noqa: E402 - after the skip: it needs Prefect
from amber.errors import StepError  # noqa: E402

FLOW = '''
import json
import sys

from prefect import flow, unmapped

import amber.prefect


class PrefectBoom(Exception):
    """Raised inside a step: the flow must see it as itself."""


@amber.prefect.task(pypi=["six==1.15.0"], retries=0)
def extract(x):
    import six

    return {"x": x, "six": six.__version__, "prefix": sys.prefix}


@amber.prefect.task(pypi=["six==1.16.0"], task_run_name="transform-{row[x]}")
def transform(row, scale=1):
    import six

    return {**row, "y": row["x"] * scale, "six_after": six.__version__}


@amber.prefect.task(pypi=["six==1.16.0"])
def fails(x):
    raise PrefectBoom("bad", x)


@flow
def pipeline(n):
    rows = [extract(i) for i in range(n)]  # called: the task's result
    return [f.result() for f in transform.map(rows, scale=unmapped(10))]  # futures


@flow
def failing():
    return fails(7)


out = pipeline(3)
try:
    failing()
except PrefectBoom as exc:
    cause = exc.__cause__
    caught = [type(exc) is PrefectBoom, list(exc.args), type(cause).__name__,
              'raise PrefectBoom("bad", x)' in getattr(cause, "tb", "")]
print("RESULT " + json.dumps({"out": out, "caught": caught}))
'''


def test_steps_as_prefect_tasks_in_a_flow(amber_home: Path, tmp_path: Path) -> None:
    script = tmp_path / "flow.py"
    script.write_text(FLOW)
    environ = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    environ.update(PREFECT_HOME=str(tmp_path / "prefect-home"), AMBER_HOME=str(amber_home))
    environ["PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS"] = "180"  # a loaded 2-core CI
    proc = subprocess.run(
        [sys.executable, str(script)], cwd=tmp_path, env=environ, capture_output=True,
        text=True, timeout=600,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-5000:]
    [line] = [x for x in proc.stdout.splitlines() if x.startswith("RESULT ")]
    got = json.loads(line.removeprefix("RESULT "))
    # Two steps whose envs pin six differently; values pass from one to the other.
    assert [(o["x"], o["y"], o["six"], o["six_after"]) for o in got["out"]] == [
        (i, 10 * i, "1.15.0", "1.16.0") for i in range(3)
    ]
    assert got["caught"] == [True, ["bad", 7], "RemoteTraceback", True]
    envs = env_dirs(amber_home)
    assert len(envs) == 2 and Path(got["out"][0]["prefix"]) in envs
    assert "transform-2" in proc.stderr  # Prefect's own task options reach the task


def test_task_options_and_step_settings_are_told_apart() -> None:
    @amber.prefect.task(pypi=["six==1.16.0"], retries=2, tags=["etl"])
    def load(x: int) -> int:
        """Loads."""
        return x

    assert isinstance(load, prefect.Task)
    assert (load.name, load.retries, load.tags, load.description) == ("load", 2, {"etl"}, "Loads.")
    assert "six==1.16.0" in load.fn.step.spec.pypi  # type: ignore[attr-defined]
    with pytest.raises(StepError, match="'retires'.*neither amber.step's nor prefect.task's"):
        amber.prefect.task(pypi=["six"], retires=2)
    with pytest.raises(StepError, match="env= excludes every other setting"):

        @amber.prefect.task(env="x", pypi=["six"])
        def both(x: int) -> int:
            return x
