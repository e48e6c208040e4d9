"""The in-use guarantee: `amber run` runs its command inside the env it looked up, or
rebuilds it, or fails clearly; never anywhere else, however `amber gc` races it."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from helpers import conda_spec, write

from amber._fs import remove_tree
from amber.store import Store
from amber.store.env import Env
from amber.store.inuse import exclusive

PREFIX = "import sys; print(sys.prefix)"


def _decoy_path(tmp_path: Path) -> dict[str, str]:
    """An environment whose PATH has a `python` of its own after the env's: a command that
    runs outside the env says so."""
    decoy = tmp_path / "decoy-bin"
    write(decoy / "python", "#!/bin/sh\necho OUTSIDE-THE-ENV\n").chmod(0o755)
    return {**os.environ, "PATH": f"{decoy}{os.pathsep}{os.environ.get('PATH', '')}"}


def _amber(*args: object, home: Path, environ: dict[str, str], cwd: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "amber", *map(str, args)],
        cwd=cwd, env={**environ, "AMBER_HOME": str(home)}, text=True,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip


def _waits_for_lock(pid: int, lock: Path) -> bool:
    """Whether ``pid`` is blocked on the flock of ``lock`` (``/proc/locks`` lists waiters
    with ``->``)."""
    inode = f":{os.stat(lock).st_ino} "
    with open("/proc/locks") as f:
        return any("->" in line and inode in line and f" {pid} " in line for line in f)


def _run_while_env_is_removed(
    home: Path, env: Env, args: tuple[object, ...], environ: dict[str, str], cwd: Path
) -> tuple[int, str, str]:
    """Start ``amber run ARGS`` while holding ``env`` as a removal does; once it waits for
    the in-use lock (after its lookup), remove the env (what `amber gc` does once it holds
    the lock) and let go. Its exit code, stdout and stderr."""
    store = Store(home)
    lock = store.env_lock_path(env.full_id)
    with exclusive(lock) as held:
        assert held
        run = _amber("run", *args, home=home, environ=environ, cwd=cwd)
        deadline = time.monotonic() + 120  # a bound on a hang, not an assertion on time
        while not _waits_for_lock(run.pid, lock):
            assert run.poll() is None, run.communicate()
            assert time.monotonic() < deadline, "amber run never waited for the in-use lock"
            time.sleep(0.02)
        env.marker.unlink()
        remove_tree(env.path)
        store.forget_env(env.full_id)
    store.close()
    out, err = run.communicate(timeout=600)
    return run.returncode, out, err


needs_proc_locks = pytest.mark.skipif(
    not os.path.exists("/proc/locks"), reason="needs Linux's /proc/locks"
)


@needs_proc_locks
def test_env_removed_between_lookup_and_lock_is_rebuilt_not_escaped(
    amber, amber_home: Path, conda_channel: Path, tmp_path: Path
):
    spec = conda_spec(tmp_path / "project", conda_channel, "python")
    prefix = Path(amber("install", "-f", spec, check=True).stdout.strip())
    environ = _decoy_path(tmp_path)
    assert amber("run", "-f", spec, "--", "python", "-c", PREFIX, env=environ, check=True
                 ).stdout.strip() == str(prefix)  # fmt: skip
    env = Env.at(prefix)
    assert env is not None
    code, out, err = _run_while_env_is_removed(
        amber_home, env, ("-f", spec, "--", "python", "-c", PREFIX), environ, spec.parent
    )
    assert "OUTSIDE-THE-ENV" not in out
    assert code == 0 and out.strip() == str(prefix), (out, err)
    assert Env.at(prefix) is not None  # rebuilt, complete


@needs_proc_locks
def test_run_with_env_removed_under_it_fails_clearly(
    amber, amber_home: Path, conda_channel: Path, tmp_path: Path
):
    """`--env` names an env that cannot be rebuilt: removed while run waits, it is an error."""
    spec = conda_spec(tmp_path / "project", conda_channel, "python")
    prefix = Path(amber("install", "-f", spec, check=True).stdout.strip())
    env = Env.at(prefix)
    assert env is not None
    code, out, err = _run_while_env_is_removed(
        amber_home, env, ("--env", prefix.name, "--", "python", "-c", PREFIX),
        _decoy_path(tmp_path), tmp_path,
    )  # fmt: skip
    assert "OUTSIDE-THE-ENV" not in out
    assert code == 2 and "Traceback" not in err and env.full_id[:12] in err, (out, err)
    assert "removed" in err


def test_gc_racing_run_never_runs_outside_the_env(
    amber, amber_home: Path, conda_channel: Path, tmp_path: Path
):
    spec = conda_spec(tmp_path / "project", conda_channel, "python")
    prefix = Path(amber("install", "-f", spec, check=True).stdout.strip())
    environ = _decoy_path(tmp_path)
    outcomes = []
    for _ in range(6):  # bounded: each round one run against one gc that would remove the env
        run = _amber("run", "-f", spec, "--", "python", "-c", PREFIX,
                     home=amber_home, environ=environ, cwd=spec.parent)  # fmt: skip
        gc = _amber("gc", "--older-than", "0s", home=amber_home, environ=environ, cwd=tmp_path)
        out, err = run.communicate(timeout=600)
        gc_out, gc_err = gc.communicate(timeout=600)
        assert "OUTSIDE-THE-ENV" not in out, (out, err)
        assert gc.returncode == 0 and "Traceback" not in gc_err, gc_err
        assert "Traceback" not in err, err
        # Ran in the env (rebuilt if gc had removed it), or failed clearly: never elsewhere.
        assert (run.returncode, out.strip()) == (0, str(prefix)) or run.returncode == 2, (out, err)
        outcomes.append(run.returncode)
    assert 0 in outcomes
