"""The `amber` command itself: commands that used to end in a traceback, and the fast path."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from helpers import conda_spec, write


def _install(amber, spec: Path) -> Path:
    return Path(amber("install", "-q", "-f", spec, check=True).stdout.strip())


def test_env_show_of_an_unpacked_env(amber, conda_channel: Path, tmp_path: Path):
    env = _install(amber, conda_spec(tmp_path / "spec", conda_channel, "python", "greetlib"))
    archive, dest = tmp_path / "env.tar.zst", tmp_path / "deployed" / "env"
    amber("pack", "-q", env, "-o", archive, check=True)
    amber("unpack", "-q", archive, dest, check=True)

    elsewhere = {"AMBER_HOME": str(tmp_path / "another-machine")}  # a store without the env
    for environ in (None, elsewhere):
        shown = amber("env", "show", dest, env=environ)
        assert shown.returncode == 0, shown
        assert "Traceback" not in shown.stderr
        assert f"path:     {dest}" in shown.stdout
        assert "name:     -" in shown.stdout  # not the name of the env it was packed from
        assert "greetlib" in shown.stdout

        as_json = amber("env", "show", dest, "--json", env=environ)
        assert as_json.returncode == 0, as_json
        data = json.loads(as_json.stdout)
        assert data["path"] == str(dest)
        assert data["full_id"].startswith(env.name)
        assert data["name"] is None and data["size"] is None


def test_env_rm_of_an_unpacked_env_keeps_the_original(amber, conda_channel: Path, tmp_path: Path):
    env = _install(amber, conda_spec(tmp_path / "spec", conda_channel, "python", "datafiles"))
    archive, dest = tmp_path / "env.tar.zst", tmp_path / "deployed" / "env"
    amber("pack", "-q", env, "-o", archive, check=True)
    amber("unpack", "-q", archive, dest, check=True)
    amber("env", "rm", dest, check=True)
    assert not dest.exists()
    # The env it was packed from is untouched, on disk and in the index.
    assert (env / ".amber" / "complete").is_file()
    listed = json.loads(amber("env", "list", "--json", check=True).stdout)
    assert [e["path"] for e in listed] == [str(env)]


def test_steps_lists_a_step_that_names_an_existing_env(amber, tmp_path: Path):
    spec = write(tmp_path / "spec" / "requirements.txt", "six==1.16.0\n")
    env = _install(amber, spec)
    amber("env", "tag", env.name, "base", check=True)
    module = write(
        tmp_path / "flow.py",
        """
        import amber

        @amber.step(env="base")
        def train():
            return 1
        """,
    )
    listed = amber("steps", module)
    assert listed.returncode == 0, listed
    assert "Traceback" not in listed.stderr
    assert listed.stdout.split()[:4] == ["train", "req_id", "-", "full_id"]
    assert env.name[:12] in listed.stdout
    rows = json.loads(amber("steps", module, "--json", check=True).stdout)
    assert [(r["step"], r["req_id"], r["full_id"][:16], r["hydrated"]) for r in rows] == [
        ("train", None, env.name, True)
    ]


def test_the_fast_path_imports_neither_click_nor_the_api(amber_home: Path, tmp_path: Path):
    spec = write(tmp_path / "requirements.txt", "six==1.16.0\n")
    run = [sys.executable, "-m", "amber", "run", "-f", str(spec), "--", "true"]
    install = [sys.executable, "-m", "amber", "install", "-f", str(spec)]
    subprocess.run(run, check=True, capture_output=True)  # hydrates and remembers it
    for command in (run, install):
        traced = subprocess.run(
            [sys.executable, "-X", "importtime", *command[1:]], capture_output=True, text=True
        )
        assert traced.returncode == 0, traced.stderr
        imported = {line.rsplit("|", 1)[-1].strip() for line in traced.stderr.splitlines()}
        # run: amber._hot execs before even the fast CLI (tests/run/test_hot.py)
        assert ("amber._hot" if command is run else "amber.cli._fast") in imported
        assert not {"click", "rich", "amber.api", "amber.cli.main", "rattler"} & imported
    assert Path(traced.stdout.strip()).is_dir()  # `install` printed the env's path
