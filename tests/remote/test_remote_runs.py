"""`amber runs list/show` include the runs recorded in the remote store, marked as remote."""

from __future__ import annotations

import json
from pathlib import Path

from amber.remote import Remote
from amber.store import RunRecord, StepRecord


def test_runs_recorded_remotely_are_listed_and_shown(amber, tmp_path: Path):
    url = (tmp_path / "remote").as_uri()
    remote = Remote.open(url)
    step = StepRecord("8e3a1c55aa01", "flow.train", "ab" * 32, 1.0, 2.5, "ok")
    remote.record_run(RunRecord("8e3a1c55aa01", 1.0, "laptop", "python flow.py", (step,)))
    remote.record_run(RunRecord("77aa00000000", 5.0, "ci-runner", "python other.py", ()))

    alone = amber("runs", "list", check=True)
    assert "No runs yet" in alone.stderr  # without a remote store: only this store's

    env = {"AMBER_REMOTE": url}
    listed = amber("runs", "list", env=env, check=True)
    lines = listed.stdout.splitlines()
    assert [line.split()[0] for line in lines] == ["77aa00000000", "8e3a1c55aa01"]  # newest first
    assert all("remote" in line for line in lines), listed
    assert "No runs yet" not in listed.stderr

    rows = json.loads(amber("runs", "list", "--json", env=env, check=True).stdout)
    assert [(r["run_id"], r["remote"]) for r in rows] == [
        ("77aa00000000", True),
        ("8e3a1c55aa01", True),
    ]

    shown = amber("runs", "show", "8e3a1c", env=env)
    assert shown.returncode == 0, shown
    assert "flow.train" in shown.stdout and "remote" in shown.stdout
    assert amber("runs", "show", "8e3a1c").returncode == 2  # not in this store alone


def test_unreachable_remote_still_lists_local_runs(amber, tmp_path: Path):
    (tmp_path / "not-a-dir").write_text("x")
    env = {"AMBER_REMOTE": (tmp_path / "not-a-dir" / "remote").as_uri()}
    listed = amber("runs", "list", env=env)
    assert listed.returncode == 0, listed
    assert "Traceback" not in listed.stderr and "No runs yet" in listed.stderr
