"""``@task.amber`` and ``AmberOperator`` inside the real Airflow: ``airflow dags test``.

Airflow pins too much to share the dev venv: ``.ci/run`` installs it with Amber into
``.ci-tools/airflow`` and sets ``$AMBER_TEST_AIRFLOW`` to its ``airflow``. One
``airflow db migrate`` (SQLite) and one store per session; each test runs on a copy of
that db.
The provider entry point is checked in the dev venv too, without Airflow.
"""

from __future__ import annotations

import ast
import importlib.metadata
import importlib.util
import os
import re
import shutil
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest
from filelock import FileLock

REPO = Path(__file__).resolve().parents[2]
EXAMPLE_DAG = REPO / "examples" / "airflow" / "dags" / "amber_six.py"
AIRFLOW = os.environ.get("AMBER_TEST_AIRFLOW")
needs_airflow = pytest.mark.skipif(
    not AIRFLOW,
    reason="AMBER_TEST_AIRFLOW is not set: Airflow lives in its own venv, which .ci/run "
    "builds (.ci-tools/airflow/bin/airflow)",
)


# -- the provider, seen from the dev venv (no Airflow) -------------------------------


def test_the_provider_entry_point_names_task_amber() -> None:
    """What Airflow's provider manager reads: our distribution's name (it refuses any
    other), ``@task.amber`` at a module that exists, and nothing imported to say so."""
    found = [
        ep
        for ep in importlib.metadata.entry_points(group="apache_airflow_provider")
        if ep.dist is not None and ep.dist.name == "amber-env"
    ]
    assert len(found) == 1, "amber-env declares no apache_airflow_provider entry point"
    info = found[0].load()()
    assert info["package-name"] == "amber-env"
    assert info["name"] and info["description"]  # required by Airflow's schema
    decorators = {d["name"]: d["class-name"] for d in info["task-decorators"]}
    module, _, attr = decorators["amber"].rpartition(".")
    assert importlib.util.find_spec(module) is not None
    source = Path(importlib.util.find_spec(module).origin or "").read_text()
    assert attr in {n.name for n in ast.parse(source).body if isinstance(n, ast.FunctionDef)}
    # Airflow loads every provider's info on start: ours must not import Amber's pipeline
    probe = "import sys, amber.airflow as a; a.get_provider_info(); print(sorted(sys.modules))"
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert loaded.returncode == 0, loaded.stderr
    assert "amber.pipeline" not in loaded.stdout and "'airflow" not in loaded.stdout


# -- the real engine -------------------------------------------------------------------


@dataclass
class DagRun:
    returncode: int
    output: str

    def returned(self, task_id: str) -> str:
        """The value a task returned, as Airflow logs it ("Done. Returned value was: ...")."""
        block = self.output.split(f"starting task_id={task_id} ", 1)[-1]
        found = re.search(r"Returned value was: (.*?) \[airflow\.task", block)
        assert found, f"task {task_id} logged no value:\n{self.output[-4000:]}"
        return found.group(1)


def _airflow_environ(home: Path, amber_home: Path) -> dict[str, str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "VIRTUAL_ENV"))}
    environ.pop("AMBER_REMOTE", None)
    return {
        **environ,
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(home / "dags"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
        "AMBER_HOME": str(amber_home),
    }


@pytest.fixture(scope="session")
def airflow_session(tmp_path_factory: pytest.TempPathFactory, worker_id: str) -> Path:
    """A migrated SQLite db and a store for step envs, made once per session (xdist
    workers share both: a store is safe to share, and the tests' envs are the same)."""
    if worker_id == "master":
        return _migrate(tmp_path_factory.getbasetemp() / "airflow-session")
    shared = tmp_path_factory.getbasetemp().parent / "airflow-session"
    with FileLock(f"{shared}.lock"):
        _migrate(shared)
    return shared


def _migrate(root: Path) -> Path:
    home = root / "template"
    home.mkdir(parents=True, exist_ok=True)
    if not (home / "airflow.db").exists():
        proc = subprocess.run(
            [str(AIRFLOW), "db", "migrate"],
            env=_airflow_environ(home, root / "amber-home"),
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert proc.returncode == 0, proc.stdout + proc.stderr
    return root


@pytest.fixture
def dags_test(tmp_path: Path, airflow_session: Path):
    """Run ``airflow dags test DAG_ID`` over the given DAG files, on a copy of the db."""

    def run(dag_id: str, *files: Path) -> DagRun:
        home = tmp_path / "airflow"
        (home / "dags").mkdir(parents=True)
        shutil.copy(airflow_session / "template" / "airflow.db", home / "airflow.db")
        for f in files:
            shutil.copy(f, home / "dags" / f.name)
        proc = subprocess.run(
            [str(AIRFLOW), "dags", "test", dag_id],
            env=_airflow_environ(home, airflow_session / "amber-home"),
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=900,
        )
        return DagRun(proc.returncode, proc.stdout + proc.stderr)

    return run


@needs_airflow
def test_tasks_with_conflicting_versions_pass_values_through_xcom(dags_test) -> None:
    """The example DAG: six 1.15.0 in one task, 1.16.0 in the next, the first's value
    reaching the second; the classic operator's templated argument rendered."""
    run = dags_test("amber_six", EXAMPLE_DAG)
    assert run.returncode == 0, run.output[-6000:]
    assert run.returned("extract") == "{'rows': [0, 1, 2, 3], 'six': '1.15.0'}"
    assert run.returned("transform") == "{'total': 6, 'extract_six': '1.15.0', 'six': '1.16.0'}"
    report = run.returned("report")
    assert re.fullmatch(r"run manual__\S+: total 6 \(six 1\.15\.0 -> 1\.16\.0\)", report), report


FAILING_DAG = """\
import pendulum
from airflow.sdk import dag, task


class Opaque:
    pass


@task.amber(pypi=["six==1.16.0"])
def boom(n):
    raise ValueError(f"boom from the step {n}")


@task.amber(pypi=["six==1.16.0"])
def unstorable():
    return Opaque()


@dag(schedule=None, start_date=pendulum.datetime(2025, 1, 1), catchup=False)
def amber_fails():
    boom(7)
    unstorable()


amber_fails()
"""


@needs_airflow
def test_a_failing_step_shows_its_traceback_and_a_value_xcom_refuses_names_the_task(
    dags_test, tmp_path: Path
) -> None:
    dag_file = tmp_path / "amber_fails.py"
    dag_file.write_text(FAILING_DAG)
    run = dags_test("amber_fails", dag_file)
    assert run.returncode != 0, run.output[-6000:]
    # the step's own traceback: the DAG file's line and source, then the exception
    shown = re.search(
        r'File "[^"]*amber_fails\.py", line 11, in boom\n\s+raise ValueError\(f"boom from the '
        r'step \{n\}"\)\nValueError: boom from the step 7',
        run.output,
    )
    assert shown, run.output[-6000:]
    refused = re.search(r"StepError: task 'unstorable' \(amber step unstorable\) (.*)", run.output)
    assert refused, run.output[-6000:]
    assert "returned a value of type Opaque, which Airflow cannot store in XCom" in refused.group(1)
    assert "do_xcom_push=False" in refused.group(1)


@needs_airflow
def test_settings_amber_refuses_fail_the_dag_import(tmp_path: Path) -> None:
    """A bad step setting is found when Airflow parses the DAG, naming the function."""
    python = Path(str(AIRFLOW)).with_name("python")
    code = textwrap.dedent(
        """
        from airflow.sdk import dag, task

        @task.amber(env="team-env", pypi=["six==1.16.0"])
        def both(): ...

        @dag(schedule=None)
        def refused():
            both()

        refused()
        """
    )
    proc = subprocess.run(
        [str(python), "-c", code],
        env=_airflow_environ(tmp_path / "airflow", tmp_path / "amber-home"),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode != 0
    assert "amber.errors.StepError: step both: env= excludes every other setting" in proc.stderr
