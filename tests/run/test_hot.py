"""The hot path of `amber run` (amber._hot): a memo, a lock and an exec, on os and sys alone;
never a different env, environment or command than the full path would give."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import condapkgs
import pytest
from helpers import activation_packages, conda_spec, write
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from amber import _hot
from amber.store import ENV_ID_LENGTH
from amber.store.env import Activation

PREFIX = "echo $CONDA_PREFIX"
# What `amber run` on an env it knows must not import: the full CLI and its foundations.
HEAVY = {
    "click", "sqlite3", "json", "re", "typing", "dataclasses", "hashlib", "pathlib", "enum",
    "amber.cli", "amber.errors", "amber.store", "amber.settings", "amber.run", "rattler",
}  # fmt: skip


@pytest.fixture(scope="module")
def script_channel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """flagtool and plaintool (tests/helpers.py) and failtool, whose activation exits 3."""
    failing = condapkgs.CondaPackage(
        name="failtool", version="1.0",
        files={"etc/conda/activate.d/fail.sh": b"echo about to fail\nexit 3\n"},
    )  # fmt: skip
    return condapkgs.build_channel(
        tmp_path_factory.mktemp("scripts"), [*activation_packages(), failing]
    )


def _imports(amber_home: Path, cwd: Path, *args: object) -> tuple[set[str], str]:
    """The modules ``amber run ARGS`` imports (``-X importtime``) and what it printed."""
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "amber", "run", *map(str, args)],
        cwd=cwd, env={**os.environ, "AMBER_HOME": str(amber_home)},
        capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    lines = [line.split("|")[-1].strip() for line in proc.stderr.splitlines()]
    return {line for line in lines if line and line != "imported package"}, proc.stdout


def _prefix(amber, spec: Path, *extra: str) -> str:
    return amber("run", *extra, "-f", spec, "--", "sh", "-c", PREFIX, check=True).stdout.strip()


def test_a_known_env_runs_without_the_heavy_imports(amber, amber_home, conda_channel, tmp_path):
    spec = conda_spec(tmp_path, conda_channel, "python", "greetlib")
    prefix = _prefix(amber, spec)  # builds it, and remembers the spec for the next run
    for args in (["-f", spec], ["-f", "environment.yml"], []):  # bare: the spec in cwd
        modules, out = _imports(amber_home, tmp_path, *args, "--", "sh", "-c", PREFIX)
        assert out.strip() == prefix
        assert not modules & HEAVY, sorted(modules & HEAVY)
        assert "amber._hot" in modules
    # By reference too, once the full path has resolved it.
    amber("env", "tag", Path(prefix).name, "team-env:v1", check=True)
    assert amber("run", "--env", "team-env:v1", "--", "sh", "-c", PREFIX).stdout.strip() == prefix
    for ref in ("team-env:v1", Path(prefix).name[:10]):
        amber("run", "--env", ref, "--", "true", check=True)
        modules, out = _imports(amber_home, tmp_path, "--env", ref, "--", "sh", "-c", PREFIX)
        assert out.strip() == prefix and not modules & HEAVY, sorted(modules & HEAVY)


@pytest.mark.parametrize("tool", ["greetlib", "footool"])  # footool: activate.d scripts
def test_hot_and_full_paths_give_the_same_environment(amber, conda_channel, tmp_path, tool):
    spec = conda_spec(tmp_path, conda_channel, "python", tool)
    outside = write(tmp_path / "other-env" / "bin" / "tool", "#!/bin/sh\n").parent
    caller = {
        "CONDA_PREFIX": str(outside.parent), "VIRTUAL_ENV": str(tmp_path / "venv"),
        "PATH": f"{outside}{os.pathsep}{os.environ['PATH']}",
        "MYVAR": "kept",
    }  # fmt: skip
    amber("run", "-f", spec, "--", "true", check=True)

    def environment(*extra: str) -> dict[str, str]:
        out = amber("run", *extra, "-f", spec, "--", "env", "-0", env=caller, check=True).stdout
        return dict(item.split("=", 1) for item in out.split("\0") if "=" in item)

    hot, full = environment(), environment("--verify")  # --verify: the full path
    hot.pop("_", None), full.pop("_", None)  # bash's own: the command's path, when it ran it
    assert hot == full
    assert hot["MYVAR"] == "kept" and "VIRTUAL_ENV" not in hot
    assert str(outside) not in hot["PATH"].split(os.pathsep)


def test_activation_scripts_run_on_the_hot_path_as_on_the_full_one(
    amber, amber_home, script_channel, tmp_path
):
    spec = conda_spec(tmp_path, script_channel, "flagtool")
    show = ("--", "sh", "-c", 'echo "[$MYFLAGS] $FLAGTOOL_ON $# $0"', "a b", "c")
    amber("install", "-f", spec, check=True)
    full = amber("run", "--verify", "-f", spec, *show, env={"MYFLAGS": "-O2"}, check=True)
    hot = amber("run", "-f", spec, *show, env={"MYFLAGS": "-O2"}, check=True)
    assert hot.stdout == full.stdout and hot.stdout.startswith("[-O2 -I")
    assert hot.stdout.endswith("] 1 1 a b\n")
    assert hot.stderr == "activating flagtool\n" and full.stderr.endswith(hot.stderr)
    modules, _ = _imports(amber_home, tmp_path, "-f", spec, "--", "true")
    assert not modules & HEAVY, sorted(modules & HEAVY)
    # A script that exits: the same error, exit 2, and the command never runs.
    failing = conda_spec(tmp_path / "fail", script_channel, "failtool")
    amber("install", "-f", failing, check=True)
    ran = tmp_path / "ran"
    runs = [amber("run", *extra, "-f", failing, "--", "touch", ran) for extra in (["--verify"], [])]
    assert [r.returncode for r in runs] == [2, 2] and not ran.exists()
    assert runs[0].stderr.endswith(runs[1].stderr)  # after verify's own line
    assert "about to fail" in runs[1].stderr and "failed (exit code 3)" in runs[1].stderr


def test_a_changed_spec_or_lock_beside_it_is_never_taken_for_the_old_one(
    amber, amber_home, conda_channel, tmp_path
):
    spec = conda_spec(tmp_path, conda_channel, "python", "libfoo=1.0")
    show = ("--", "sh", "-c", 'cat "$CONDA_PREFIX/lib/libfoo.txt"')
    assert amber("run", "-f", spec, *show, check=True).stdout.strip() == "1.0"
    assert amber("run", "-f", spec, *show, check=True).stdout.strip() == "1.0"  # hot
    conda_spec(tmp_path, conda_channel, "python", "libfoo=2.0")  # same size, new bytes
    assert amber("run", "-f", spec, *show, check=True).stdout.strip() == "2.0"
    hot, _ = _imports(amber_home, tmp_path, "-f", spec, "--", "true")
    assert "amber.cli" not in hot
    # An amber.lock appearing beside the spec may change what the spec means: the full path
    # looks again (and remembers), then the hot path takes over.
    amber("lock", "-f", spec, check=True)
    for hot_expected in (False, True):
        modules, out = _imports(amber_home, tmp_path, "-f", spec, *show)
        assert out.strip() == "2.0" and ("amber.cli" not in modules) == hot_expected
    (tmp_path / "amber.lock").unlink()
    modules, _ = _imports(amber_home, tmp_path, "-f", spec, "--", "true")
    assert "amber.cli" in modules


def test_a_moved_or_removed_tag_is_followed(amber, conda_channel, tmp_path):
    first = _prefix(amber, conda_spec(tmp_path / "a", conda_channel, "python"))
    second = _prefix(amber, conda_spec(tmp_path / "b", conda_channel, "python", "footool"))
    amber("env", "tag", Path(first).name, "team:stable", check=True)
    for _ in range(2):  # the second run takes the hot path
        assert (
            amber("run", "--env", "team:stable", "--", "sh", "-c", PREFIX).stdout.strip() == first
        )
    amber("env", "tag", Path(second).name, "team:stable", check=True)
    assert amber("run", "--env", "team:stable", "--", "sh", "-c", PREFIX).stdout.strip() == second
    amber("env", "rm", Path(second).name, check=True)
    # Removed, its tag kept: the full path hydrates it again from the lock in the store.
    assert amber("run", "--env", "team:stable", "--", "sh", "-c", PREFIX).stdout.strip() == second
    amber("env", "untag", "team:stable", check=True)
    gone = amber("run", "--env", "team:stable", "--", "true")
    assert gone.returncode == 2 and "Traceback" not in gone.stderr, gone


def test_a_command_not_in_the_env_gets_the_full_paths_error(amber, conda_channel, tmp_path):
    spec = conda_spec(tmp_path, conda_channel, "python")
    amber("run", "-f", spec, "--", "true", check=True)
    missing = amber("run", "-f", spec, "--", "no-such-command-here")
    assert missing.returncode == 127 and "command not found" in missing.stderr, missing


def test_the_hot_path_records_when_an_env_was_last_used(amber, amber_home, conda_channel, tmp_path):
    spec = conda_spec(tmp_path, conda_channel, "python")
    prefix = _prefix(amber, spec)
    full_id = json.loads(amber("env", "list", "--json", check=True).stdout)[0]["full_id"]
    with sqlite3.connect(amber_home / "index.db") as db:  # as if last used 40 days ago
        db.execute("UPDATE envs SET last_used = last_used - 40 * 86400, created = 0")
    lock = amber_home / "envs" / ".locks" / f"{full_id[:ENV_ID_LENGTH]}.lock"
    old = lock.stat().st_mtime - 40 * 86400
    os.utime(lock, (old, old))
    listed = json.loads(amber("env", "list", "--json", check=True).stdout)[0]
    assert listed["last_used"] < old + 1
    assert _prefix(amber, spec) == prefix  # hot
    listed = json.loads(amber("env", "list", "--json", check=True).stdout)[0]
    assert listed["last_used"] > old + 39 * 86400


def test_an_env_made_before_the_hot_path_gets_its_run_activation(amber, conda_channel, tmp_path):
    spec = conda_spec(tmp_path, conda_channel, "python", "greetlib")
    prefix = Path(_prefix(amber, spec))
    (prefix / ".amber" / _hot.RUN_ACTIVATION).unlink()
    assert _prefix(amber, spec) == str(prefix)  # the full path, which writes it back
    assert (prefix / ".amber" / _hot.RUN_ACTIVATION).is_file()


# -- the readers and the activation, property-based -------------------------------------------


def test_the_env_id_length_agrees_with_the_store() -> None:
    assert _hot._ENV_ID_LENGTH == ENV_ID_LENGTH


_text = st.text(st.characters(blacklist_characters="\0", blacklist_categories=("Cs",)), max_size=12)
_paths = st.lists(st.sampled_from(["/env/bin", "/usr/bin", "/other/bin", "/venv/bin", ""]))


@settings(max_examples=200, deadline=None)
@given(
    environ=st.dictionaries(
        st.sampled_from(["PATH", "CONDA_PREFIX", "VIRTUAL_ENV", "PYTHONHOME", "A", "B"]),
        st.one_of(_text, _paths.map(os.pathsep.join), st.sampled_from(["/other", "/venv"])),
    ),
    variables=st.dictionaries(st.sampled_from(["A", "CONDA_PREFIX", "X"]), _text),
    prepend=st.lists(st.sampled_from(["/env/bin", "/env/condabin"]), max_size=2),
)
def test_the_hot_activation_is_the_full_ones(environ, variables, prepend) -> None:
    full = Activation(set=variables, path_prepend=tuple(prepend)).apply(environ)
    assert _hot.apply_activation(dict(environ), list(prepend), dict(variables)) == full


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    data=st.binary(max_size=400) | st.lists(_text, max_size=12).map(lambda f: "\0".join(f).encode())
)
def test_crafted_memos_and_activations_are_refused_not_raised(tmp_path: Path, data: bytes) -> None:
    home = tmp_path / "home"
    key = _hot.file_key(str(tmp_path / "environment.yml"), "linux-64", None)
    memo = Path(_hot._memo_path(str(home), key))
    memo.parent.mkdir(parents=True, exist_ok=True)
    for blob in (data, b"amber-run-memo-1\0" + key.encode() + b"\0" + data):
        memo.write_bytes(blob)
        found = _hot.read_memo(str(home), key)
        assert found is None or isinstance(found[4], list)
        (tmp_path / _hot.RUN_ACTIVATION).write_bytes(blob)
        activation = _hot.read_run_activation(str(tmp_path))
        assert activation is None or isinstance(activation[1], dict)
        # try_run on a crafted memo never raises: at worst it returns to the full path.
        write(tmp_path / "environment.yml", "dependencies: []\n")
        old = os.environ.get("AMBER_HOME")
        os.environ["AMBER_HOME"] = str(home)
        try:
            _hot.try_run(["-f", str(tmp_path / "environment.yml"), "--", "/nonexistent/cmd"])
        finally:
            if old is None:
                del os.environ["AMBER_HOME"]
            else:
                os.environ["AMBER_HOME"] = old


@pytest.mark.parametrize("given_home", ["", "/custom/home"])
def test_the_home_is_the_settings_one(given_home: str, tmp_path: Path) -> None:
    from amber.settings import default_home

    environ = {"HOME": str(tmp_path), "XDG_DATA_HOME": "", "AMBER_HOME": given_home}
    saved = dict(os.environ)
    os.environ.update(environ)
    try:
        assert _hot.home() == str(default_home())
    finally:
        os.environ.clear()
        os.environ.update(saved)


def test_the_variables_that_change_a_spec_are_in_the_key() -> None:
    from amber.settings import _CONDA_OVERRIDES, UV_INDEX_VARIABLES

    assert set(_hot.SPEC_VARIABLES) == {*UV_INDEX_VARIABLES, *_CONDA_OVERRIDES}


def test_a_changed_override_is_not_taken_for_the_old_env(
    amber, amber_home, conda_channel, tmp_path
):
    """CONDA_OVERRIDE_* and uv's index variables change what a spec means: the hot path
    never answers for another value of them."""
    spec = conda_spec(tmp_path, conda_channel, "python")
    amber("run", "-f", spec, "--", "true", check=True)
    modules, _ = _imports(amber_home, tmp_path, "-f", spec, "--", "true")
    assert "amber.cli" not in modules  # hot
    os.environ["CONDA_OVERRIDE_GLIBC"] = "2.17"
    try:
        modules, _ = _imports(amber_home, tmp_path, "-f", spec, "--", "true")
        assert "amber.cli" in modules  # looked again, under the new value
        modules, _ = _imports(amber_home, tmp_path, "-f", spec, "--", "true")
        assert "amber.cli" not in modules  # and remembered under it
    finally:
        del os.environ["CONDA_OVERRIDE_GLIBC"]
