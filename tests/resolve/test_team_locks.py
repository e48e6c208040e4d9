"""Locks as a team shares them: a colleague's interpreter, a lock as the input, as-of updates."""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

from helpers import conda_spec, write

from amber._python import installed_interpreters
from amber.lock import Lock, PlatformLock


def _other_python() -> str:
    """An X.Y other than the running one: an installed one if there is, else one that is not."""
    running = f"{sys.version_info[0]}.{sys.version_info[1]}"
    for version in installed_interpreters():
        minor = ".".join(version.split(".")[:2])
        if minor != running and tuple(map(int, minor.split("."))) >= (3, 8):
            return minor
    return "3.99"


def _as_if_made_on(lock: Lock, python: str) -> Lock:
    """The lock a colleague's Amber on ``python`` would have written (full_id recomputed)."""
    spec = dataclasses.replace(lock.spec, python=python)
    platforms = {
        name: PlatformLock(platform=name, python=python, pypi=body.pypi)
        for name, body in lock.platforms.items()
    }
    return Lock(spec=spec, req_id=spec.req_id, platforms=platforms)


def test_pypi_only_lock_from_a_colleagues_python_is_used(amber, tmp_path: Path):
    reqs = write(tmp_path / "requirements.txt", "six==1.17.0\n")
    amber("lock", "-f", reqs, check=True)
    other = _other_python()
    theirs = _as_if_made_on(Lock.read(tmp_path / "amber.lock"), other)
    theirs.write(tmp_path / "amber.lock")
    committed = (tmp_path / "amber.lock").read_bytes()

    check = amber("lock", "--check", "-f", reqs)
    assert check.returncode == 0, check  # not "stale (python differ)"

    code = "import sys, six; print('%d.%d' % sys.version_info[:2])"
    ran = amber("run", "-f", reqs, "--", "python", "-c", code)
    assert (tmp_path / "amber.lock").read_bytes() == committed  # no silent re-resolve
    assert "Resolving" not in ran.stderr
    if other != "3.99":
        assert ran.returncode == 0, ran
        assert ran.stdout.strip() == other
    else:  # no second interpreter here: said clearly
        assert ran.returncode == 2 and "Traceback" not in ran.stderr, ran
        assert f"Python {other}" in ran.stderr and "amber.lock" in ran.stderr


def test_lock_file_as_the_input_of_lock(amber, conda_channel: Path, tmp_path: Path):
    spec = conda_spec(tmp_path, conda_channel, "python", "libfoo=1.0")
    amber("lock", "-f", spec, "-o", tmp_path / "ci.lock", check=True)
    made = Lock.read(tmp_path / "ci.lock")

    checked = amber("lock", "--check", "-f", tmp_path / "ci.lock")
    assert checked.returncode == 0, checked
    assert "unknown spec format" not in checked.stderr

    again = amber("lock", "-f", tmp_path / "ci.lock", "-o", tmp_path / "again.lock")
    assert again.returncode == 0, again
    assert (tmp_path / "again.lock").read_bytes() == (tmp_path / "ci.lock").read_bytes()

    amber("lock", "-f", tmp_path / "ci.lock", "--update", "libfoo", check=True)
    assert Lock.read(tmp_path / "ci.lock").full_id == made.full_id  # libfoo=1.0 holds it

    # A lock whose pins no longer satisfy its own recorded spec fails the check.
    body = made.platforms["linux-64"]
    broken = Lock(
        spec=made.spec,
        req_id=made.req_id,
        platforms={
            "linux-64": dataclasses.replace(
                body, conda=tuple(c for c in body.conda if c.name != "libfoo")
            )
        },
    )
    broken.write(tmp_path / "broken.lock")
    bad = amber("lock", "--check", "-f", tmp_path / "broken.lock")
    assert bad.returncode == 1 and "libfoo" in bad.stderr and "Traceback" not in bad.stderr


def test_update_held_back_by_the_recorded_as_of_says_so(amber, tmp_path: Path):
    reqs = write(tmp_path / "requirements.txt", "six\n")
    amber("lock", "-f", reqs, "--as-of", "2020-01-01", check=True)
    before = Lock.read(tmp_path / "amber.lock")
    updated = amber("lock", "-f", reqs, "--update", "six")
    assert updated.returncode == 0, updated
    assert Lock.read(tmp_path / "amber.lock").full_id == before.full_id
    message = updated.stderr
    assert "2020-01-01" in message and "as-of" in message, message
    assert "1 package" in message and "six" in message, message
    assert "--as-of now" in message

    moved = amber("lock", "-f", reqs, "--update", "six", "--as-of", "now")
    assert moved.returncode == 0, moved
    after = Lock.read(tmp_path / "amber.lock")
    (six,) = after.platforms[next(iter(after.platforms))].pypi
    assert six.version != before.platforms[next(iter(before.platforms))].pypi[0].version
