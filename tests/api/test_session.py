"""The session and settings (what is read from where) and the in-use lock of an env."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from amber import api
from amber.api import Session
from amber.errors import AmberError
from amber.settings import DEFAULT_MUTABLE_TAGS, Settings
from amber.store import Store, inuse
from amber.store.env import Env


def test_settings_read_amber_variables(tmp_path: Path) -> None:
    settings = Settings.from_environ(
        {
            "AMBER_HOME": str(tmp_path / "home"),
            "AMBER_REMOTE": "file:///srv/amber",
            "AMBER_MUTABLE_TAGS": " dev, nightly ,,",
        }
    )
    assert settings == Settings(tmp_path / "home", "file:///srv/amber", ("dev", "nightly"))


def test_settings_defaults_without_variables() -> None:
    settings = Settings.from_environ({"AMBER_REMOTE": ""})
    assert settings.remote_url is None
    assert settings.mutable_tags == DEFAULT_MUTABLE_TAGS
    assert settings.home.name == "amber"  # the user data directory


def test_session_reads_the_environment_once(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("AMBER_HOME", str(tmp_path / "a"))
    monkeypatch.setenv("AMBER_REMOTE", (tmp_path / "remote").as_uri())
    monkeypatch.setenv("AMBER_MUTABLE_TAGS", "dev")
    with Session.open(quiet=True) as session:
        monkeypatch.setenv("AMBER_HOME", str(tmp_path / "b"))
        assert session.store.home == tmp_path / "a"
        assert session.settings.mutable_tags == ("dev",)
        assert session.remote is not None and session.remote.url.endswith("remote")
        assert session.progress.quiet


def test_session_arguments_win_over_settings(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("AMBER_REMOTE", (tmp_path / "configured").as_uri())
    given = (tmp_path / "given").as_uri()
    with Session.open(tmp_path / "home", given) as session:
        assert session.store.home == tmp_path / "home"
        assert session.remote is not None and session.remote.url.endswith("given")


def test_session_without_remote(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv("AMBER_REMOTE", raising=False)
    with Session.open(tmp_path) as session:
        assert session.remote is None and session.fetch_hook() is None


def test_tag_env_uses_the_session_mutable_tags(tmp_path: Path) -> None:
    settings = Settings(tmp_path, mutable_tags=("dev",))
    with Session.open(settings=settings) as session:
        one, two = (Env(c * 64, tmp_path / c) for c in "ab")
        api.tag_env(one, "app:dev", session=session)
        api.tag_env(two, "app:dev", session=session)  # dev may move here
        api.tag_env(one, "app:latest", session=session)
        with pytest.raises(AmberError, match="immutable"):
            api.tag_env(two, "app:latest", session=session)  # latest may not
        assert api.resolve_ref("app:dev", session=session) == "b" * 64


# -- the in-use lock ---------------------------------------------------------------------

_HOLD = """
import os, sys, time
from pathlib import Path
from amber.store import inuse
fd = inuse.hold_shared(Path(sys.argv[1]))
print("held", flush=True)
sys.stdin.readline()
"""


def _holder(lock: Path) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, "-c", _HOLD, str(lock)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None and proc.stdout.readline() == "held\n"
    return proc


def _release(proc: subprocess.Popen[str]) -> None:
    proc.communicate("\n", timeout=30)


def test_shared_holders_block_removal(tmp_path: Path) -> None:
    store = Store(tmp_path)
    env = Env("c" * 64, store.env_path("c" * 64))
    env.path.mkdir(parents=True)
    lock = store.env_lock_path(env.full_id)
    first, second = _holder(lock), _holder(lock)  # shared: both hold it at once
    assert inuse.in_use(lock)
    with pytest.raises(AmberError, match=r"in use by a running process; try again later"):
        api.remove_env(env, store)
    assert env.path.is_dir()
    _release(first)
    assert inuse.in_use(lock)  # the second holder still runs in it
    with pytest.raises(AmberError, match="in use"):
        inuse.remove_env(env, store)
    _release(second)
    assert not inuse.in_use(lock)
    api.remove_env(env, store)
    assert not env.path.exists()


def test_exclusive_holder_excludes_others(tmp_path: Path) -> None:
    lock = tmp_path / "env.lock"
    assert not inuse.in_use(lock)  # no file yet: nobody holds it, and none is created
    assert not lock.exists()
    with inuse.exclusive(lock) as got:
        assert got
        probe = subprocess.run(
            [sys.executable, "-c", "import sys; from pathlib import Path; "
             "from amber.store import inuse; print(inuse.in_use(Path(sys.argv[1])))", str(lock)],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        assert probe.stdout.strip() == "True"
    assert not inuse.in_use(lock)


def test_amber_imports_without_fcntl(tmp_path: Path) -> None:
    """Where fcntl does not exist (Windows), amber.store, amber.run and the api still import."""
    (tmp_path / "sitecustomize.py").write_text(
        textwrap.dedent(
            """
            import sys
            class _NoFcntl:
                def find_spec(self, name, path=None, target=None):
                    if name == "fcntl":
                        raise ImportError("no fcntl here")
            sys.meta_path.insert(0, _NoFcntl())
            sys.modules.pop("fcntl", None)
            """
        )
    )
    code = (
        "import importlib\n"
        "try:\n    import fcntl\nexcept ImportError:\n    pass\n"
        "else:\n    raise SystemExit('fcntl still importable')\n"
        "for m in ('amber.store', 'amber.store.inuse', 'amber.store.gc', 'amber.run',"
        " 'amber.hydrate', 'amber.api'):\n"
        "    importlib.import_module(m)\n"
        "from amber.store import inuse\n"
        "assert inuse.fcntl is None\n"
        "print('ok')\n"
    )
    environ = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), *sys.path])}
    result = subprocess.run(
        [sys.executable, "-c", code], env=environ, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


def test_the_readme_api_example_runs(tmp_path: Path) -> None:
    """The README's example of ``amber.api`` with a Session, run as written."""
    root = Path(__file__).resolve().parents[2]
    readme = (root / "README.md").read_text()
    [code] = [b for b in re.findall(r"```python\n(.*?)```", readme, re.S) if "Session.open" in b]
    project = tmp_path / "project"
    project.mkdir()
    (project / "requirements.txt").write_text(
        (root / "examples" / "quickstart" / "requirements.txt").read_text()
    )
    env = {**os.environ, "AMBER_HOME": str(tmp_path / "home")}
    env.pop("AMBER_REMOTE", None)
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=project, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    path, full_id = done.stdout.split()
    assert Path(path).is_dir() and Path(path).name == full_id[:16]
