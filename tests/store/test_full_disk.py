"""A completely full disk: `du`, `env rm` and `gc` still work (so Amber can free space), the
others fail with a clear message (exit 2, the path, "no space left on device"), nothing
half-written. On a real small filesystem (a tmpfs: needs root)."""

from __future__ import annotations

import errno
import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers import conda_spec


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root")
    mount = tmp_path / "disk"
    mount.mkdir()
    made = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=24m", "tmpfs", str(mount)],
        capture_output=True, text=True,
    )  # fmt: skip
    if made.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {made.stderr.strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def _fill(folder: Path) -> Path:
    """Fill the filesystem of ``folder`` to its last byte; returns the filler file."""
    filler = folder / "filler"
    with open(filler, "wb", buffering=0) as f:
        for chunk in (1 << 20, 1 << 12, 1):
            block = b"\0" * chunk
            while True:
                try:
                    f.write(block)
                except OSError as exc:
                    assert exc.errno == errno.ENOSPC
                    break
    return filler


def _free(folder: Path) -> int:
    st = os.statvfs(folder)
    return st.f_bavail * st.f_frsize


def _amber(home: Path, *args: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "amber", *map(str, args)],
        env={**os.environ, "AMBER_HOME": str(home)}, capture_output=True, text=True, timeout=600,
    )  # fmt: skip


def _full_disk_refusal(result: subprocess.CompletedProcess[str], home: Path) -> None:
    assert result.returncode == 2, result
    assert "Traceback" not in result.stderr, result.stderr
    assert "no space left on device" in result.stderr.lower(), result.stderr
    assert str(home) in result.stderr, result.stderr


def test_a_full_disk(small_disk: Path, conda_channel: Path, tmp_path: Path):
    home = small_disk / "home"
    project = tmp_path / "project"
    keep = conda_spec(project / "keep", conda_channel, "python", "greetlib")
    gone = conda_spec(project / "gone", conda_channel, "python", "footool")
    old = conda_spec(project / "old", conda_channel, "python", "datafiles")
    paths = {}
    for spec in (keep, gone, old):
        made = _amber(home, "install", "-q", "-f", spec)
        assert made.returncode == 0, made
        paths[spec] = Path(made.stdout.strip())
    short = paths[gone].name[:12]  # env dirs are named by their full_id
    locked = conda_spec(project / "locked", conda_channel, "python", "oldlib")
    assert _amber(home, "lock", "-f", locked).returncode == 0  # in the store, not installed
    lock_bytes = (locked.parent / "amber.lock").read_bytes()
    # The index as a cleanly closed one is left: no -wal, no -shm (SQLite makes them again
    # on the next open, and they need room).
    index = sqlite3.connect(home / "index.db")
    index.execute("SELECT count(*) FROM envs").fetchall()
    index.close()
    assert not (home / "index.db-shm").exists()
    filler = _fill(small_disk)
    assert _free(small_disk) == 0

    # du reads: it works.
    du = _amber(home, "du")
    assert du.returncode == 0, du

    # What needs new space says so, and leaves nothing behind.
    new = conda_spec(project / "new", conda_channel, "python", "datafiles", "greetlib")
    before = sorted(os.listdir(home / "locks")), sorted(os.listdir(home / "envs"))
    for args in (
        ("lock", "-f", new),  # a new lock to keep
        ("install", "-f", new),
        ("lock", "-f", locked),  # its lock is kept already: the index is written
        ("install", "-f", locked),  # packages to extract, an env to build
        ("env", "tag", short, "later:v1"),  # the index, nothing else
    ):
        _full_disk_refusal(_amber(home, *args), home)
    assert (sorted(os.listdir(home / "locks")), sorted(os.listdir(home / "envs"))) == before
    assert not (new.parent / "amber.lock").exists()
    assert (locked.parent / "amber.lock").read_bytes() == lock_bytes

    # `run` on an existing env: it runs, or says clearly why not.
    ran = _amber(home, "run", "-f", keep, "--", "python", "-c", "print('ran')")
    if ran.returncode != 0:
        _full_disk_refusal(ran, home)
    else:
        assert "ran" in ran.stdout

    # env rm frees space.
    removed = _amber(home, "env", "rm", short)
    assert removed.returncode == 0, removed
    assert not paths[gone].exists()
    assert _free(small_disk) > 0

    # gc works on a disk that is full again, and frees space.
    os.unlink(filler)
    filler = _fill(small_disk)
    collected = _amber(home, "gc", "--older-than", "0", "--keep", "1")
    assert collected.returncode == 0, collected
    assert _free(small_disk) > 0
    assert not paths[old].exists() or not paths[keep].exists()

    # With room again, the store is whole: what is left is listed and runs.
    os.unlink(filler)
    listed = _amber(home, "env", "list")
    assert listed.returncode == 0, listed
    assert short not in listed.stdout
    for spec in (new, locked):
        again = _amber(home, "install", "-q", "-f", spec)
        assert again.returncode == 0, again
        ran = _amber(home, "run", "-f", spec, "--", "python", "-c", "print('ran')")
        assert ran.returncode == 0 and "ran" in ran.stdout, ran
