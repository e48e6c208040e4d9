"""Activation at run time, with the caller's environment (as `conda run` does it)."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import condapkgs
import pytest
from helpers import activation_packages, conda_spec, write


@pytest.fixture(scope="module")
def flag_channel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return condapkgs.build_channel(tmp_path_factory.mktemp("flag-channel"), activation_packages())


def test_activation_scripts_see_the_callers_environment(amber, flag_channel, tmp_path):
    spec = conda_spec(tmp_path, flag_channel, "flagtool")
    prefix = Path(amber("install", "-f", spec, check=True).stdout.strip())
    ran = amber(
        "run", "-f", spec, "--", "sh", "-c", 'echo "[$MYFLAGS] $FLAGTOOL_ON"',
        env={"MYFLAGS": "-O2"}, check=True,
    )  # fmt: skip
    assert ran.stdout.strip() == f"[-O2 -I{prefix}/include] 1"
    # The scripts' own output does not mix with the command's.
    assert "activating flagtool" in ran.stderr and "activating" not in ran.stdout
    unset = amber("run", "-f", spec, "--", "sh", "-c", 'echo "[$MYFLAGS]"', check=True)
    assert unset.stdout.strip() == f"[ -I{prefix}/include]"
    # The recorded activation is the static part; the scripts are named, not snapshotted.
    recorded = json.loads((prefix / ".amber" / "activation.json").read_text())
    assert "MYFLAGS" not in recorded["set"]
    assert recorded["scripts"] == [
        str(prefix / "etc/conda/activate.d/flagtool.sh"),
        str(prefix / "etc/conda/activate.d/noisy.sh"),
    ]


def test_env_without_scripts_spawns_no_shell(amber, flag_channel, tmp_path):
    spec = conda_spec(tmp_path, flag_channel, "plaintool")
    amber("install", "-f", spec, check=True)
    trap = tmp_path / "trap"
    marker = tmp_path / "bash-ran"
    write(trap / "bash", f'#!/bin/sh\ntouch {marker}\nexec /bin/bash "$@"\n')
    (trap / "bash").chmod(0o755 | stat.S_IEXEC)
    path = f"{trap}{os.pathsep}{os.environ['PATH']}"
    ran = amber("run", "-f", spec, "--", "plaintool", env={"PATH": path}, check=True)
    assert ran.stdout.strip() == "plain"
    assert not marker.exists()


def test_env_show_names_the_scripts(amber, flag_channel, tmp_path):
    spec = conda_spec(tmp_path, flag_channel, "flagtool")
    prefix = Path(amber("install", "-f", spec, check=True).stdout.strip())
    full_id = (prefix / ".amber" / "complete").read_text().strip()
    shown = json.loads(amber("env", "show", full_id, "--json", check=True).stdout)
    assert shown["activation"]["scripts"][0] == str(prefix / "etc/conda/activate.d/flagtool.sh")
    assert "activate.d/noisy.sh (sourced" in amber("env", "show", full_id, check=True).stdout
