"""``-o``: written atomically onto a regular file or a new path, through anything else
(a symlink's file, a device, a FIFO), a clear error where it cannot be written."""

from __future__ import annotations

import os
import stat
import threading
from pathlib import Path

import pytest
from helpers import conda_spec


@pytest.fixture
def locked(amber, conda_channel: Path, tmp_path: Path) -> tuple[Path, str]:
    """A spec in tmp_path/project and the text of its lock."""
    spec = conda_spec(tmp_path / "project", conda_channel, "python")
    amber("lock", "-f", spec, check=True)
    return spec, (spec.parent / "amber.lock").read_text()


def _no_traceback(result) -> None:
    assert result.returncode == 2, result
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) <= 3


def test_lock_output_through_a_symlink_keeps_the_link(amber, locked, tmp_path: Path):
    spec, text = locked
    real = tmp_path / "shared" / "team.lock"
    real.parent.mkdir()
    real.write_text("old")
    link = tmp_path / "link.lock"
    link.symlink_to(real)
    amber("lock", "-f", spec, "-o", link, check=True)
    assert link.is_symlink() and os.readlink(link) == str(real)
    assert real.read_text() == text
    exported = amber("export", spec.parent / "amber.lock", "--format", "explicit",
                     "-p", "linux-64", "-o", link)  # fmt: skip
    assert exported.returncode == 0, exported
    assert link.is_symlink() and real.read_text().startswith("# ")


def test_lock_output_onto_a_device_of_its_own(amber, locked, tmp_path: Path):
    spec, _ = locked
    (tmp_path / "dev").mkdir()
    node = tmp_path / "dev" / "null"
    try:
        os.mknod(node, stat.S_IFCHR | 0o666, os.makedev(1, 3))
    except PermissionError:
        pytest.skip("cannot make a device node here (not root)")
    inode = node.stat().st_ino
    amber("lock", "-f", spec, "-o", node, check=True)
    assert stat.S_ISCHR(os.lstat(node).st_mode) and os.lstat(node).st_ino == inode
    assert [p.name for p in node.parent.iterdir()] == ["null"]  # no temp file left beside


def test_lock_output_onto_dev_null_leaves_it_a_device(amber, locked):
    spec, _ = locked
    before = os.stat("/dev/null")
    amber("lock", "-f", spec, "-o", "/dev/null", check=True)
    amber("export", spec.parent / "amber.lock", "--format", "explicit", "-p", "linux-64",
          "-o", "/dev/null", check=True)  # fmt: skip
    after = os.stat("/dev/null")
    assert stat.S_ISCHR(after.st_mode) and after.st_rdev == before.st_rdev
    assert after.st_ino == before.st_ino


def test_lock_output_into_a_fifo(amber, locked, tmp_path: Path):
    spec, text = locked
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    got: list[str] = []

    def read() -> None:
        with open(fifo) as f:
            got.append(f.read())

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    amber("lock", "-f", spec, "-o", fifo, check=True)
    reader.join(120)
    assert got == [text] and stat.S_ISFIFO(os.lstat(fifo).st_mode)


@pytest.mark.parametrize("where", ["directory", "under a file", "read-only"])
def test_lock_output_that_cannot_be_written(amber, locked, tmp_path: Path, where: str):
    spec, _ = locked
    output = {
        "directory": Path("."),
        "under a file": Path("environment.yml") / "amber.lock",
        "read-only": Path("/proc/amber-test.lock"),  # root ignores permission bits, not this
    }[where]
    before = {p.name: p.read_bytes() for p in spec.parent.iterdir()}
    result = amber("lock", "-f", spec, "-o", output, cwd=spec.parent)
    _no_traceback(result)
    assert str(output) in result.stderr
    assert {p.name: p.read_bytes() for p in spec.parent.iterdir()} == before  # nothing written
    exported = amber("export", spec.parent / "amber.lock", "--format", "explicit",
                     "-p", "linux-64", "-o", output, cwd=spec.parent)  # fmt: skip
    _no_traceback(exported)
    assert {p.name: p.read_bytes() for p in spec.parent.iterdir()} == before
