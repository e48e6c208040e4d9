"""spec -> lock -> hydrate -> run through the real CLI, against real channels and PyPI."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import condapkgs
import pytest
from helpers import conda_spec, env_dirs, write

from amber.lock import Lock


def test_conda_env_lock_install_run(amber, amber_home: Path, conda_channel: Path, tmp_path: Path):
    spec = conda_spec(tmp_path, conda_channel, "python", "greetlib", "footool", "datafiles")
    amber("lock", "-f", spec, check=True)
    lock_file = tmp_path / "amber.lock"
    lock = Lock.read(lock_file)
    packages = {c.name: c for c in lock.for_platform("linux-64").conda}
    assert set(packages) == {"python", "greetlib", "footool", "datafiles", "libfoo"}
    assert packages["libfoo"].version == "2.0"
    assert all(len(c.sha256) == 64 and c.md5 for c in packages.values())
    assert packages["footool"].url.endswith(".tar.bz2") and packages["greetlib"].url.endswith(
        ".conda"
    )

    # Deterministic: the same spec against the same repodata gives the same bytes.
    amber("lock", "-f", spec, "-o", tmp_path / "again.lock", check=True)
    assert (tmp_path / "again.lock").read_bytes() == lock_file.read_bytes()

    installed = amber("install", "-f", lock_file, check=True)
    prefix = Path(installed.stdout.strip())
    assert prefix.parent == amber_home / "envs" and (prefix / "conda-meta").is_dir()

    tool = amber("run", "-f", spec, "--", "footool", check=True)
    assert str(prefix) in tool.stdout and "2.0" in tool.stdout  # prefix placeholder rewritten
    assert (
        amber("run", "-f", spec, "--", "greet", check=True).stdout.strip() == "hello from greetlib"
    )
    activated = amber("run", "-f", spec, "--", "sh", "-c", "echo $FOOTOOL_ACTIVE $CONDA_PREFIX")
    assert activated.stdout.split() == ["1", str(prefix)]
    code = "import sys, greetlib; print(sys.prefix)"
    assert amber("run", "-f", spec, "--", "python", "-c", code).stdout.strip() == str(prefix)


def test_exit_codes_and_signals_pass_through(amber, conda_channel: Path, tmp_path: Path):
    spec = conda_spec(tmp_path, conda_channel, "python")
    assert amber("run", "-f", spec, "--", "python", "-c", "raise SystemExit(7)").returncode == 7
    kill = "import os, signal; os.kill(os.getpid(), signal.SIGTERM)"
    assert amber("run", "-f", spec, "--", "python", "-c", kill).returncode == -signal.SIGTERM


def test_http_channel(amber, http_channel: str, tmp_path: Path):
    spec = conda_spec(tmp_path, http_channel, "python", "footool")
    result = amber("run", "-f", spec, "--", "footool", check=True)
    assert "2.0" in result.stdout


def test_pypi_only_env(amber, amber_home: Path, tmp_path: Path):
    spec = write(tmp_path / "requirements.txt", "six==1.17.0\n")
    code = "import six, sys; print(six.__version__, sys.version_info[:2], sys.prefix)"
    out = amber("run", "-f", spec, "--", "python", "-c", code, check=True).stdout.split(" ", 1)
    assert out[0] == "1.17.0"
    assert f"({sys.version_info[0]}, {sys.version_info[1]})" in out[1]
    assert str(amber_home / "envs") in out[1]


def test_pypi_only_env_other_python(amber, tmp_path: Path):
    from amber._python import installed_interpreters

    mine = f"{sys.version_info[0]}.{sys.version_info[1]}"
    other = next((v for v in installed_interpreters() if not v.startswith(mine + ".")), None)
    if other is None:
        pytest.skip("only one Python installed here")
    minor = ".".join(other.split(".")[:2])
    spec = write(tmp_path / "requirements.txt", "six\n")
    code = "import sys; print('%d.%d' % sys.version_info[:2])"
    result = amber("run", "-f", spec, "--python", minor, "--", "python", "-c", code, check=True)
    assert result.stdout.strip() == minor


def test_mixed_env_does_not_install_twice(amber, conda_channel: Path, tmp_path: Path):
    # python-dateutil needs six; conda already provides six, so uv must not add it.
    spec = conda_spec(
        tmp_path, conda_channel, "python", "six", pip=("python-dateutil==2.9.0.post0",)
    )
    amber("lock", "-f", spec, check=True)
    packages = Lock.read(tmp_path / "amber.lock").for_platform("linux-64")
    assert [p.name for p in packages.pypi] == ["python-dateutil"]
    assert packages.provided["six"] == "six"
    code = (
        "import importlib.metadata as m, dateutil.parser, six;"
        "sixes = [d for d in m.distributions() if d.metadata['Name'].lower() == 'six'];"
        "print(len(sixes), sixes[0].read_text('INSTALLER').strip(), six.__version__)"
    )
    result = amber("run", "-f", spec, "--", "python", "-c", code, check=True)
    assert result.stdout.split() == ["1", "conda", "1.16.0"]


def test_same_spec_reuses_env(amber, amber_home: Path, conda_channel: Path, tmp_path: Path):
    spec = conda_spec(tmp_path / "a", conda_channel, "python", "datafiles")
    first = amber("install", "-f", spec, check=True).stdout.strip()
    marker = Path(first) / ".amber" / "complete"
    stamp = marker.stat().st_mtime_ns
    # The same request written differently elsewhere: same req_id, same env, no install.
    other = write(
        tmp_path / "b" / "env.yaml",
        f"channels:\n  - {conda_channel}\ndependencies:\n  - datafiles\n  - python\n",
    )
    second = amber("install", "-f", other)
    assert second.stdout.strip() == first and "Installing" not in second.stderr
    assert marker.stat().st_mtime_ns == stamp
    assert len(env_dirs(amber_home)) == 1
    listed = json.loads(amber("env", "list", "--json", check=True).stdout)
    assert [e["path"] for e in listed] == [first]


def test_lock_beside_spec_is_used_without_solving(
    amber, amber_home: Path, tmp_path: Path, wheel_cache_dir: Path
):
    channel = condapkgs.build_channel(
        tmp_path / "channel",
        [condapkgs.host_python_package(), condapkgs.libfoo_package("1.0")],
    )
    project = tmp_path / "project"
    spec = conda_spec(project, channel, "libfoo")
    amber("lock", "-f", spec, check=True)
    # A newer libfoo appears in the channel; the lock beside the spec still rules.
    condapkgs.write_package(condapkgs.libfoo_package("2.0"), channel / "linux-64")
    condapkgs.index_channel(channel)
    read_version = ["sh", "-c", 'cat "$CONDA_PREFIX/lib/libfoo.txt"']
    assert amber("run", "-f", spec, "--", *read_version, check=True).stdout.strip() == "1.0"
    # Once the spec changes, its req_id no longer matches the lock: resolve again.
    spec.write_text(spec.read_text().replace("  - libfoo", "  - libfoo >=1"))
    assert amber("run", "-f", spec, "--", *read_version, check=True).stdout.strip() == "2.0"


def test_edited_spec_is_noticed_on_the_hot_path(amber, tmp_path: Path):
    spec = write(tmp_path / "requirements.txt", "six==1.17.0\n")
    assert amber("run", "-f", spec, "--", "python", "-c", "import six").returncode == 0
    assert amber("run", "-f", spec, "--", "python", "-c", "import idna").returncode == 1
    write(tmp_path / "requirements.txt", "six==1.17.0\nidna\n")
    assert amber("run", "-f", spec, "--", "python", "-c", "import idna").returncode == 0


def test_env_show_rm_and_rehydrate(amber, amber_home: Path, conda_channel: Path, tmp_path: Path):
    spec = conda_spec(tmp_path, conda_channel, "python", "greetlib")
    prefix = Path(amber("install", "-f", spec, check=True).stdout.strip())
    full_id = Lock.read(prefix / ".amber" / "amber.lock").full_id
    shown = json.loads(amber("env", "show", full_id[:10], "--json", check=True).stdout)
    assert shown["full_id"] == full_id and shown["path"] == str(prefix)
    assert shown["activation"]["set"]["CONDA_PREFIX"] == str(prefix)
    assert {c["name"] for c in shown["platforms"]["linux-64"]["conda"]} >= {"greetlib", "python"}
    text = amber("env", "show", "demo", check=True).stdout  # by name
    assert full_id in text and "greetlib" in text

    ran = amber("run", "--env", full_id[:8], "--", "greet", check=True)
    assert ran.stdout.strip() == "hello from greetlib"

    amber("env", "rm", full_id[:8], check=True)
    assert not prefix.exists()
    assert amber("run", "--env", full_id[:8], "--", "true").returncode == 2
    # The lock stayed in the store: the same spec hydrates again.
    assert amber("install", "-f", spec, check=True).stdout.strip() == str(prefix)


def test_concurrent_requests_build_once(amber_home: Path, conda_channel: Path, tmp_path: Path):
    spec = conda_spec(tmp_path, conda_channel, "python", "greetlib", "footool", "six")
    env = dict(os.environ, AMBER_HOME=str(amber_home))
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "amber", "run", "-f", str(spec), "--", "greet"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )  # fmt: skip
        for _ in range(4)
    ]
    results = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0, 0], results
    assert all(out.strip() == "hello from greetlib" for out, _ in results)
    assert sum("Installing" in err for _, err in results) == 1
    assert len(env_dirs(amber_home)) == 1


def test_killed_hydrate_is_repaired(amber, amber_home: Path, conda_channel: Path, tmp_path: Path):
    spec = conda_spec(
        tmp_path, conda_channel, "python", "greetlib", pip=("python-dateutil==2.9.0.post0",)
    )
    amber("lock", "-f", spec, check=True)
    env = dict(os.environ, AMBER_HOME=str(amber_home))
    for _attempt in range(5):
        proc = subprocess.Popen(
            [sys.executable, "-m", "amber", "install", "-f", str(spec)],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and proc.poll() is None:
            if any((d / "conda-meta").is_dir() for d in env_dirs(amber_home)):
                break
            time.sleep(0.002)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        dirs = env_dirs(amber_home)
        if dirs and not (dirs[0] / ".amber" / "complete").exists():
            break  # killed halfway, as wanted
        amber("env", "rm", *[d.name for d in dirs])
    else:
        pytest.fail("could not kill a hydrate halfway in 5 attempts")
    # The wreck is never taken for an env ...
    assert json.loads(amber("env", "list", "--json", check=True).stdout) == []
    # ... and the next request repairs it.
    result = amber("run", "-f", spec, "--", "python", "-c", "import dateutil, greetlib")
    assert result.returncode == 0, result
    assert "incomplete" in result.stderr


def test_rehydrate_from_cache_needs_no_network(
    amber, amber_home: Path, conda_channel: Path, tmp_path: Path
):
    channel = condapkgs.copy_channel(conda_channel, tmp_path / "channel")
    with condapkgs.serve_directory(channel) as url:
        spec = conda_spec(tmp_path, url, "python", "six", pip=("python-dateutil==2.9.0.post0",))
        amber("lock", "-f", spec, check=True)
        prefix = amber("install", "-f", tmp_path / "amber.lock", check=True).stdout.strip()
    amber("env", "rm", Path(prefix).name, check=True)
    # Channel gone, and any attempt to reach PyPI goes to a dead proxy.
    dead = "http://127.0.0.1:9"
    offline = {"HTTP_PROXY": dead, "HTTPS_PROXY": dead, "ALL_PROXY": dead}
    result = amber("install", "-f", tmp_path / "amber.lock", env=offline)
    assert result.returncode == 0, result
    assert result.stdout.strip() == prefix
    code = "import dateutil, six"
    assert amber("run", "-f", tmp_path / "amber.lock", "--", "python", "-c", code).returncode == 0


def test_second_resolve_against_a_cached_http_channel(amber, http_channel: str, tmp_path: Path):
    """Static servers answer a cached index's revalidation with 304 Not Modified."""
    first = conda_spec(tmp_path / "a", http_channel, "python", "libfoo")
    second = conda_spec(tmp_path / "b", http_channel, "python", "datafiles")
    amber("lock", "-f", first, check=True)
    result = amber("lock", "-f", second)
    assert result.returncode == 0, result
