"""`amber lock -f <already-resolved file>` with the flags of a solve: each does what it
says (`-p`, `--check`) or is refused saying why (`--update`, `--as-of`), never ignored."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
import yaml
from helpers import PIXI, assert_clear_error, run_cli, write

from amber.lock import Lock

pytestmark = pytest.mark.skipif(not PIXI.is_dir(), reason="../shared/data is not beside us")

CHANNEL = PIXI / "dummy_channel_1"


def _entry(name: str, platform: str) -> dict:
    archive = next((CHANNEL / platform).glob(f"{name}-0.1.0-*.conda"))
    return {
        "name": name, "version": "0.1.0", "manager": "conda", "platform": platform,
        "dependencies": {}, "url": archive.as_uri(),
        "hash": {"md5": hashlib.md5(archive.read_bytes()).hexdigest()},
        "category": "main", "optional": False,
    }  # fmt: skip


def _conda_lock(directory: Path, names: list[str]) -> Path:
    platforms = ["linux-64", "osx-64"]
    document = {
        "metadata": {
            "channels": [{"url": CHANNEL.as_uri(), "used_env_vars": []}],
            "content_hash": {p: "0" * 64 for p in platforms},
            "platforms": platforms,
            "sources": ["environment.yml"],
        },
        "package": [_entry(n, p) for p in platforms for n in names],
    }
    text = yaml.safe_dump(document, sort_keys=False) + "version: 1\n"
    return write(directory / "conda-lock.yml", text)


def test_platform_keeps_those_and_refuses_what_the_file_lacks(tmp_path: Path, amber_home):
    path = _conda_lock(tmp_path, ["dummy-c", "dummy-d"])
    out = run_cli(["lock", "-f", path, "-p", "osx-64"], tmp_path, seconds=120)
    assert out.code == 0, out
    lock = Lock.read(tmp_path / "amber.lock")
    assert sorted(lock.platforms) == ["osx-64"]
    assert lock.spec.platforms == ("osx-64",)
    refused = run_cli(["lock", "-f", path, "-p", "osx-64", "-p", "win-32"], tmp_path)
    assert_clear_error(refused, "win-32", "linux-64, osx-64")


@pytest.mark.parametrize(
    ("flags", "named"),
    [(["--update", "dummy-c"], "--update"), (["--as-of", "2024-01-01"], "--as-of")],
)
def test_solving_flags_are_refused(tmp_path: Path, amber_home, flags: list[str], named: str):
    path = _conda_lock(tmp_path, ["dummy-c"])
    refused = run_cli(["lock", "-f", path, *flags], tmp_path)
    assert_clear_error(refused, "already resolved", f"{named} needs a spec")
    assert not (tmp_path / "amber.lock").exists()


def test_check_compares_the_import_with_the_lock_beside_it(tmp_path: Path, amber_home):
    path = _conda_lock(tmp_path, ["dummy-c", "dummy-d"])
    missing = run_cli(["lock", "-f", path, "--check"], tmp_path, seconds=120)
    assert missing.code == 1, missing
    assert run_cli(["lock", "-f", path], tmp_path, seconds=120).code == 0
    written = (tmp_path / "amber.lock").read_bytes()
    same = run_cli(["lock", "-f", path, "--check"], tmp_path, seconds=120)
    assert same.code == 0, same
    _conda_lock(tmp_path, ["dummy-c"])  # dummy-d removed from the file
    stale = run_cli(["lock", "-f", path, "--check"], tmp_path, seconds=120)
    assert stale.code == 1, stale
    assert "dummy-d" in stale.stderr
    assert (tmp_path / "amber.lock").read_bytes() == written  # --check writes nothing
