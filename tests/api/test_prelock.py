"""`amber lock` of a spec with a conda part reads the spec and begins the resolution in a
thread before the command has loaded (amber.api.prelock); the command takes the spec and the
resolution over only when it asks for exactly what they were made from. Real channel
(tests/condapkgs.py), real rattler; the CLI in subprocesses."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import conda_environ, write

from amber.api import Session, prelock
from amber.api.files import LockRequest, lock_file
from amber.lock import Lock
from amber.settings import Settings


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, conda_channel_url: str) -> Path:
    for key, value in conda_environ(tmp_path / "user", AMBER_HOME=str(tmp_path / "home")).items():
        monkeypatch.setenv(key, value)
    monkeypatch.chdir(tmp_path)
    spec = f"channels:\n  - {conda_channel_url}\ndependencies:\n  - footool\n"
    write(tmp_path / "environment.yml", spec)
    yield tmp_path
    prelock._RESOLVING.clear()
    prelock._SPECS.clear()


def _lock(path: Path, out: Path) -> Lock:
    session = Session.open(settings=Settings.from_environ(), quiet=True)
    request = LockRequest(output=out, platforms=("linux-64",))
    return lock_file(path, request, session.store, session.progress, session=session).lock


def _versions(lock: Lock) -> dict[str, str]:
    return {c.name: c.version for c in lock.for_platform("linux-64").conda}


def test_the_command_takes_the_early_resolution_over(project: Path):
    prelock.prestart(["-q", "-f", "environment.yml", "-p", "linux-64"])
    assert len(prelock._RESOLVING) == 1
    early = _lock(project / "environment.yml", project / "a.lock")
    assert not prelock._RESOLVING  # taken over
    fresh = _lock(project / "environment.yml", project / "b.lock")  # nothing began early
    assert early.full_id == fresh.full_id and _versions(early)["libfoo"] == "2.0"


def test_the_spec_read_early_is_taken_over_whatever_the_output(project: Path):
    """``-o`` says only where the lock goes: the command takes the spec read early (and
    says its warnings) instead of reading the file again."""
    prelock.prestart(["-q", "-f", "environment.yml", "-p", "linux-64", "-o", "x.lock"])
    assert len(prelock._SPECS) == 1
    _lock(project / "environment.yml", project / "elsewhere.lock")
    assert not prelock._SPECS and not prelock._RESOLVING


def test_a_spec_changed_after_the_early_start_is_read_and_resolved_again(project: Path):
    prelock.prestart(["-f", "environment.yml", "-p", "linux-64"])
    spec = project / "environment.yml"
    write(spec, spec.read_text().replace("footool", "oldlib"))
    lock = _lock(spec, project / "amber.lock")
    assert "oldlib" in _versions(lock) and "footool" not in _versions(lock)
    assert len(prelock._RESOLVING) == 1  # the early one, for the old file, left alone


def test_a_policy_beside_the_spec_holds_for_the_early_resolution(project: Path):
    spec = project / "environment.yml"
    write(spec, spec.read_text().replace("footool", "libfoo"))
    write(
        project / "amber-policy.toml",
        '[[bans]]\nname = "libfoo"\nversion = ">=2"\nreason = "abi"\n',
    )
    prelock.prestart(["-f", "environment.yml", "-p", "linux-64"])
    lock = _lock(spec, project / "amber.lock")
    assert not prelock._RESOLVING and _versions(lock)["libfoo"] == "1.0"


def test_the_cli_says_a_spec_warning_once_and_an_unsatisfiable_request_as_before(
    amber, tmp_path: Path, conda_channel_url: str
):
    write(
        tmp_path / "environment.yml",
        f"category: main\nchannels:\n  - {conda_channel_url}\ndependencies:\n  - footool\n",
    )
    ok = amber("lock", "-q", "-f", "environment.yml", "-p", "linux-64", cwd=tmp_path, check=True)
    assert ok.stderr.count("unknown key 'category'") == 1, ok.stderr
    write(
        tmp_path / "bad.yml",
        f"channels:\n  - {conda_channel_url}\ndependencies:\n  - footool\n  - oldlib\n",
    )
    bad = amber("lock", "-q", "-f", "bad.yml", "-p", "linux-64", cwd=tmp_path)
    assert bad.returncode == 2 and "Traceback" not in bad.stderr
    assert "cannot satisfy the conda request for linux-64" in bad.stderr and "libfoo" in bad.stderr
