"""Named envs (NAME:TAG) and the content-addressed archive store."""

from __future__ import annotations

import shutil
from pathlib import Path

import condapkgs
from helpers import write

from amber.lock import Lock
from amber.store import Store
from amber.store.fetch import download_archives


def test_tags_name_envs(amber, conda_channel: Path, tmp_path: Path):
    one = write(
        tmp_path / "a" / "environment.yml",
        f"channels: ['{conda_channel}']\ndependencies: [python]\n",
    )
    two = write(
        tmp_path / "b" / "environment.yml",
        f"channels: ['{conda_channel}']\ndependencies: [python, greetlib]\n",
    )
    first = Path(amber("install", "-f", one, check=True).stdout.strip())
    second = Path(amber("install", "-f", two, check=True).stdout.strip())
    amber("env", "tag", first.name, "analysis:v1", check=True)
    amber("env", "tag", first.name, "analysis", check=True)  # = analysis:latest
    moved = amber("env", "tag", second.name, "analysis:v1")
    assert moved.returncode == 2 and "immutable" in moved.stderr
    amber("env", "tag", second.name, "analysis", check=True)  # latest moves
    assert amber(
        "run", "--env", "analysis:v1", "--", "sh", "-c", "echo $CONDA_PREFIX"
    ).stdout.strip() == str(first)
    assert amber("run", "--env", "analysis", "--", "greet").stdout.strip() == "hello from greetlib"
    tags = [
        line.split()[:2]
        for line in amber("env", "tags", "analysis", check=True).stdout.splitlines()
    ]
    assert ["analysis", "v1"] in tags and ["analysis", "latest"] in tags
    amber("env", "untag", "analysis:v1", check=True)
    assert amber("run", "--env", "analysis:v1", "--", "true").returncode == 2
    bad = amber("env", "tag", second.name, "no spaces:allowed here")
    assert bad.returncode == 2 and "invalid tag" in bad.stderr


def test_tagged_env_is_rehydrated_after_rm(amber, conda_channel: Path, tmp_path: Path):
    spec = write(
        tmp_path / "environment.yml",
        f"channels: ['{conda_channel}']\ndependencies: [python, greetlib]\n",
    )
    prefix = Path(amber("install", "-f", spec, check=True).stdout.strip())
    amber("env", "tag", prefix.name, "demo:1", check=True)
    amber("env", "rm", "demo:1", check=True)
    assert not prefix.exists()
    assert (
        amber("run", "--env", "demo:1", "--", "greet", check=True).stdout.strip()
        == "hello from greetlib"
    )


def test_hydrate_from_the_archive_store_alone(
    amber, amber_home: Path, conda_channel: Path, tmp_path: Path
):
    channel = condapkgs.copy_channel(conda_channel, tmp_path / "channel")
    with condapkgs.serve_directory(channel) as url:
        spec = write(
            tmp_path / "environment.yml",
            f"channels: ['{url}']\n"
            "dependencies: [python, six, greetlib, {pip: [python-dateutil==2.9.0.post0]}]\n",
        )
        amber("lock", "-f", spec, check=True)
        lock = Lock.read(tmp_path / "amber.lock")
        body = lock.for_platform("linux-64")
        download_archives([*body.conda, *body.pypi], Store(amber_home))
    shutil.rmtree(channel)
    store = Store(amber_home)
    assert all(store.find_archive(p.sha256) for p in (*body.conda, *body.pypi))
    shutil.rmtree(store.conda_pkgs)  # nothing extracted either: only the archives remain
    shutil.rmtree(store.uv_cache)
    dead = "http://127.0.0.1:9"
    result = amber(
        "install", "-f", tmp_path / "amber.lock", env={"HTTPS_PROXY": dead, "HTTP_PROXY": dead}
    )
    assert result.returncode == 0, result
    code = "import dateutil, six, greetlib"
    assert amber("run", "-f", tmp_path / "amber.lock", "--", "python", "-c", code).returncode == 0
