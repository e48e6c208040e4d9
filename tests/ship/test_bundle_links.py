"""A bundle whose lock is a symlink (or missing) is refused by name: it installed nothing and
said so with exit 0."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers import assert_clear_error, crafted_archive, env_dirs, run_cli

from amber._platform import host_platform

FULL_ID = "ab" * 32


def _bundle(path: Path, *members: tuple) -> Path:
    manifest = {"amber_bundle": 1, "envs": [FULL_ID], "platforms": [host_platform()],
                "packages": []}  # fmt: skip
    return crafted_archive(
        path, [("amber-bundle.json", "file", json.dumps(manifest).encode(), 0o644), *members]
    )


@pytest.mark.parametrize(
    ("members", "complaint"),
    [
        ([(f"locks/{FULL_ID}.lock", "symlink", "/etc/passwd", 0o777)], "is not a regular file"),
        ([(f"locks/{FULL_ID}.lock", "hardlink", "amber-bundle.json", 0o644)],
         "is not a regular file"),
        ([], f"the bundle lacks the lock of env {FULL_ID}"),
    ],
)  # fmt: skip
def test_a_bundle_without_a_real_lock(
    tmp_path: Path, amber_home: Path, members: list[tuple], complaint: str
) -> None:
    bundle = _bundle(tmp_path / "bundle.tar", *members)
    outcome = run_cli(["install", bundle], tmp_path)
    assert_clear_error(outcome, complaint)
    assert env_dirs(amber_home) == []
