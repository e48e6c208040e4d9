"""`amber lock` of a PyPI spec starts uv's calls before it has loaded (amber._early): from
the lock memo of the same command, else from the spec read early. The resolution takes a
call over only when it plans exactly that call; the memo follows what the command ran, and
never holds a credential. Real uv, real PyPI (six) and a local index with basic auth."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from helpers import assert_secret_nowhere, serve_simple_index, tiny_wheel, write
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from amber import _early
from amber.lock import Lock


def _memo(cwd: Path, amber_home: Path, *argv: str) -> Path:
    here, home = os.getcwd(), os.environ.get("AMBER_HOME")
    os.chdir(cwd)
    os.environ["AMBER_HOME"] = str(amber_home)
    try:
        found = _early.memo_file(list(argv))
    finally:
        os.chdir(here)
        if home is None:
            del os.environ["AMBER_HOME"]
        else:
            os.environ["AMBER_HOME"] = home
    assert found is not None
    return Path(found)


def _pins(path: Path) -> dict[str, str]:
    lock = Lock.read(path)
    return {p.name: p.version for b in lock.platforms.values() for p in b.pypi}


def test_the_second_lock_starts_the_remembered_calls_and_locks_the_same(
    amber, amber_home: Path, tmp_path: Path
):
    write(tmp_path / "requirements.txt", "six\n")
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    env = {"TMPDIR": str(scratch)}
    amber("lock", "-q", "-f", "requirements.txt", "-o", "a.lock", cwd=tmp_path, env=env, check=True)
    memo = _memo(tmp_path, amber_home, "-f", "requirements.txt")
    plans = json.loads(memo.read_text())["plans"]
    assert len(plans) == 1 and ["requirements.in", "six\n"] in plans[0]["files"]
    assert any("--offline" in call for call in plans[0]["calls"])  # the `# via` call, at once
    written = memo.stat().st_ino
    amber("lock", "-q", "-f", "requirements.txt", "-o", "b.lock", cwd=tmp_path, env=env, check=True)
    # The memo's calls were started and taken over: it stays as it was (not written again).
    assert memo.stat().st_ino == written
    assert _pins(tmp_path / "a.lock") == _pins(tmp_path / "b.lock")
    assert Lock.read(tmp_path / "b.lock").for_platform("linux-64").pypi[0].requires == ()
    assert not list(scratch.iterdir())  # no folder of an early call left behind


def test_a_policy_that_changes_the_calls_discards_the_early_ones(
    amber, amber_home: Path, tmp_path: Path
):
    write(tmp_path / "requirements.txt", "six\n")
    amber("lock", "-q", "-f", "requirements.txt", cwd=tmp_path, check=True)
    assert _pins(tmp_path / "amber.lock")["six"] != "1.16.0"
    memo = _memo(tmp_path, amber_home, "-f", "requirements.txt")
    before = json.loads(memo.read_text())["plans"][0]["key"]
    write(
        tmp_path / "amber-policy.toml",
        '[[bans]]\nname = "six"\nkind = "pypi"\nversion = ">=1.17"\nreason = "pinned base"\n',
    )
    amber("lock", "-q", "-f", "requirements.txt", cwd=tmp_path, check=True)
    assert _pins(tmp_path / "amber.lock")["six"] == "1.16.0"  # not what the early call found
    after = json.loads(memo.read_text())["plans"][0]
    assert after["key"] != before and any("six<1.17" in text for _, text in after["files"])


def test_a_changed_spec_is_planned_again_and_gc_drops_its_old_memo(
    amber, amber_home: Path, tmp_path: Path
):
    spec = write(tmp_path / "requirements.txt", "six\n")
    amber("lock", "-q", "-f", "requirements.txt", cwd=tmp_path, check=True)
    old = _memo(tmp_path, amber_home, "-f", "requirements.txt")
    write(spec, "six==1.16.0\n")
    amber("lock", "-q", "-f", "requirements.txt", cwd=tmp_path, check=True)
    assert _pins(tmp_path / "amber.lock")["six"] == "1.16.0"
    new = _memo(tmp_path, amber_home, "-f", "requirements.txt")
    assert new != old and new.exists() and old.exists()
    amber("gc", cwd=tmp_path, check=True)
    assert new.exists() and not old.exists()


SECRET = "s3cr3t-early"


@pytest.fixture
def index(tmp_path: Path):
    probe = tiny_wheel(tmp_path / "wheels", "amber_early_probe", "1.0", "X = 1\n")
    with serve_simple_index([probe], basic_auth=f"alice:{SECRET}") as url:
        yield url


def test_a_plan_with_credentials_is_never_remembered(
    amber, amber_home: Path, tmp_path: Path, index: str
):
    with_auth = index.replace("://", f"://alice:{SECRET}@")
    write(tmp_path / "requirements.txt", f"--index-url {with_auth}\namber-early-probe\n")
    result = amber("lock", "-q", "-f", "requirements.txt", cwd=tmp_path, check=True)
    assert _pins(tmp_path / "amber.lock") == {"amber-early-probe": "1.0"}
    memos = amber_home / "lock-memo"
    assert not memos.exists() or not any(memos.iterdir())
    assert_secret_nowhere(amber_home, result.stderr, SECRET.encode())


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=6),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner),
    max_leaves=12,
)
_PLAN = st.fixed_dictionaries(
    {
        "key": st.text(max_size=4),
        "files": st.lists(st.tuples(st.sampled_from(["a", "../x", "", "/etc/x", "b"]),
                                    st.text(max_size=8)), max_size=2),
        "calls": st.lists(st.lists(st.sampled_from(["pip", "\0/x", "--version"]), max_size=3),
                          max_size=2),
        "env": st.fixed_dictionaries({"set": st.dictionaries(st.sampled_from(["A", "B"]),
                                                             st.text(max_size=3)),
                                      "unset": st.lists(st.sampled_from(["PATH", "X"]))}),
    }
)  # fmt: skip


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(content=st.one_of(_JSON, _PLAN.map(lambda p: {"plans": [p]}), st.binary(max_size=64)))
def test_whatever_a_lock_memo_holds_begin_starts_or_ignores_it(
    tmp_path: Path, monkeypatch, content
):
    """A memo (ours, but on disk) of any shape: calls started and ended, or nothing; no
    exception, and nothing written outside the folder of the calls."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("AMBER_HOME", str(tmp_path / "home"))
    scratch = tmp_path / "tmp"
    scratch.mkdir(exist_ok=True)
    monkeypatch.setenv("TMPDIR", str(scratch))
    write(tmp_path / "requirements.txt", "six\n")
    memo = Path(_early.memo_file(["-f", "requirements.txt"]) or "")
    memo.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        memo.write_bytes(content)
    else:
        _early.begin(["-f", "requirements.txt"])  # learn the key a memo must carry
        memo_key = _early._COMMAND["key"]
        _early.finish()
        if isinstance(content, dict) and "plans" in content:
            content = {"memo": memo_key, "uv": "/bin/true", **content}
        memo.write_text(json.dumps(content))
    _early.begin(["-f", "requirements.txt"])
    assert isinstance(_early.started(), bool)
    _early.finish()
    assert not _early._STARTED
    assert not list(scratch.iterdir())
    assert not (tmp_path / "x").exists() and not (tmp_path.parent / "x").exists()


def test_a_conda_spec_with_pip_packages_starts_its_uv_calls_from_the_memo_too(
    amber, amber_home: Path, tmp_path: Path, conda_channel_url: str
):
    write(
        tmp_path / "environment.yml",
        f"channels:\n  - {conda_channel_url}\ndependencies:\n  - python\n  - pip:\n"
        "    - tabulate\n",
    )
    lock = ("lock", "-q", "-f", "environment.yml", "-p", "linux-64")
    amber(*lock, "-o", "a.lock", cwd=tmp_path, check=True)
    memo = _memo(tmp_path, amber_home, "-f", "environment.yml", "-p", "linux-64")
    plan = json.loads(memo.read_text())["plans"][0]
    assert ["requirements.in", "tabulate\n"] in plan["files"]
    written = memo.stat().st_ino
    amber(*lock, "-o", "b.lock", cwd=tmp_path, check=True)
    assert memo.stat().st_ino == written  # started from the memo and taken over
    assert _pins(tmp_path / "a.lock") == _pins(tmp_path / "b.lock") and "tabulate" in _pins(
        tmp_path / "b.lock"
    )
