"""`amber shell` and `amber shell-hook`: the env in an interactive shell, or in the caller's."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import condapkgs
import pytest
from helpers import activation_packages, conda_spec


@pytest.fixture(scope="module")
def flag_channel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return condapkgs.build_channel(tmp_path_factory.mktemp("flag-channel"), activation_packages())


def _amber_cmd() -> str:
    return f"{sys.executable} -m amber"


def test_shell_hook_evaluated_by_bash(amber, amber_home, flag_channel, tmp_path):
    spec = conda_spec(tmp_path, flag_channel, "flagtool")
    prefix = Path(amber("install", "-f", spec, check=True).stdout.strip())
    script = (
        f'eval "$({_amber_cmd()} shell-hook -f {spec})"; '
        'which flagtool; echo "$CONDA_PREFIX|$MYFLAGS|$FLAGTOOL_ON"'
    )
    env = {**os.environ, "AMBER_HOME": str(amber_home), "MYFLAGS": "-O2"}
    out = subprocess.run(
        ["bash", "--noprofile", "--norc", "-c", script], env=env, capture_output=True, text=True
    )
    assert out.returncode == 0, out
    lines = out.stdout.splitlines()
    # The scripts run in the caller's shell, printing there as conda's activation does.
    assert lines == [
        "activating flagtool",
        str(prefix / "bin" / "flagtool"),
        f"{prefix}|-O2 -I{prefix}/include|1",
    ]


def test_shell_hook_other_shells(amber, flag_channel, tmp_path):
    spec = conda_spec(tmp_path, flag_channel, "flagtool")
    prefix = Path(amber("install", "-f", spec, check=True).stdout.strip())
    fish = amber("shell-hook", "-f", spec, "--shell", "fish", check=True).stdout
    assert f"set -gx CONDA_PREFIX '{prefix}'" in fish
    assert f"source '{prefix}/etc/conda/activate.d/flagtool.fish'" in fish
    assert "noisy.sh" not in fish  # a POSIX script is not fish's
    assert f"set -gx PATH '{prefix}/bin'" in fish
    ps = amber("shell-hook", "-f", spec, "--shell", "powershell", check=True).stdout
    assert f"${{Env:CONDA_PREFIX}} = '{prefix}'" in ps
    cmd = amber("shell-hook", "-f", spec, "--shell", "cmd", check=True).stdout
    assert f'@SET "CONDA_PREFIX={prefix}"' in cmd
    bad = amber("shell-hook", "-f", spec, "--shell", "tcsh")
    assert bad.returncode == 2 and "tcsh" in bad.stderr and "Traceback" not in bad.stderr


def test_shell_reads_commands_and_returns_their_exit_code(amber, flag_channel, tmp_path):
    spec = conda_spec(tmp_path, flag_channel, "flagtool")
    prefix = Path(amber("install", "-f", spec, check=True).stdout.strip())
    env = {"SHELL": "/bin/bash", "MYFLAGS": "-O2"}
    proc = subprocess.run(
        [sys.executable, "-m", "amber", "shell", "-f", str(spec)],
        input='echo "$CONDA_PREFIX $MYFLAGS"; exit 3\n',
        env={**os.environ, **env},
        capture_output=True, text=True,
    )  # fmt: skip
    assert proc.returncode == 3, proc
    assert proc.stdout.strip() == f"{prefix} -O2 -I{prefix}/include"


def test_nested_shells_leave_the_outer_env(amber, flag_channel, tmp_path):
    outer = conda_spec(tmp_path / "outer", flag_channel, "flagtool")
    inner = conda_spec(tmp_path / "inner", flag_channel, "plaintool")
    outer_prefix = Path(amber("install", "-f", outer, check=True).stdout.strip())
    inner_prefix = Path(amber("install", "-f", inner, check=True).stdout.strip())
    commands = (
        f"{_amber_cmd()} shell -f {inner} <<'EOF'\n"
        'echo "$CONDA_PREFIX"; echo "$PATH"; command -v flagtool || echo no-flagtool; exit 5\n'
        "EOF\n"
        "echo outer=$? $CONDA_PREFIX\n"
    )
    proc = subprocess.run(
        [sys.executable, "-m", "amber", "shell", "-f", str(outer)],
        input=commands, env={**os.environ, "SHELL": "/bin/bash"}, capture_output=True, text=True,
    )  # fmt: skip
    assert proc.returncode == 0, proc
    lines = proc.stdout.splitlines()
    assert lines[0] == str(inner_prefix)
    assert str(outer_prefix) not in lines[1] and lines[1].startswith(str(inner_prefix / "bin"))
    assert lines[2] == "no-flagtool"
    assert lines[3] == f"outer=5 {outer_prefix}"
