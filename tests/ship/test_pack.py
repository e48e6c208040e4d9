"""amber pack / unpack / bin/amber-unpack, and bundles for `amber install` offline."""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import tarfile
from pathlib import Path

import condapkgs
import pytest
from helpers import conda_spec, write

SHELL_PATH = "/usr/bin:/bin"  # no amber, no test venv: what a bare target machine has


def _install(amber, spec: Path) -> Path:
    return Path(amber("install", "-q", "-f", spec, check=True).stdout.strip())


def _sh(cmd: list[object], **env: str) -> str:
    """Run ``cmd`` as a machine without Amber would: a bare PATH, nothing inherited."""
    environ = {"PATH": SHELL_PATH, "HOME": os.environ.get("HOME", "/tmp"), **env}
    proc = subprocess.run(list(map(str, cmd)), env=environ, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


@pytest.fixture
def mixed(amber, conda_channel: Path, tmp_path: Path) -> Path:
    """A conda + PyPI env: text and binary prefix files, a conda entry point and a PyPI one."""
    spec = conda_spec(
        tmp_path / "spec", conda_channel, "python", "greetlib", "footool", pip=("cowsay==6.1",)
    )
    return _install(amber, spec)


def _check_runs_at(dest: Path) -> None:
    tool = _sh([dest / "bin" / "footool"])  # text placeholder, rewritten
    assert tool.splitlines() == [f"footool prefix: {dest}", "2.0"]
    blob = (dest / "share" / "footool" / "prefix.bin").read_bytes()  # binary placeholder
    assert f"{dest}/share/footool\0".encode() in blob
    assert _sh([dest / "bin" / "greet"]).strip() == "hello from greetlib"  # conda entry point
    assert "moo" in _sh([dest / "bin" / "cowsay", "-t", "moo"])  # uv's entry point
    code = "import sys, greetlib, cowsay; print(sys.prefix)"
    assert _sh([dest / "bin" / "python", "-c", code]).strip() == str(dest)


@pytest.mark.parametrize("suffix", [".tar.zst", ".zip"])
def test_pack_unpack_into_a_longer_and_a_shorter_path(amber, mixed: Path, tmp_path, suffix):
    archive = tmp_path / f"env{suffix}"
    packed = amber("pack", mixed, "-o", archive, check=True)
    assert "files embed the prefix" in packed.stderr
    original = (mixed / "share" / "footool" / "prefix.bin").read_bytes()

    longer = tmp_path / ("deploy-" + "x" * (len(str(mixed)) + 20)) / "env"
    shorter = Path(f"/tmp/a{os.getpid()}{suffix.replace('.', '')}")
    shutil.rmtree(shorter, ignore_errors=True)
    try:
        for dest in (longer, shorter):
            out = amber("unpack", archive, dest, check=True)
            assert out.stdout.strip() == str(dest)
            _check_runs_at(dest)
            assert len((dest / "share/footool/prefix.bin").read_bytes()) == len(original)
            # The records follow the files: the moved env verifies clean...
            assert "ok" in amber("verify", dest, check=True).stderr
            # ...and `amber run --env DIR` runs in it, with its activation moved too.
            home = amber("run", "--env", dest, "--", "sh", "-c", "echo $FOOTOOL_HOME", check=True)
            assert home.stdout.strip() == f"{dest}/share/footool"
        assert (mixed / "share" / "footool" / "prefix.bin").read_bytes() == original  # untouched
    finally:
        shutil.rmtree(shorter, ignore_errors=True)


def test_amber_unpack_script_without_amber(amber, mixed: Path, tmp_path: Path):
    """tar -x, then DEST/bin/amber-unpack run by the env's own Python: a long path with a
    space (shebangs past 127 bytes become trampolines), then moved and run again."""
    archive = tmp_path / "env.tar.gz"
    amber("pack", "-q", mixed, "-o", archive, check=True)
    dest = tmp_path / "with space" / ("y" * 120) / "env"
    dest.mkdir(parents=True)
    _sh(["tar", "-xzf", archive, "-C", dest])
    assert "ready" in _sh([dest / "bin" / "amber-unpack"])
    _check_runs_at(dest)
    assert (dest / "bin" / "greet").read_bytes().startswith(b"#!/bin/sh\n'''exec' ")

    moved = tmp_path / "moved"
    dest.rename(moved)
    _sh([moved / "bin" / "amber-unpack"])
    _check_runs_at(moved)
    assert "ok" in amber("verify", moved, check=True).stderr


def test_pack_pypi_only_env(amber, tmp_path: Path):
    env = _install(amber, write(tmp_path / "requirements.txt", "cowsay==6.1\n"))
    archive = tmp_path / "venv.tar.bz2"
    amber("pack", env, "-o", archive, check=True)
    dest = tmp_path / "elsewhere" / "venv"
    amber("unpack", archive, dest, check=True)
    assert "hi" in _sh([dest / "bin" / "cowsay", "-t", "hi"])
    activate = (dest / "bin" / "activate").read_text()
    assert str(dest) in activate and str(env) not in activate
    assert _sh([dest / "bin" / "python", "-c", "import sys; print(sys.prefix)"]).strip() == str(
        dest
    )


def test_pack_refuses_a_modified_env(amber, mixed: Path, tmp_path: Path):
    site = next(mixed.glob("lib/python*/site-packages"))
    init = site / "greetlib" / "__init__.py"
    text = init.read_text()
    init.unlink()  # hardlinked from the package cache: replace it, don't edit the cache
    init.write_text(text + "# patched in place\n")
    write(mixed / "bin" / "stray-tool", "#!/bin/sh\n")
    archive = tmp_path / "env.tar.zst"
    result = amber("pack", mixed, "-o", archive)
    assert result.returncode == 2, result
    assert "Traceback" not in result.stderr
    assert f"modified  {init.relative_to(mixed)}  (greetlib==1.0" in result.stderr
    assert "extra     bin/stray-tool" in result.stderr
    assert not archive.exists() and not list(tmp_path.glob(".env.tar.zst*"))


def test_unpack_bad_input(amber, mixed: Path, tmp_path: Path):
    archive = tmp_path / "env.tar.zst"
    amber("pack", "-q", mixed, "-o", archive, check=True)
    occupied = write(tmp_path / "occupied" / "keep.txt", "mine\n").parent
    cases = {
        "exists and is not empty": (archive, occupied),
        "not an archive Amber reads": (write(tmp_path / "notes.txt", "hello\n"), tmp_path / "d1"),
        "no such archive": (tmp_path / "missing.tar.zst", tmp_path / "d2"),
        "unknown archive type": None,
        "cannot create": (archive, tmp_path / "notes.txt" / "dest"),  # under a file
    }
    damaged = tmp_path / "damaged.tar.zst"
    damaged.write_bytes(archive.read_bytes()[: archive.stat().st_size // 2])
    cases["damaged archive"] = (damaged, tmp_path / "d3")
    for message, args in cases.items():
        if args is None:
            result = amber("pack", mixed, "-o", tmp_path / "env.rar")
            unwritable = amber("pack", mixed, "-o", tmp_path / "notes.txt" / "env.tar.zst")
            assert unwritable.returncode == 2 and "cannot pack" in unwritable.stderr
        else:
            result = amber("unpack", *args)
        assert result.returncode == 2 and message in result.stderr, (message, result)
        assert "Traceback" not in result.stderr
    assert sorted(p.name for p in occupied.iterdir()) == ["keep.txt"]
    leftovers = [p.name for p in tmp_path.iterdir() if p.name.startswith((".d", "d1", "d2", "d3"))]
    assert leftovers == []


def test_bundle_installs_with_the_channel_gone(amber, conda_channel: Path, tmp_path: Path):
    channel = condapkgs.copy_channel(conda_channel, tmp_path / "channel")
    one = _install(amber, conda_spec(tmp_path / "a", channel, "python", "greetlib", "footool",
                                     pip=("cowsay==6.1",)))  # fmt: skip
    two = _install(amber, conda_spec(tmp_path / "b", channel, "python", "greetlib"))
    bundle = tmp_path / "bundle.tar"
    amber("pack", "--packages", one, two, "-o", bundle, check=True)
    with tarfile.open(bundle) as tar:
        names = tar.getnames()
        manifest = json.loads(tar.extractfile("amber-bundle.json").read())
    assert names[0] == "amber-bundle.json"
    assert [full_id[:16] for full_id in manifest["envs"]] == [one.name, two.name]
    pkgs = [n for n in names if n.startswith("pkgs/")]
    assert len(pkgs) == len(set(pkgs))  # shared packages (python, greetlib, libfoo) once
    assert sum("greetlib" in n for n in pkgs) == 1 and any("cowsay" in n for n in pkgs)
    assert len([n for n in names if n.startswith("locks/")]) == 2

    shutil.rmtree(channel)
    far = tmp_path / "air-gapped-home"
    offline = {
        "AMBER_HOME": str(far),
        **{
            k: "http://127.0.0.1:9"
            for k in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY")
        },  # fmt: skip
        "UV_OFFLINE": "1",
    }
    installed = amber("install", bundle, env=offline, check=True).stdout.split()
    assert [Path(p).name for p in installed] == [one.name, two.name]
    assert all(str(p).startswith(str(far)) for p in installed)
    assert amber("install", "-f", bundle, env=offline, check=True).stdout.split() == installed
    tool = amber("run", "--env", installed[0], "--", "footool", env=offline, check=True)
    assert "2.0" in tool.stdout
    moo = amber("run", "--env", installed[0], "--", "cowsay", "-t", "moo", env=offline, check=True)
    assert "moo" in moo.stdout

    # A one-env bundle also works as `run -f`.
    single = tmp_path / "one.tar"
    amber("pack", "--packages", two, "-o", single, check=True)
    greet = amber("run", "-f", single, "--", "greet", env=offline, check=True)
    assert greet.stdout.strip() == "hello from greetlib"


def test_bundle_bad_input(amber, mixed: Path, tmp_path: Path):
    bundle = tmp_path / "bundle.tar"
    amber("pack", "-q", "--packages", mixed, "-o", bundle, check=True)
    other = tmp_path / "other-home"
    elsewhere = amber("install", bundle, env={"AMBER_HOME": str(other)})
    assert elsewhere.returncode == 0, elsewhere

    osx = tmp_path / "osx.tar"
    made = amber("pack", "--packages", mixed, "-p", "osx-arm64", "-o", osx)
    assert made.returncode == 2 and "osx-arm64" in made.stderr and not osx.exists()

    # A package altered inside the bundle is refused, naming it; nothing is installed.
    tampered = tmp_path / "tampered.tar"
    with tarfile.open(bundle) as src, tarfile.open(tampered, "w") as dst:
        for member in src:
            data = src.extractfile(member).read() if member.isfile() else b""
            if "libfoo" in member.name:
                data = data[:-1] + bytes([data[-1] ^ 1])
            dst.addfile(member, io.BytesIO(data))
    third = tmp_path / "third-home"
    result = amber("install", tampered, env={"AMBER_HOME": str(third)})
    assert result.returncode == 2 and "libfoo-2.0-0.conda is damaged" in result.stderr, result
    assert not list(third.glob("envs/[0-9a-f]*"))

    result = amber("unpack", bundle, tmp_path / "dest")
    assert result.returncode == 2 and "amber install" in result.stderr
    assert not (tmp_path / "dest").exists()


def test_unpack_without_a_system_tar(amber, mixed: Path, tmp_path: Path, monkeypatch):
    """Where no `tar` is on PATH, Python's tarfile extracts (with its "tar" safety filter)."""
    from amber.ship.pack import unpack

    archive = tmp_path / "env.tar.gz"
    amber("pack", "-q", mixed, "-o", archive, check=True)
    empty = tmp_path / "no-tools"
    empty.mkdir()
    dest = tmp_path / "no-tar" / "env"
    with monkeypatch.context() as patch:
        patch.setenv("PATH", str(empty))
        assert unpack(archive, dest) > 0
    _check_runs_at(dest)
    assert not (dest / "CACHEDIR.TAG").exists()


def test_unpack_refuses_a_zip_member_outside_the_destination(amber, tmp_path: Path):
    import zipfile

    evil = tmp_path / "evil.zip"
    with zipfile.ZipFile(evil, "w") as archive:
        archive.writestr(".amber/pack.json", "{}")
        archive.writestr("../escaped.txt", "outside\n")
    result = amber("unpack", evil, tmp_path / "dest")
    assert result.returncode == 2 and "points outside the destination" in result.stderr, result
    assert not (tmp_path / "escaped.txt").exists() and not (tmp_path / "dest").exists()
    assert not list(tmp_path.glob(".dest.unpack-*"))
