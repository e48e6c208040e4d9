"""`amber install -f FILE` of a PyPI-only env that is missing starts uv's calls while Amber
loads (``amber._early``'s install memo): the hydrate takes them over only when it would make
exactly those calls, under the build lock the early start holds; anything else (a changed
setting, a policy that refuses the lock) removes what they made. Real uv, real PyPI."""

from __future__ import annotations

import fcntl
import json
import os
import subprocess
from pathlib import Path

import pytest
from helpers import assert_secret_nowhere, serve_simple_index, tiny_wheel
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from amber import _early
from amber.lock import Lock


@pytest.fixture
def project(amber, amber_home: Path, tmp_path: Path) -> Path:
    """A locked PyPI env, hydrated once (uv's cache is warm from then on) and removed: a
    build that needed the network is not remembered, as the next may differ."""
    project = tmp_path / "project"
    project.mkdir()
    (project / "requirements.txt").write_text("six==1.17.0\n")
    amber("lock", "-q", "-f", "requirements.txt", cwd=project, check=True)
    amber("install", "-q", "-f", "amber.lock", cwd=project, check=True)
    assert not _memos(amber_home)  # uv downloaded six: not remembered
    amber("env", "rm", Lock.read(project / "amber.lock").full_id, check=True)
    return project


def _memos(amber_home: Path) -> list[Path]:
    folder = amber_home / "install-memo"
    return sorted(folder.iterdir()) if folder.is_dir() else []


def _six(env: Path) -> str:
    check = [str(env / "bin" / "python"), "-c", "import six; print(six.__version__)"]
    return subprocess.run(check, capture_output=True, text=True, check=True).stdout.strip()


def test_a_rebuilt_env_starts_the_remembered_calls(amber, amber_home: Path, project: Path):
    scratch = project.parent / "tmp"
    scratch.mkdir()
    env_vars = {"TMPDIR": str(scratch)}
    first = amber("install", "-q", "-f", "amber.lock", cwd=project, env=env_vars, check=True)
    env = Path(first.stdout.strip())
    (memo,) = _memos(amber_home)
    data = json.loads(memo.read_text())
    assert data["env"] == str(env) and Path(data["lock"]).is_file()
    calls = [plan["calls"][0][:2] for plan in data["plans"]]
    assert calls == [["venv", "--quiet"], ["pip", "install"]]
    assert "--offline" in data["plans"][1]["calls"][0]
    assert [name for name, _ in data["plans"][1]["files"]] == ["reqs.txt"]
    written = memo.stat().st_mtime_ns
    full_id = Lock.read(project / "amber.lock").full_id
    amber("env", "rm", full_id, check=True)
    again = amber("install", "-q", "-f", "amber.lock", cwd=project, env=env_vars, check=True)
    assert Path(again.stdout.strip()) == env and _six(env) == "1.17.0"
    assert memo.stat().st_mtime_ns == written  # its calls were taken over: not written again
    assert " ok: " in amber("verify", full_id, check=True).stderr
    assert not list(scratch.iterdir())  # no folder of an early call left behind
    # The env exists: nothing starts early, the lookup answers.
    assert Path(amber("install", "-q", "-f", "amber.lock", cwd=project).stdout.strip()) == env


def test_a_changed_setting_discards_the_early_calls(amber, amber_home: Path, project: Path):
    env = Path(amber("install", "-q", "-f", "amber.lock", cwd=project, check=True).stdout.strip())
    (memo,) = _memos(amber_home)
    before = [plan["key"] for plan in json.loads(memo.read_text())["plans"]]
    amber("env", "rm", Lock.read(project / "amber.lock").full_id, check=True)
    # Copies instead of hardlinks: the early calls (hardlinks) are not what the build makes.
    out = amber("install", "-f", "amber.lock", cwd=project, env={"AMBER_LINK_MODE": "copy"})
    assert out.returncode == 0, out
    assert Path(out.stdout.strip()) == env and _six(env) == "1.17.0"
    installed = next(env.glob("lib/python*/site-packages/six.py"))
    assert installed.stat().st_nlink == 1  # copied: the early (hardlinking) install went
    after = [plan["key"] for plan in json.loads(memo.read_text())["plans"]]
    assert after[1] != before[1]  # the memo follows what the build ran
    assert "--link-mode" in json.loads(memo.read_text())["plans"][1]["calls"][0]


def test_a_refused_lock_leaves_no_env_and_no_lock_held(amber, amber_home: Path, project: Path):
    env = Path(amber("install", "-q", "-f", "amber.lock", cwd=project, check=True).stdout.strip())
    full_id = Lock.read(project / "amber.lock").full_id
    amber("env", "rm", full_id, check=True)
    (project / "amber-policy.toml").write_text(
        '[[bans]]\nname = "six"\nkind = "pypi"\nreason = "not here"\n'
    )
    refused = amber("install", "-q", "-f", "amber.lock", cwd=project)
    assert refused.returncode == 2 and "not here" in refused.stderr, refused
    assert not env.exists()  # what the early calls made is gone
    (project / "amber-policy.toml").unlink()
    again = amber("install", "-q", "-f", "amber.lock", cwd=project, check=True)
    assert Path(again.stdout.strip()) == env and _six(env) == "1.17.0"


def test_a_build_lock_held_elsewhere_starts_nothing(
    amber, amber_home: Path, project: Path, monkeypatch: pytest.MonkeyPatch
):
    env = Path(amber("install", "-q", "-f", "amber.lock", cwd=project, check=True).stdout.strip())
    amber("env", "rm", Lock.read(project / "amber.lock").full_id, check=True)
    (memo,) = _memos(amber_home)
    lock_path = json.loads(memo.read_text())["lock"]
    monkeypatch.chdir(project)
    monkeypatch.setenv("AMBER_HOME", str(amber_home))
    fd = os.open(lock_path, os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)  # another process is building this env
        _early.begin_install(["-q", "-f", "amber.lock"])
        assert _early.claim_build(lock_path) is None and not env.exists()
        _early.finish_install()
    finally:
        os.close(fd)
    _early.begin_install(["-q", "-f", "amber.lock"])  # free now: begun
    try:
        held = _early.claim_build(lock_path)
        assert held is not None
        os.close(held.fd)
    finally:
        _early.discard()
        _early.finish_install()
        subprocess.run(["rm", "-rf", str(env)], check=True)


def test_gc_drops_the_memo_of_a_changed_file(amber, amber_home: Path, project: Path):
    amber("install", "-q", "-f", "amber.lock", cwd=project, check=True)
    (memo,) = _memos(amber_home)
    amber("gc", "--dry-run", check=True)
    assert memo.exists()  # the file is as it was: the memo stays
    lock = project / "amber.lock"
    lock.write_text(lock.read_text() + "\n")  # an edit: a new stat fingerprint
    amber("gc", check=True)
    assert not memo.exists()


SECRET = "s3cr3t-install-early"


def test_an_install_from_an_index_with_credentials_leaves_them_nowhere(
    amber, amber_home: Path, tmp_path: Path
):
    """A requirement whose wheel URL holds a password: its env built, removed and built
    again (from uv's cache) is not remembered (uv got the password through its requirements),
    writes it into no file under the store and prints it nowhere."""
    probe = tiny_wheel(tmp_path / "wheels", "amber_install_probe", "1.0", "X = 1\n")
    project = tmp_path / "authed"
    project.mkdir()
    with serve_simple_index([probe], basic_auth=f"alice:{SECRET}") as url:
        files = url.replace("://", f"://alice:{SECRET}@").rsplit("/simple", 1)[0] + "/files"
        (project / "requirements.txt").write_text(f"amber-install-probe @ {files}/{probe.name}\n")
        said = []
        for _ in range(3):
            out = amber("install", "-f", "requirements.txt", cwd=project, check=True)
            said += [out.stdout, out.stderr]
            full_id = (Path(out.stdout.strip()) / ".amber" / "complete").read_text().strip()
            said.append(amber("env", "rm", full_id, check=True).stderr)
    assert not _memos(amber_home)  # its install lines hold the password: never remembered
    assert_secret_nowhere(amber_home, "".join(said), SECRET.encode())


MEMO_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=20,
)


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.one_of(
        st.binary(max_size=200),
        st.fixed_dictionaries(
            {"env": MEMO_VALUES, "lock": MEMO_VALUES, "uv": MEMO_VALUES, "plans": MEMO_VALUES}
        ).map(lambda d: json.dumps(d).encode()),
    )
)
def test_any_memo_file_starts_nothing_it_should_not(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, data: bytes
) -> None:
    """A memo file that is not one Amber wrote (or no longer matches) never raises, and
    begins nothing: no lock held, no call started, no folder made."""
    home, cwd = tmp_path / "home", tmp_path / "cwd"
    cwd.mkdir(exist_ok=True)
    (cwd / "amber.lock").write_text("x")
    monkeypatch.chdir(cwd)
    monkeypatch.setenv("AMBER_HOME", str(home))
    _early.begin_install(["-f", "amber.lock"])
    memo_path = _early._INSTALL["path"]
    _early.finish_install()
    os.makedirs(os.path.dirname(memo_path), exist_ok=True)
    Path(memo_path).write_bytes(data)
    _early.begin_install(["-f", "amber.lock"])
    try:
        assert "held" not in _early._INSTALL
        assert _early.claim(next(iter(_early._STARTED), "")) is None
    finally:
        _early.finish_install()
