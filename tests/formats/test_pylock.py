"""pylock.toml written by ``packaging.pylock``: the file is exactly what packaging makes of
its own parse (no hand-written TOML), and reads back into the same lock."""

from __future__ import annotations

import tomllib
from pathlib import Path

import tomli_w
from helpers import write
from packaging.pylock import Pylock

from amber.formats import ExportOptions, pylock
from amber.lock import Lock, LockedPypi, PlatformLock
from amber.spec import Spec

SHA = "8abb2f1d86890a2dfb989f9a77cfcfd3e47c2a354b01111771326f8aa26e0254"
FILES = "https://files.example.com/packages"


def _lock() -> Lock:
    """Two platforms: a shared wheel, one binary wheel each, an sdist, a git commit."""
    six = LockedPypi("six", "1.16.0", f"{FILES}/six-1.16.0-py2.py3-none-any.whl", SHA)
    sdist = LockedPypi("odd-name", "2.0", f"{FILES}/odd_name-2.0.tar.gz", SHA[::-1])
    git = LockedPypi("tiny", "0.1.0", "git+https://git.example.com/team/tiny.git",
                     commit="3c47cb6b01f9335bb6dc46452cfa38a7e675f023")  # fmt: skip
    linux = LockedPypi("fast", "1.0", f"{FILES}/fast-1.0-cp311-cp311-manylinux_2_17_x86_64.whl",
                       "1" * 64)  # fmt: skip
    mac = LockedPypi("fast", "1.0", f"{FILES}/fast-1.0-cp311-cp311-macosx_11_0_arm64.whl",
                     "2" * 64)  # fmt: skip
    spec = Spec.create(pypi=["six", "odd-name", "fast"], python="3.11",
                       platforms=["linux-64", "osx-arm64"])  # fmt: skip
    return Lock(spec, spec.req_id, {
        "linux-64": PlatformLock("linux-64", "3.11", pypi=(six, sdist, git, linux)),
        "osx-arm64": PlatformLock("osx-arm64", "3.11", pypi=(six, sdist, git, mac)),
    })  # fmt: skip


def test_pylock_is_written_by_packaging_and_reads_back(tmp_path: Path) -> None:
    lock = _lock()
    text = pylock.export(lock, ExportOptions()).text
    body = "".join(line for line in text.splitlines(True) if not line.startswith("#"))
    parsed = Pylock.from_dict(tomllib.loads(text))
    assert body == tomli_w.dumps(parsed.to_dict())  # packaging's own form, byte for byte
    assert [p.name for p in parsed.packages] == ["fast", "fast", "odd-name", "six", "tiny"]
    back = pylock.read(write(tmp_path / "pylock.toml", text))
    assert back.full_id == lock.full_id
    assert back.platforms["osx-arm64"].pypi == lock.platforms["osx-arm64"].pypi
