"""amber unpack and bin/amber-unpack write only inside DEST, whatever the archive says.

Crafted archives (tar and zip) carry a crafted ``.amber/pack.json``: absolute paths,
``..``, directory symlinks shipped in the archive, symlinks repointed outside, malformed
manifests; and, unpacked as root, device files, FIFOs, setuid bits and hardlinks out.
"""

from __future__ import annotations

import json
import os
import re
import stat
import subprocess
from pathlib import Path

import pytest
from helpers import bounded, crafted_archive, tree_snapshot

from amber.errors import PackError
from amber.ship.bundle import import_bundle
from amber.ship.pack import unpack, unpack_script
from amber.store import Store

OLD = "/opt/amber-old-prefix"


def _manifest(files: list, links: list) -> bytes:
    return json.dumps({"amber_pack": 1, "prefix": OLD, "files": files, "links": links}).encode()


def _outside(tmp_path: Path) -> Path:
    """A victim directory beside DEST: a file that embeds the old prefix, and a link."""
    victim = tmp_path / "outside"
    victim.mkdir()
    (victim / "victim.txt").write_text(f"#!{OLD}/bin/python\n")
    (victim / "link").symlink_to(f"{OLD}/lib")
    return victim


def _cases(victim: Path) -> dict[str, list[tuple]]:
    """Archive members (beside the manifest) and what the manifest lists, per attack."""
    text = f"#!{OLD}/bin/python\n".encode()
    return {
        "absolute file": [
            (".amber/pack.json", "file", _manifest([[f"{victim}/victim.txt", "text"]], []), 0o644),
        ],
        "dotdot file": [
            (".amber/pack.json", "file", _manifest([["../outside/victim.txt", "text"]], []), 0o644),
        ],
        "dir symlink file": [
            ("escape", "symlink", str(victim), 0o777),
            (".amber/pack.json", "file", _manifest([["escape/victim.txt", "text"]], []), 0o644),
        ],
        "dir symlink link": [
            ("escape", "symlink", str(victim), 0o777),
            (".amber/pack.json", "file", _manifest([], ["escape/link"]), 0o644),
        ],
        "link repointed out": [
            ("bin/tool", "file", text, 0o755),
            ("bin/up", "symlink", f"{OLD}/../../{victim.relative_to('/')}/victim.txt", 0o777),
            (".amber/pack.json", "file", _manifest([["bin/tool", "text"]], ["bin/up"]), 0o644),
        ],
        "manifest through a symlink": [
            (".amber", "symlink", str(victim), 0o777),
        ],
    }  # fmt: skip


@pytest.mark.parametrize("fmt", ["tar", "zip"])
def test_unpack_follows_no_manifest_entry_outside_dest(amber, tmp_path: Path, fmt: str):
    victim = _outside(tmp_path)
    (victim / "pack.json").write_bytes(_manifest([["victim.txt", "text"]], []))
    before = tree_snapshot(victim)
    dest = tmp_path / "dest"
    for name, members in _cases(victim).items():
        archive = crafted_archive(tmp_path / f"{name}.{fmt}".replace(" ", "-"), members, fmt)
        with pytest.raises(PackError, match="outside"):
            unpack(archive, dest)
        assert tree_snapshot(victim) == before, name
        assert not dest.exists() and not list(tmp_path.glob(".dest.unpack-*")), name
    result = amber("unpack", archive, dest)  # the last case, through the CLI
    assert result.returncode == 2 and "outside" in result.stderr, result
    assert "Traceback" not in result.stderr and not dest.exists()


def test_amber_unpack_script_refuses_entries_outside_its_env(tmp_path: Path):
    victim = _outside(tmp_path)
    (victim / "pack.json").write_bytes(_manifest([["victim.txt", "text"]], []))
    before = tree_snapshot(victim)
    for name, members in _cases(victim).items():
        env = tmp_path / name.replace(" ", "-")
        archive = crafted_archive(tmp_path / f"{env.name}.tar", members)
        env.mkdir()
        subprocess.run(["tar", "-xf", archive, "-C", env], check=True)
        (env / "bin").mkdir(exist_ok=True)
        script = env / "bin" / "amber-unpack"
        script.write_bytes(unpack_script())
        script.chmod(0o755)
        proc = subprocess.run([script], capture_output=True, text=True)
        assert proc.returncode == 1 and "outside" in proc.stderr, (name, proc)
        assert "Traceback" not in proc.stderr, (name, proc)
        assert tree_snapshot(victim) == before, name


@pytest.mark.parametrize("fmt", ["tar", "zip"])
def test_unpack_malformed_manifest_is_a_clear_error(amber, tmp_path: Path, fmt: str):
    good = {"amber_pack": 1, "prefix": OLD, "files": [], "links": []}
    cases = [
        ("not valid JSON", b"{nope"),
        ("must be an object", b"[1, 2]"),
        ("prefix must be an absolute path, not 7", json.dumps({**good, "prefix": 7}).encode()),
        ("missing prefix, links", json.dumps({"amber_pack": 1, "files": []}).encode()),
        ("files[0] must be", json.dumps({**good, "files": [["bin/x", "octal"]]}).encode()),
        ("files[1] must be", json.dumps({**good, "files": [["bin/x", "text"], 42]}).encode()),
        ("links[0] must be a path", json.dumps({**good, "links": [{"a": 1}]}).encode()),
        ("too large", b" " * (65 << 20)),
        ("not valid JSON", b"[" * 100_000),
    ]
    dest = tmp_path / "dest"
    for message, data in cases:
        members = [("bin/x", "file", b"x", 0o755), (".amber/pack.json", "file", data, 0o644)]
        archive = crafted_archive(tmp_path / f"bad.{fmt}", members, fmt)
        with pytest.raises(PackError, match=r"pack\.json.*" + re.escape(message)):
            unpack(archive, dest)
        assert not dest.exists() and not list(tmp_path.glob(".dest.unpack-*"))
        if message == "files[1] must be":
            result = amber("unpack", archive, dest)
            assert result.returncode == 2 and message in result.stderr, result
            assert "Traceback" not in result.stderr and not dest.exists()


def test_relocate_reads_only_regular_files(tmp_path: Path):
    """A FIFO listed in the manifest would block a reader forever: refused, not opened."""
    from amber.ship import _relocate

    env = tmp_path / "env"
    (env / ".amber").mkdir(parents=True)
    os.mkfifo(env / "pipe")
    (env / ".amber" / "pack.json").write_bytes(_manifest([["pipe", "text"]], []))
    with bounded(), pytest.raises(_relocate.RelocateError, match="pipe.*not a regular file"):
        _relocate.relocate(str(env), str(tmp_path / "new"))


@pytest.mark.skipif(os.geteuid() != 0, reason="device files and setuid bits need root")
@pytest.mark.parametrize("tool", ["system tar", "tarfile", "zip"])
def test_unpack_as_root_makes_only_files_dirs_and_links(tmp_path: Path, tool: str, monkeypatch):
    if tool == "tarfile":
        empty = tmp_path / "no-tools"
        empty.mkdir()
        monkeypatch.setenv("PATH", str(empty))  # no `tar`: Python's tarfile extracts
    fmt = "zip" if tool == "zip" else "tar"
    victim = _outside(tmp_path)
    before = tree_snapshot(victim)
    manifest = (".amber/pack.json", "file", _manifest([], []), 0o644)
    specials = {
        "device": ("dev-null", "chr", b"", 0o666),
        "FIFO": ("pipe", "fifo", b"", 0o644),
    }
    if fmt == "tar":
        specials["outside"] = ("hard", "hardlink", str(victim / "victim.txt"), 0o644)
        specials["outside "] = ("hard", "hardlink", "../outside/victim.txt", 0o644)
    for message, member in specials.items():
        archive = crafted_archive(tmp_path / f"special.{fmt}", [manifest, member], fmt)
        with pytest.raises(PackError, match=message.strip()):
            unpack(archive, tmp_path / "dest")
        assert not (tmp_path / "dest").exists() and not list(tmp_path.glob(".dest.unpack-*"))
        assert tree_snapshot(victim) == before, message

    members = [
        manifest,
        ("bin", "dir", b"", 0o7755),
        ("bin/suid", "file", b"#!/bin/sh\n", 0o6755),
        ("tmp", "dir", b"", 0o1777),
    ]
    archive = crafted_archive(tmp_path / f"modes.{fmt}", members, fmt)
    dest = tmp_path / "dest"
    unpack(archive, dest)
    for path in (dest / "bin", dest / "bin" / "suid", dest / "tmp"):
        mode = path.lstat().st_mode
        assert not mode & (stat.S_ISUID | stat.S_ISGID | stat.S_ISVTX), (path, oct(mode))
    assert os.access(dest / "bin" / "suid", os.X_OK)


def _bundle(path: Path, manifest: object, members: list[tuple] = ()) -> Path:
    data = manifest if isinstance(manifest, bytes) else json.dumps(manifest).encode()
    return crafted_archive(path, [("amber-bundle.json", "file", data, 0o644), *members])


def test_bundle_import_writes_only_into_the_store(amber, tmp_path: Path):
    """A crafted bundle manifest names no path outside the store, and is a clear error."""
    good = {"amber_bundle": 1, "envs": [], "platforms": ["linux-64"], "packages": []}
    escape = {"sha256": "..", "file_name": "escaped.conda"}
    cases = [
        ("packages[0]", {**good, "packages": [escape]},
         [("pkgs/../escaped.conda", "file", b"x", 0o644)]),
        ("packages[0]", {**good, "packages": [{"sha256": "ab" * 32, "file_name": "../x.conda"}]},
         []),
        ("packages[0]", {**good, "packages": ["x"]}, []),
        ("platforms", {**good, "platforms": 5}, []),
        ("packages", {**good, "packages": {"a": 1}}, []),
        ("must be an object", [1], []),
        ("not valid JSON", b"[" * 100_000, []),
        ("too large", b" " * (17 << 20), []),
    ]  # fmt: skip
    home = tmp_path / "home"
    for message, manifest, members in cases:
        bundle = _bundle(tmp_path / "bundle.tar", manifest, members)
        before = tree_snapshot(tmp_path, skip=(home, bundle))
        with pytest.raises(PackError, match=r"amber-bundle\.json.*" + re.escape(message)):
            import_bundle(bundle, Store(home), "linux-64")
        assert tree_snapshot(tmp_path, skip=(home, bundle)) == before, message
        assert not (tmp_path / "escaped.conda").exists()
    bundle = _bundle(tmp_path / "bundle.tar", cases[0][1], cases[0][2])
    result = amber("install", bundle, env={"AMBER_HOME": str(home)})
    assert result.returncode == 2 and "packages[0]" in result.stderr, result
    assert "Traceback" not in result.stderr and not (tmp_path / "escaped.conda").exists()
