"""Lock diffs: added, removed, updated, rebuilt, per platform and kind."""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
from pathlib import Path

import pytest
from helpers import SNAPSHOT

from amber.cli.render import changes_to_json, print_changes, render_changes
from amber.inspect.diff import Change, diff_locks
from amber.lock import Lock, LockedConda, LockedPypi, PlatformLock
from amber.spec import Spec


def conda(name: str, version: str, build: str = "0", ext: str = ".conda") -> LockedConda:
    file_name = f"{name}-{version}-{build}{ext}"
    return LockedConda(
        name=name,
        version=version,
        build=build,
        build_number=0,
        subdir="linux-64",
        url=f"https://conda.example/linux-64/{file_name}",
        channel="https://conda.example",
        sha256=hashlib.sha256(file_name.encode()).hexdigest(),
    )


def pypi(name: str, version: str, tag: str = "py3-none-any") -> LockedPypi:
    file_name = f"{name}-{version}-{tag}.whl"
    return LockedPypi(
        name=name,
        version=version,
        url=f"https://files.example/{file_name}",
        sha256=hashlib.sha256(file_name.encode()).hexdigest(),
    )


def lock(**platforms: PlatformLock) -> Lock:
    return Lock(spec=Spec(), req_id="0" * 64, platforms={p.platform: p for p in platforms.values()})


@pytest.fixture
def before() -> Lock:
    return lock(
        linux=PlatformLock(
            platform="linux-64",
            conda=(
                conda("numpy", "1.14.0", "py36_0"),
                conda("six", "1.11.0"),
                conda("zlib", "1.2"),
            ),
            pypi=(pypi("requests", "2.18.0"), pypi("idna", "2.6")),
        ),
        osx=PlatformLock(
            platform="osx-64",
            conda=(conda("numpy", "1.14.0", "py36_0"), conda("six", "1.11.0")),
            pypi=(pypi("requests", "2.18.0"),),
        ),
    )


@pytest.fixture
def after() -> Lock:
    return lock(
        linux=PlatformLock(
            platform="linux-64",
            conda=(
                conda("numpy", "1.14.0", "py36_1"),  # rebuilt
                conda("six", "1.11.0"),  # unchanged
                conda("tk", "8.6"),  # added; zlib removed
            ),
            pypi=(pypi("requests", "2.19.0"), pypi("idna", "2.6", "py2.py3-none-any")),
        ),
        osx=PlatformLock(
            platform="osx-64",
            conda=(conda("numpy", "1.15.0", "py36_0"), conda("six", "1.11.0")),
            pypi=(),
        ),
    )


def test_changes_across_platforms_and_kinds(before: Lock, after: Lock) -> None:
    changes = diff_locks(before, after)
    assert [(c.platform, c.kind, c.name, c.old, c.new, c.action) for c in changes] == [
        ("linux-64", "conda", "numpy", "1.14.0 (py36_0)", "1.14.0 (py36_1)", "rebuilt"),
        ("linux-64", "conda", "tk", None, "8.6", "added"),
        ("linux-64", "conda", "zlib", "1.2", None, "removed"),
        (
            "linux-64", "pypi", "idna",
            "2.6 (idna-2.6-py3-none-any.whl)", "2.6 (idna-2.6-py2.py3-none-any.whl)", "rebuilt",
        ),
        ("linux-64", "pypi", "requests", "2.18.0", "2.19.0", "updated"),
        ("osx-64", "conda", "numpy", "1.14.0", "1.15.0", "updated"),
        ("osx-64", "pypi", "requests", "2.18.0", None, "removed"),
    ]  # fmt: skip
    backwards = diff_locks(after, before)
    assert [(c.name, c.action) for c in backwards if c.platform == "osx-64"] == [
        ("numpy", "updated"),
        ("requests", "added"),
    ]


def test_no_changes_means_same_full_id(before: Lock) -> None:
    moved = {
        name: dataclasses.replace(
            p,
            conda=tuple(
                dataclasses.replace(c, url=c.url.replace("conda.example", "mirror.example"))
                for c in p.conda
            ),
        )
        for name, p in before.platforms.items()
    }
    mirrored = dataclasses.replace(before, platforms=moved)
    assert diff_locks(before, mirrored) == []
    assert mirrored.full_id == before.full_id


def test_same_version_other_file(before: Lock) -> None:
    """Same build, other archive format or content: still a change, told apart by file or hash."""
    linux = before.platforms["linux-64"]
    repacked = conda("six", "1.11.0", ext=".tar.bz2")
    resigned = dataclasses.replace(conda("zlib", "1.2"), sha256="ab" * 32)
    after = lock(
        linux=dataclasses.replace(
            linux, conda=(*linux.conda[:1], repacked, resigned), pypi=linux.pypi
        )
    )
    changes = {c.name: c for c in diff_locks(before, after) if c.platform == "linux-64"}
    assert changes["six"].new == "1.11.0 (six-1.11.0-0.tar.bz2)"
    assert changes["six"].action == "rebuilt"
    assert changes["zlib"].new == "1.2 (sha256:abababababab)"
    assert changes["zlib"].action == "rebuilt"


def test_a_whole_platform_added() -> None:
    linux = PlatformLock(platform="linux-64", conda=(conda("six", "1.11.0"),))
    osx = PlatformLock(platform="osx-arm64", conda=(conda("six", "1.11.0"),))
    changes = diff_locks(lock(linux=linux), lock(linux=linux, osx=osx))
    assert changes == [Change("osx-arm64", "conda", "six", None, "1.11.0")]


def test_interpreter_of_a_pypi_only_env() -> None:
    old = lock(
        linux=PlatformLock(platform="linux-64", python="3.11", pypi=(pypi("six", "1.16.0"),))
    )
    new = lock(
        linux=PlatformLock(platform="linux-64", python="3.12", pypi=(pypi("six", "1.16.0"),))
    )
    assert old.full_id != new.full_id
    assert diff_locks(old, new) == [Change("linux-64", "python", "python", "3.11", "3.12")]


def test_render_plain_text(before: Lock, after: Lock) -> None:
    text = render_changes(diff_locks(before, after), title="amber.lock")
    lines = text.splitlines()
    assert lines[0] == "amber.lock"
    assert lines[1].split() == ["PACKAGE", "KIND", "PLATFORM", "CHANGE", "ACTION"]
    assert "1.14.0 (py36_0) -> 1.14.0 (py36_1)" in text
    assert any(
        line.split() == ["tk", "conda", "linux-64", "-", "->", "8.6", "added"] for line in lines
    )
    # Columns line up: every row starts its CHANGE column at the same place.
    starts = {line.index("->") for line in lines[2:-1] if line.startswith("requests")}
    assert len(starts) == 1
    assert lines[-1] == "7 changes: 2 updated, 2 rebuilt, 1 added, 2 removed"
    assert render_changes([]) == "No changes."
    assert render_changes([], title="t") == "t\nNo changes."


def test_print_changes_terminal_and_pipe(before: Lock, after: Lock) -> None:
    from rich.console import Console

    changes = diff_locks(before, after)
    pipe = io.StringIO()
    print_changes(changes, Console(file=pipe, force_terminal=False))
    assert pipe.getvalue() == render_changes(changes) + "\n"

    terminal = io.StringIO()
    print_changes(changes, Console(file=terminal, force_terminal=True, width=120))
    out = terminal.getvalue()
    assert "\x1b[" in out  # coloured
    assert "1.14.0 (py36_0) → 1.14.0 (py36_1)" in out

    empty = io.StringIO()
    print_changes([], Console(file=empty, force_terminal=True))
    assert "No changes." in empty.getvalue()


def test_changes_to_json(before: Lock, after: Lock) -> None:
    data = changes_to_json(diff_locks(before, after))
    assert json.loads(json.dumps(data)) == data
    assert data[0] == {
        "platform": "linux-64",
        "kind": "conda",
        "name": "numpy",
        "old": "1.14.0 (py36_0)",
        "new": "1.14.0 (py36_1)",
        "action": "rebuilt",
    }


def test_real_lock_against_itself(tmp_path: Path) -> None:
    if not SNAPSHOT.is_dir():
        pytest.skip("../shared/data is not beside this checkout")
    from amber.resolve import ResolveCaches, resolve
    from amber.spec import Spec

    caches = ResolveCaches(tmp_path / "repodata", tmp_path / "uv", tmp_path / "pkgs")
    spec = Spec.create(conda=["python=3.6", "numpy", "pandas"], channels=[str(SNAPSHOT)])
    first = resolve(spec, caches)
    again = Lock.loads(first.dumps())
    assert diff_locks(first, again) == []
    older = resolve(
        Spec.create(conda=["python=3.6", "numpy=1.13", "pandas"], channels=[str(SNAPSHOT)]),
        caches,
    )
    changes = diff_locks(older, first)
    numpy = next(c for c in changes if c.name == "numpy")
    assert numpy.action == "updated" and numpy.old.startswith("1.13")
    assert all(c.platform == "linux-64" and c.kind == "conda" for c in changes)
