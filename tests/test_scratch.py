"""Scratch space that killed commands leave behind: removed by the next run once its owner
is gone, never while its owner runs."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

from helpers import bounded, write

from amber._fs import owner_token, sweep_scratch, write_atomic


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def _host() -> str:
    return owner_token().partition(".")[2]


def test_sweep_removes_only_what_dead_processes_of_this_host_left(tmp_path: Path):
    alive = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    try:
        dead = _dead_pid()
        names = {
            f"amber-{dead}.{_host()}-uv-abc": "dead",
            f"amber-{dead}.{_host()}-reqs-x.txt": "dead file",
            f"amber-{alive.pid}.{_host()}-uv-abc": "alive",
            f"amber-{os.getpid()}.{_host()}-uv-abc": "ours",
            f"amber-{dead}.0badc0de-uv-abc": "another host",
            "amber-uv-abc": "no owner",
            f"other-{dead}.{_host()}-uv-abc": "not amber's",
        }
        for name, what in names.items():
            if what == "dead file":
                (tmp_path / name).write_text("x")
            else:
                (tmp_path / name).mkdir()
                (tmp_path / name / "inner").write_text("x")
        assert sweep_scratch(tmp_path) == 2
        left = {p.name for p in tmp_path.iterdir()}
        assert left == {n for n, w in names.items() if not w.startswith("dead")}
    finally:
        alive.kill()
        alive.wait()


class _Silent:
    """A loopback server that accepts connections and never answers: a command using it
    waits, its scratch space in place, until it is killed."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}/simple"
        self.held: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.held.append(conn)

    def close(self) -> None:
        self.sock.close()
        for conn in self.held:
            conn.close()


def _amber(*args: object, home: Path, tmpdir: Path) -> subprocess.Popen[str]:
    environ = {**os.environ, "AMBER_HOME": str(home), "TMPDIR": str(tmpdir)}
    return subprocess.Popen(
        [sys.executable, "-m", "amber", *map(str, args)], env=environ, text=True,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True,
    )  # fmt: skip


def test_what_a_killed_lock_leaves_in_tmpdir_goes_on_the_next_run(amber_home, tmp_path: Path):
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()
    silent = _Silent()
    try:
        spec = write(tmp_path / "a" / "requirements.txt", f"--index-url {silent.url}\nidna\n")
        proc = _amber("lock", "-f", spec, home=amber_home, tmpdir=tmpdir)
        with bounded(120):
            while not list(tmpdir.glob("amber-*")):
                assert proc.poll() is None, proc.communicate()
                time.sleep(0.05)
        os.killpg(proc.pid, signal.SIGKILL)  # amber and the uv it waits for
        proc.communicate()
    finally:
        silent.close()
    left = list(tmpdir.glob("amber-*"))
    assert left  # what kill -9 leaves

    # Another run that needs scratch space of its own (here: gc) removes it.
    again = _amber("gc", home=amber_home, tmpdir=tmpdir)
    out, err = again.communicate(timeout=600)
    assert again.returncode == 0, err
    assert not list(tmpdir.glob("amber-*")), list(tmpdir.iterdir())


def test_atomic_writes_sweep_what_killed_writers_left_beside_the_target(tmp_path: Path):
    dead = f"{_dead_pid()}.{_host()}"
    stale = tmp_path / f".out.lock.{dead}-a1b2c3d4.part"
    stale.write_text("half")
    foreign = tmp_path / f".out.lock.{os.getpid()}.0badc0de-a1b2c3d4.part"
    foreign.write_text("another host's")
    write_atomic(tmp_path / "out.lock", "whole\n")
    assert (tmp_path / "out.lock").read_text() == "whole\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["out.lock", foreign.name])
