"""Property tests: crafted archives, manifests and bundles never make Amber write outside
DEST (or the store), never create a special file or a special mode bit, never hang, and
fail only with an ``AmberError`` (or, for ``bin/amber-unpack``, its exit status 1).

Every example builds a fresh base directory holding a victim tree beside DEST; the whole
base (DEST and the store aside) must be byte-for-byte the same afterwards.
"""

from __future__ import annotations

import json
import os
import stat
import tempfile
from pathlib import Path

from helpers import bounded, crafted_archive, tree_snapshot
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from amber.errors import AmberError
from amber.ship import _relocate
from amber.ship.bundle import import_bundle
from amber.ship.pack import unpack
from amber.store import Store

SETTINGS = settings(
    max_examples=80,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
HANG = 30  # seconds: an example still running by then is a hang (SIGALRM fails it)

# Placeholders, replaced per example: @BASE@ the example's directory, @OLD@ the prefix
# the crafted manifest claims.
NAMES = [
    "a", "a/b", "bin/x", "bin", "lib", "lib/python3.11/site-packages/d.dist-info/RECORD",
    "conda-meta/p.json", "conda-meta", ".amber", ".amber/pack.json", "esc", "esc/victim.txt",
    "link", "link/x", "../up", "a/../../up2", "@BASE@/outside/abs", "./c", "bin/x.amber-tmp",
]  # fmt: skip
TARGETS = [
    "@BASE@/outside", "@BASE@/outside/victim.txt", "../outside", "../../", "..", ".", "a",
    "/", "@OLD@/bin/x", "@OLD@/../outside/victim.txt", "@OLD@", "bin", "esc", "/dev/zero",
]  # fmt: skip
MODES = [0o644, 0o755, 0o4755, 0o2755, 0o1777, 0o7777, 0o000]
KINDS = ["file"] * 4 + ["dir"] * 2 + ["symlink", "symlink", "hardlink", "fifo", "chr"]

names = st.sampled_from(NAMES)
crafted = st.tuples(
    names,
    st.sampled_from(KINDS),
    st.one_of(st.sampled_from(TARGETS), st.binary(max_size=64)),
    st.sampled_from(MODES),
)
manifest = st.one_of(
    st.fixed_dictionaries(
        {
            "prefix": st.sampled_from(["@OLD@", "@OLD@/", "relative", "/", 7]),
            "files": st.lists(
                st.one_of(
                    st.tuples(names, st.sampled_from(["text", "binary"])).map(list),
                    st.sampled_from([["a"], "a", 5, ["a", "octal"]]),
                ),
                max_size=4,
            ),  # fmt: skip
            "links": st.lists(st.one_of(names, st.just(3)), max_size=3),
        }
    ),
    st.binary(max_size=40),
)


@st.composite
def packs(draw: st.DrawFn) -> tuple[list[tuple], object]:
    """An env as `amber pack` writes one (files that embed the old prefix, links into it,
    a manifest naming them), then attacks mixed in: crafted members, crafted entries."""
    files = draw(st.lists(st.sampled_from(["bin/x", "lib/y.so", "share/z", "a"]), unique=True))
    links = draw(st.lists(st.sampled_from(["bin/l1", "lib/l2"]), unique=True))
    modes = [draw(st.sampled_from(["text", "binary"])) for _ in files]
    raw = [(f, "file", b"@OLD@/bin/x\0\0\0", draw(st.sampled_from(MODES))) for f in files]
    raw += [(link, "symlink", "@OLD@/bin/x", 0o777) for link in links]
    raw += draw(st.lists(crafted, max_size=3))
    entries = [[f, mode] for f, mode in zip(files, modes, strict=True)]
    entries += draw(st.lists(st.tuples(names, st.just("text")).map(list), max_size=1))
    links += draw(st.lists(names, max_size=1))
    honest = {"prefix": "@OLD@", "files": entries, "links": links}
    return raw, draw(st.one_of(st.just(honest), st.just(honest), st.none(), manifest))


def _fill(value: object, base: Path, old: str) -> object:
    if isinstance(value, str):
        return value.replace("@BASE@", str(base)).replace("@OLD@", old)
    if isinstance(value, list):
        return [_fill(v, base, old) for v in value]
    if isinstance(value, dict):
        return {k: _fill(v, base, old) for k, v in value.items()}
    return value


def _victims(base: Path, old: str) -> None:
    outside = base / "outside"
    outside.mkdir()
    (outside / "victim.txt").write_text(f"#!{old}/bin/python\n{old}\n")
    (outside / "link").symlink_to(f"{old}/lib")
    (outside / "abs").write_text("untouched\n")


def _members(raw: list[tuple], base: Path, old: str, data: object) -> list[tuple]:
    members = []
    for name, kind, payload, mode in raw:
        name = str(_fill(name, base, old))
        if kind in ("symlink", "hardlink"):
            payload = str(_fill(payload, base, old)) if isinstance(payload, str) else "a"
        elif kind == "file":
            text = _fill(payload, base, old) if isinstance(payload, str) else payload
            payload = text.encode() if isinstance(text, str) else text
            payload = payload.replace(b"@OLD@", old.encode()) + f"#!{old}/bin/py\n".encode()
        members.append((name, kind, payload, mode))
    if data is not None:
        text = data if isinstance(data, bytes) else json.dumps(_fill(data, base, old)).encode()
        members.append((".amber/pack.json", "file", text, 0o644))
    return members


def _check_tree(root: Path) -> None:
    """Only files, directories and links; no special mode bits; no hardlink out of it."""
    links: dict[tuple[int, int], int] = {}
    for top, dirs, files in os.walk(root):
        for name in dirs + files:
            info = os.lstat(os.path.join(top, name))
            kind = stat.S_IFMT(info.st_mode)
            assert kind in (stat.S_IFREG, stat.S_IFDIR, stat.S_IFLNK), (top, name, oct(kind))
            if kind != stat.S_IFLNK:
                assert not info.st_mode & 0o7000, (top, name, oct(info.st_mode))
            if kind == stat.S_IFREG and info.st_nlink > 1:
                key = (info.st_dev, info.st_ino)
                links[key] = links.get(key, 0) + 1
    outside = [key for key, count in links.items() if count != _nlink(key, root)]
    assert not outside, outside


def _nlink(key: tuple[int, int], root: Path) -> int:
    for top, _dirs, files in os.walk(root):
        for name in files:
            info = os.lstat(os.path.join(top, name))
            if (info.st_dev, info.st_ino) == key:
                return info.st_nlink
    return 0


@SETTINGS
@given(pack=packs(), fmt=st.sampled_from(["tar", "zip"]), system_tar=st.booleans())
def test_crafted_archives_unpack_only_inside_dest(tmp_path: Path, pack, fmt, system_tar):
    raw, data = pack
    base = Path(tempfile.mkdtemp(dir=tmp_path))
    old = str(base / "old-prefix")
    _victims(base, old)
    archive = crafted_archive(base / f"crafted.{fmt}", _members(raw, base, old, data), fmt)
    dest = base / "dest" / "env"
    before = tree_snapshot(base, skip=(archive, base / "dest"))
    path = os.environ["PATH"]
    try:
        if not system_tar:
            os.environ["PATH"] = str(base / "no-tools")  # Python's tarfile extracts
        with bounded(HANG):
            unpack(archive, dest)
        event("unpacked")
    except AmberError as exc:
        assert str(exc) and not dest.exists()
        event("refused")
    finally:
        os.environ["PATH"] = path
    assert tree_snapshot(base, skip=(archive, base / "dest")) == before
    assert not [p for p in (base / "dest").glob(".*") if p.name.startswith(".env.unpack-")]
    if dest.exists():
        _check_tree(dest)


@SETTINGS
@given(pack=packs())
def test_amber_unpack_relocates_only_inside_its_env(tmp_path: Path, pack):
    """What bin/amber-unpack runs (``_relocate.main``) on a tree tar already extracted."""
    raw, data = pack
    base = Path(tempfile.mkdtemp(dir=tmp_path))
    old = str(base / "old-prefix")
    _victims(base, old)
    env = base / "env"
    env.mkdir()
    for name, kind, payload, _mode in _members(raw, base, old, b"{}" if data is None else data):
        path = env / name
        if name.startswith("/") or ".." in name.split("/") or path.exists():
            continue  # tar would not have written it
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            if kind == "file":
                path.write_bytes(payload)
            elif kind == "dir":
                path.mkdir()
            elif kind == "symlink":
                path.symlink_to(payload)
            elif kind == "fifo":
                os.mkfifo(path)
        except OSError:
            continue  # through a link, under a file: tar would have refused it too
    before = tree_snapshot(base, skip=(env,))
    with bounded(HANG):
        status = _relocate.main(["amber-unpack", str(env)])
    assert status in (0, 1)
    event(f"exit {status}")
    assert tree_snapshot(base, skip=(env,)) == before


sha = st.sampled_from(["ab" * 32, "..", "AB" * 32, "0" * 63, "cd" * 32])
file_name = st.sampled_from(["p-1.0-0.conda", "..", ".", "../x.conda", "a/b", "x.whl", ""])
package = st.one_of(st.fixed_dictionaries({"sha256": sha, "file_name": file_name}), st.just(3))
bundle_manifest = st.one_of(
    st.fixed_dictionaries(
        {
            "amber_bundle": st.just(1),
            "envs": st.one_of(st.just([]), st.just(["x"]), st.just(4)),
            "platforms": st.one_of(st.just(["linux-64"]), st.just([5]), st.just("linux-64")),
            "packages": st.one_of(st.lists(package, max_size=3), st.just({})),
        }
    ),
    st.binary(max_size=30),
)
bundle_member = st.tuples(
    st.one_of(
        st.builds(lambda s, n: f"pkgs/{s}/{n}", sha, file_name),
        st.sampled_from(["locks/x.lock", "pkgs/../../up", "@BASE@/outside/abs", "other"]),
    ),
    st.sampled_from(["file", "file", "symlink", "hardlink", "fifo", "chr", "dir"]),
    st.one_of(st.sampled_from(TARGETS), st.binary(max_size=40)),
    st.sampled_from(MODES),
)


@SETTINGS
@given(data=bundle_manifest, raw=st.lists(bundle_member, max_size=5))
def test_crafted_bundles_import_only_into_the_store(tmp_path: Path, data, raw):
    base = Path(tempfile.mkdtemp(dir=tmp_path))
    old = str(base / "old-prefix")
    _victims(base, old)
    text = data if isinstance(data, bytes) else json.dumps(_fill(data, base, old)).encode()
    members = [("amber-bundle.json", "file", text, 0o644)]
    members += [m for m in _members(raw, base, old, None)]
    bundle = crafted_archive(base / "bundle.tar", members)
    home = base / "home"
    before = tree_snapshot(base, skip=(bundle, home))
    try:
        with bounded(HANG):
            import_bundle(bundle, Store(home), "linux-64")
        event("imported")
    except AmberError as exc:
        assert str(exc)
        event("refused")
    assert tree_snapshot(base, skip=(bundle, home)) == before
    if home.exists():
        _check_tree(home)
