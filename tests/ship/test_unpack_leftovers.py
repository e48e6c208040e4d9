"""`amber unpack` extracts into `.DEST.unpack-<owner>-*` first: what an unpack killed midway
left there is removed by the next unpack into that folder, never a running one's."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from helpers import conda_spec

from amber._fs import owner_token


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def _host() -> str:
    return owner_token().partition(".")[2]


@pytest.fixture
def packed(amber, conda_channel: Path, tmp_path: Path) -> Path:
    spec = conda_spec(tmp_path / "spec", conda_channel, "footool")
    archive = tmp_path / "footool.tar.gz"
    env = amber("install", "-q", "-f", spec, check=True).stdout.strip()
    amber("pack", env, "-o", archive, check=True)
    return archive


def test_unpack_removes_what_killed_unpacks_left_beside_the_destination(amber, packed, tmp_path):
    dests = tmp_path / "dests"
    dests.mkdir()
    alive = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    try:
        dead = f"{_dead_pid()}.{_host()}"
        stale = [dests / f".env.unpack-{dead}-k1ll3d_1", dests / f".other.unpack-{dead}-k1ll3d_2"]
        running = dests / f".env.unpack-{alive.pid}.{_host()}-runn1ng_"
        for folder in [*stale, running]:
            (folder / "bin").mkdir(parents=True)
            (folder / "bin" / "tool").write_text("half unpacked")
        result = amber("unpack", packed, dests / "env")
        assert result.returncode == 0, result
        assert (dests / "env" / "bin").is_dir()
        assert sorted(p.name for p in dests.iterdir()) == sorted(["env", running.name])
    finally:
        alive.kill()
        alive.wait()
