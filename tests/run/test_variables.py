"""environment.yml's ``variables:``: set in the env at run time, shown, recorded, exported."""

from __future__ import annotations

import json
from pathlib import Path

import yaml
from helpers import write

from amber.lock import Lock


def _spec(directory: Path, channel: Path, variables: str) -> Path:
    return write(
        directory / "environment.yml",
        f"""
        name: demo
        channels: ['{channel}']
        dependencies:
          - python
          - greetlib
        variables:
        {variables}
        """,
    )


def test_variables_are_set_shown_recorded_and_exported(amber, conda_channel: Path, tmp_path):
    spec = _spec(tmp_path / "a", conda_channel, "  MY_VAR: My Value\n          FLAG: true")
    amber("lock", "-q", "-f", spec, check=True)
    ran = amber("run", "-f", spec, "--", "sh", "-c", 'echo "$MY_VAR|$FLAG"', check=True)
    assert ran.stdout.strip() == "My Value|True"

    lock = Lock.read(spec.parent / "amber.lock")
    assert lock.spec.variables == (("FLAG", "True"), ("MY_VAR", "My Value"))
    env = Path(amber("install", "-q", "-f", spec, check=True).stdout.strip())
    # Where conda keeps them, so `conda activate` of this prefix sets them too.
    state = json.loads((env / "conda-meta" / "state").read_text())
    assert state["env_vars"] == {"FLAG": "True", "MY_VAR": "My Value"}

    shown = amber("env", "show", env, check=True).stdout
    assert "variable: MY_VAR=My Value" in shown

    exported = amber("export", spec.parent / "amber.lock", "--format", "environment.yml",
                     check=True).stdout  # fmt: skip
    assert yaml.safe_load(exported)["variables"] == {"FLAG": "True", "MY_VAR": "My Value"}
    history = amber("export", spec.parent / "amber.lock", "--format", "environment.yml",
                    "--from-history", check=True).stdout  # fmt: skip
    assert yaml.safe_load(history)["variables"] == {"FLAG": "True", "MY_VAR": "My Value"}
    pixi = amber("export", spec.parent / "amber.lock", "--format", "pixi", check=True)
    assert "variables (FLAG, MY_VAR) are not carried" in pixi.stderr

    # Other variables: another env (conda keeps them in the prefix), same packages.
    other = _spec(tmp_path / "b", conda_channel, "  MY_VAR: other")
    amber("lock", "-q", "-f", other, check=True)
    ran = amber("run", "-f", other, "--", "sh", "-c", 'echo "$MY_VAR|$FLAG"', check=True)
    assert ran.stdout.strip() == "other|"
    other_lock = Lock.read(other.parent / "amber.lock")
    assert other_lock.full_id != lock.full_id
    assert other_lock.platforms == lock.platforms
