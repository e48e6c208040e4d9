"""The remote store through the CLI: push on one machine, pull and run on another."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import condapkgs
from helpers import write

DEAD_PROXY = "http://127.0.0.1:9"


def test_push_then_pull_and_run_elsewhere(amber, conda_channel: Path, tmp_path: Path, remote_url):
    channel = condapkgs.copy_channel(conda_channel, tmp_path / "channel")
    flow = tmp_path / "project" / "flow.py"
    with condapkgs.serve_directory(channel) as url:
        spec = write(
            tmp_path / "project" / "environment.yml",
            f"name: demo\nchannels: ['{url}']\n"
            "dependencies: [python, six, greetlib, {pip: [python-dateutil==2.9.0.post0]}]\n",
        )
        prefix = Path(amber("install", "-f", spec, check=True).stdout.strip())
        amber("env", "tag", prefix.name, "demo:v1", check=True)
        pushed = amber("push", "demo:v1", "--remote", remote_url, check=True)
        assert "Pushed" in pushed.stderr and "demo:v1" in pushed.stderr
        again = amber("push", "demo:v1", "--remote", remote_url, check=True)
        assert "0 packages uploaded" in again.stderr  # all there already
        # A pipeline run with the remote configured records its run there too.
        write(
            flow,
            f"""
            import amber

            @amber.step(file="{spec}")
            def first():
                import dateutil
                return dateutil.__version__

            print(first())
            """,
        )
        env = {"AMBER_REMOTE": remote_url}
        ran = subprocess.run(
            [sys.executable, str(flow)], capture_output=True, text=True,
            env={**__import__("os").environ, "AMBER_HOME": str(prefix.parents[1]), **env},
        )  # fmt: skip
        assert ran.stdout.strip() == "2.9.0.post0", ran.stderr
    shutil.rmtree(channel)  # the channel is gone; so is PyPI for the other machine

    other = {
        "AMBER_HOME": str(tmp_path / "other-machine"),
        "AMBER_REMOTE": remote_url,
        "HTTPS_PROXY": DEAD_PROXY,
        "HTTP_PROXY": DEAD_PROXY,
        "NO_PROXY": "127.0.0.1,localhost",
    }
    tags = json.loads(amber("remote", "ls", "--json", env=other, check=True).stdout)
    assert [f"{t['name']}:{t['tag']}" for t in tags] == ["demo:v1"]
    greet = amber("run", "--env", "demo:v1", "--", "greet", env=other)
    assert greet.returncode == 0, greet
    assert greet.stdout.strip() == "hello from greetlib"
    code = "import dateutil, six; print(dateutil.__version__)"
    out = amber("run", "--env", "demo:v1", "--", "python", "-c", code, env=other, check=True)
    assert out.stdout.strip() == "2.9.0.post0"

    # The run recorded on the first machine re-creates its step's env on this one.
    runs_file = tmp_path / "runs.json"
    runs_file.write_text(amber("runs", "list", "--json", check=True).stdout)
    run_id = json.loads(runs_file.read_text())[0]["run_id"]
    got = amber("env", "get", "--run", run_id, "--step", "first", env=other)
    assert got.returncode == 0, got
    assert (Path(got.stdout.strip()) / ".amber" / "complete").is_file()

    unknown = amber("pull", "demo:nope", env=other)
    assert unknown.returncode == 2 and "demo:nope" in unknown.stderr
