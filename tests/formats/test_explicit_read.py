"""Explicit files read as `conda create --file` reads them: comments, md5 and sha256
fragments, local paths; a missing @EXPLICIT or a line that is not a package refused by
name and line."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest
from helpers import PIXI, SHARED, assert_clear_error, run_cli, write

from amber.errors import LockFileError
from amber.formats import detect, explicit

pytestmark = pytest.mark.skipif(not PIXI.is_dir(), reason="../shared/data is not beside us")

LINUX = PIXI / "dummy_channel_1" / "linux-64"


def _archive(name: str) -> Path:
    return next(LINUX.glob(f"{name}-0.1.0-*.conda"))


def test_md5_sha256_comments_and_local_paths(tmp_path: Path) -> None:
    a, b, c, d = (_archive(n) for n in ("dummy-a", "dummy-b", "dummy-c", "dummy-d"))
    local = tmp_path / "pkgs" / d.name
    local.parent.mkdir()
    local.write_bytes(d.read_bytes())
    path = write(
        tmp_path / "env.txt",
        "# This file may be used to create an environment using:\n"
        "# $ conda create --name <env> --file <this file>\n"
        "# platform: linux-64\n"
        "@EXPLICIT\n"
        f"{a.as_uri()}#{hashlib.md5(a.read_bytes()).hexdigest()}\n"
        f"  {b.as_uri()}#sha256:{hashlib.sha256(b.read_bytes()).hexdigest()}\n"
        "\n"
        f"{c}\n"  # an absolute path, no hash
        f"{os.path.join('pkgs', d.name)}\n",  # a path relative to the file
    )
    lock = explicit.read(path)
    body = lock.platforms["linux-64"]
    assert sorted(x.name for x in body.conda) == ["dummy-a", "dummy-b", "dummy-c", "dummy-d"]
    by_name = {x.name: x for x in body.conda}
    assert by_name["dummy-a"].sha256 == hashlib.sha256(a.read_bytes()).hexdigest()
    assert by_name["dummy-d"].url == local.resolve().as_uri()


def test_missing_marker_is_refused_naming_the_file(tmp_path: Path, amber_home) -> None:
    path = write(tmp_path / "env.txt", f"# platform: linux-64\n{_archive('dummy-a').as_uri()}\n")
    assert detect(path) == "explicit"
    with pytest.raises(LockFileError, match="env.txt:2: .*@EXPLICIT"):
        explicit.read(path)
    assert_clear_error(run_cli(["lock", "-f", path], tmp_path), "env.txt:2", "@EXPLICIT")


def test_a_line_that_is_not_a_package_is_refused_by_number(tmp_path: Path) -> None:
    path = write(tmp_path / "env.txt", f"@EXPLICIT\n{_archive('dummy-a').as_uri()}\nnumpy=1.26\n")
    with pytest.raises(LockFileError, match="env.txt:3: 'numpy=1.26' is not a package"):
        explicit.read(path)


def test_an_insta_snapshot_is_refused_as_conda_refuses_it() -> None:
    snap = next((SHARED / "real" / "explicit").glob("*.snap"))
    with pytest.raises(LockFileError, match=r"\.snap:1: not an explicit file: '---'"):
        explicit.read(snap)
