"""A PyPI entry locked to a git commit in other tools' formats: pylock.toml carries it as
PEP 751's ``vcs`` table (commit-id), and reads it back as the same entry."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest
from helpers import write

from amber import formats
from amber.formats import ExportOptions, pylock
from amber.lock import Lock, LockedPypi, PlatformLock
from amber.spec import Spec

COMMIT = "3c47cb6b01f9335bb6dc46452cfa38a7e675f023"
GIT = LockedPypi("tiny", "0.1.0", "git+https://git.example.com/team/tiny.git#subdirectory=sub",
                 commit=COMMIT)  # fmt: skip


def test_pylock_carries_a_git_commit_both_ways(tmp_path: Path) -> None:
    spec = Spec.create(pypi=["tiny @ git+https://git.example.com/team/tiny.git@main"])
    lock = Lock(spec, spec.req_id, {"linux-64": PlatformLock("linux-64", "3.11", pypi=(GIT,))})
    exported = pylock.export(lock, ExportOptions())
    [package] = tomllib.loads(exported.text)["packages"]
    assert package["vcs"] == {
        "type": "git", "url": "https://git.example.com/team/tiny.git", "commit-id": COMMIT,
        "subdirectory": "sub",
    }  # fmt: skip
    back = pylock.read(write(tmp_path / "pylock.toml", exported.text))
    assert back.platforms["linux-64"].pypi == (GIT,)


def _git_lock() -> Lock:
    spec = Spec.create(pypi=["tiny @ git+https://git.example.com/team/tiny.git@main", "six"])
    wheel = "https://files.example.com/six-1.16.0-py2.py3-none-any.whl"
    six = LockedPypi(
        "six", "1.16.0", wheel, "8abb2f1d86890a2dfb989f9a77cfcfd3e47c2a354b01111771326f8aa26e0254"
    )
    body = PlatformLock("linux-64", "3.11", pypi=(GIT, six))
    return Lock(spec, spec.req_id, {"linux-64": body})


@pytest.mark.parametrize("fmt", ["requirements", "conda-lock", "pixi"])
def test_hash_pinning_formats_say_they_leave_the_commit_out(fmt: str) -> None:
    exported = formats.get(fmt).export(_git_lock(), ExportOptions(platforms=("linux-64",)))
    text = exported.text or "".join((exported.files or {}).values())
    assert "six" in text and "tiny" not in text.replace("tiny.git", "")
    [said] = [line for line in exported.lost if "git commits" in line]
    assert GIT.requirement_line() in said


def test_explicit_and_cyclonedx_name_the_commit() -> None:
    lock = _git_lock()
    explicit = formats.get("explicit").export(lock, ExportOptions()).text or ""
    assert f"# pip {GIT.requirement_line()}" in explicit
    sbom = json.loads(formats.get("cyclonedx").export(lock, ExportOptions()).text or "")
    [tiny] = [c for c in sbom["components"] if c["name"] == "tiny"]
    assert tiny["externalReferences"] == [{"type": "vcs", "url": GIT.vcs_url}]
    assert "hashes" not in tiny and "vcs_url=" in tiny["purl"]
