"""The memo of which PyPI distributions a conda package installs
(``pkgs/conda/.dists/<sha256>.json``): written atomically, recomputed when damaged."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import conda_spec

from amber.lock import Lock


def _memos(home: Path) -> list[Path]:
    folder = home / "pkgs" / "conda" / ".dists"
    return sorted(folder.glob("*.json")) if folder.is_dir() else []


def _six_sha(lock_file: Path) -> str:
    lock = Lock.read(lock_file)
    (body,) = lock.platforms.values()
    return next(p.sha256 for p in body.conda if p.name == "six")


@pytest.mark.parametrize("damage", [b'[["six", "1.1', b"\x00\xff garbage", b'{"a": 1}'])
def test_a_damaged_memo_is_recomputed_and_repaired(
    amber, amber_home, conda_channel, tmp_path, damage
):
    spec = conda_spec(tmp_path, conda_channel, "python", "six", pip=("idna==3.4",))
    amber("lock", "-f", spec, check=True)
    memo = amber_home / "pkgs" / "conda" / ".dists" / f"{_six_sha(tmp_path / 'amber.lock')}.json"
    good = json.loads(memo.read_bytes())
    assert good and good[0][0] == "six"
    first = (tmp_path / "amber.lock").read_bytes()

    memo.write_bytes(damage)  # what a crash halfway through a plain write leaves
    (tmp_path / "amber.lock").unlink()
    again = amber("lock", "-f", spec)
    assert again.returncode == 0, again
    assert "Traceback" not in again.stderr
    assert (tmp_path / "amber.lock").read_bytes() == first  # the same resolution
    assert json.loads(memo.read_bytes()) == good  # and the memo is whole again


def test_concurrent_locks_sharing_the_memo_never_crash(amber_home, conda_channel, tmp_path):
    """Many processes resolving the same packages into one store at once, the memo written
    and read by all of them: none sees a half-written memo."""
    specs = [
        conda_spec(tmp_path / f"p{i}", conda_channel, "python", "six", pip=("idna==3.4",))
        for i in range(8)
    ]
    environ = {**os.environ, "AMBER_HOME": str(amber_home)}
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "amber", "lock", "-f", str(spec)],
            env=environ,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for spec in specs
    ]
    for proc in procs:
        out, err = proc.communicate(timeout=600)
        assert proc.returncode == 0 and "Traceback" not in err, err
    assert _memos(amber_home)
    for memo in _memos(amber_home):
        json.loads(memo.read_bytes())
    assert not [
        p for p in (amber_home / "pkgs" / "conda" / ".dists").iterdir() if p.suffix != ".json"
    ]
    locks = {(spec.parent / "amber.lock").read_bytes() for spec in specs}
    assert len(locks) == 1
