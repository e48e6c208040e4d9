"""The test conda packages and channels are real: raw rattler solves and installs them."""

from __future__ import annotations

import asyncio
import bz2
import io
import json
import os
import platform
import subprocess
import sys
import tarfile
import urllib.error
import urllib.request
import zipfile
from pathlib import Path

import condapkgs
import pytest
import rattler
import zstandard
from rattler import Gateway
from rattler.exceptions import GatewayError, SolverError

PLATFORMS = ["linux-64", "noarch"]
XY = "{}.{}".format(*sys.version_info[:2])
INSTALL_SPECS = ["python", "six", "greetlib", "footool", "datafiles"]


def solve(channel: str, specs: list[str], cache: Path) -> list:
    return asyncio.run(
        rattler.solve(
            sources=[channel],
            specs=specs,
            platforms=PLATFORMS,
            gateway=Gateway(cache_dir=cache),
        )
    )


def install(records: list, prefix: Path, cache: Path) -> None:
    asyncio.run(rattler.install(records, prefix, cache_dir=cache, show_progress=False))


def versions(records) -> dict[str, str]:
    return {r.name.normalized: str(r.version) for r in records}


@pytest.fixture(scope="module", params=["file", "http"])
def installed(request, conda_channel_url, http_channel, tmp_path_factory):
    """(prefix, records) of INSTALL_SPECS installed from the file:// or http:// channel."""
    channel = conda_channel_url if request.param == "file" else http_channel
    work = tmp_path_factory.mktemp(f"install-{request.param}")
    records = solve(channel, INSTALL_SPECS, work / "repodata-cache")
    prefix = work / "env"
    install(records, prefix, work / "pkgs")
    return prefix, records


# --------------------------------------------------------------------------- #
# archives
# --------------------------------------------------------------------------- #


def _tar_members(data: bytes) -> dict[str, tarfile.TarInfo | bytes]:
    out: dict = {}
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        for m in tar.getmembers():
            out[m.name] = m if not m.isfile() else tar.extractfile(m).read()
            out.setdefault("__infos__", {})[m.name] = m
    return out


def test_archives_are_deterministic_and_well_formed(tmp_path, conda_packages):
    by_name = {(p.name, p.version): p for p in conda_packages}

    # .conda: uncompressed zip with metadata.json + info/pkg zstd tarballs
    greet = by_name[("greetlib", "1.0")]
    a = condapkgs.write_package(greet, tmp_path / "a")
    b = condapkgs.write_package(greet, tmp_path / "b")
    assert a.read_bytes() == b.read_bytes()
    assert a.name == "greetlib-1.0-pyh_0.conda"
    with zipfile.ZipFile(a) as zf:
        assert {i.compress_type for i in zf.infolist()} == {zipfile.ZIP_STORED}
        assert set(zf.namelist()) == {
            "metadata.json",
            "info-greetlib-1.0-pyh_0.tar.zst",
            "pkg-greetlib-1.0-pyh_0.tar.zst",
        }
        assert json.loads(zf.read("metadata.json")) == {"conda_pkg_format_version": 2}
        dctx = zstandard.ZstdDecompressor()
        info = _tar_members(dctx.decompress(zf.read("info-greetlib-1.0-pyh_0.tar.zst")))
        pkg = _tar_members(dctx.decompress(zf.read("pkg-greetlib-1.0-pyh_0.tar.zst")))
    index = json.loads(info["info/index.json"])
    assert index["noarch"] == "python" and index["subdir"] == "noarch"
    assert index["arch"] is None and index["platform"] is None
    assert index["depends"] == ["python >=3.8", "libfoo >=1.0,<3"]
    assert index["timestamp"] == condapkgs.DEFAULT_TIMESTAMP_MS
    link = json.loads(info["info/link.json"])
    assert link == {
        "noarch": {"type": "python", "entry_points": ["greet = greetlib.cli:main"]},
        "package_metadata_version": 1,
    }
    paths = json.loads(info["info/paths.json"])
    assert paths["paths_version"] == 1
    assert {p["_path"] for p in paths["paths"]} == {n for n in pkg if n != "__infos__"}
    assert "site-packages/greetlib-1.0.dist-info/RECORD" in pkg
    assert all(not n.startswith("info/") for n in pkg if n != "__infos__")

    # .tar.bz2: one tarball, info/ first, placeholders declared
    foot = by_name[("footool", "1.0")]
    c = condapkgs.write_package(foot, tmp_path / "c")
    assert c.name == "footool-1.0-0.tar.bz2"
    assert c.read_bytes() == condapkgs.package_bytes(foot)
    members = _tar_members(bz2.decompress(c.read_bytes()))
    names = [n for n in members["__infos__"]]
    assert names[0].startswith("info/")
    assert members["__infos__"]["bin/footool"].mode == 0o755
    index = json.loads(members["info/index.json"])
    assert (index["arch"], index["platform"], index["subdir"]) == ("x86_64", "linux", "linux-64")
    assert "noarch" not in index
    has_prefix = members["info/has_prefix"].decode().splitlines()
    assert f"{condapkgs.PLACEHOLDER} text bin/footool" in has_prefix
    assert f"{condapkgs.LONG_PLACEHOLDER} binary share/footool/prefix.bin" in has_prefix
    entries = {p["_path"]: p for p in json.loads(members["info/paths.json"])["paths"]}
    assert entries["bin/footool"]["file_mode"] == "text"
    assert entries["bin/footool"]["prefix_placeholder"] == condapkgs.PLACEHOLDER
    assert entries["share/footool/prefix.bin"]["file_mode"] == "binary"
    assert entries["etc/conda/activate.d/footool.sh"]["path_type"] == "hardlink"
    assert members["info/files"].decode().splitlines() == sorted(foot.files)

    # symlinks are stored as tar symlinks
    py = by_name[("python", platform.python_version())]
    d = condapkgs.write_package(py, tmp_path / "d")
    with zipfile.ZipFile(d) as zf:
        raw = zf.read(f"pkg-{py.dist_name}.tar.zst")
    pkg = _tar_members(zstandard.ZstdDecompressor().decompress(raw))
    assert pkg["__infos__"]["bin/python"].issym()
    assert b"include-system-site-packages = false" in pkg["pyvenv.cfg"]


def test_conda_from_wheel_keeps_dist_info(conda_packages):
    six = next(p for p in conda_packages if p.name == "six")
    assert six.version == "1.16.0" and six.noarch == "python" and six.subdir == "noarch"
    assert six.depends == ("python",)
    assert "site-packages/six.py" in six.files
    assert six.files["site-packages/six-1.16.0.dist-info/INSTALLER"] == b"conda\n"
    record = six.files["site-packages/six-1.16.0.dist-info/RECORD"].decode()
    assert "six-1.16.0.dist-info/INSTALLER,sha256=" in record
    assert "six.py,sha256=" in record


def test_channel_is_indexed(conda_channel):
    linux = json.loads((conda_channel / "linux-64" / "repodata.json").read_text())
    noarch = json.loads((conda_channel / "noarch" / "repodata.json").read_text())
    assert set(linux["packages"]) == {"footool-1.0-0.tar.bz2"}
    assert set(linux["packages.conda"]) == {
        f"python-{platform.python_version()}-host_0.conda",
        "libfoo-1.0-0.conda",
        "libfoo-2.0-0.conda",
        "oldlib-1.0-0.conda",
    }
    assert set(noarch["packages.conda"]) == {
        "six-1.16.0-pyh_0.conda",
        "greetlib-1.0-pyh_0.conda",
        "datafiles-0.1-0.conda",
    }
    assert noarch["packages.conda"]["greetlib-1.0-pyh_0.conda"]["noarch"] == "python"
    assert linux["packages.conda"]["libfoo-2.0-0.conda"]["run_exports"] == {
        "weak": ["libfoo >=2.0,<3"]
    }
    for subdir in ("linux-64", "noarch"):
        assert (conda_channel / subdir / "repodata.json.zst").is_file()
        assert (conda_channel / subdir / "repodata_shards.msgpack.zst").is_file()


# --------------------------------------------------------------------------- #
# solving
# --------------------------------------------------------------------------- #


def test_libfoo_versions(conda_channel_url, tmp_path):
    assert versions(solve(conda_channel_url, ["libfoo"], tmp_path)) == {"libfoo": "2.0"}
    assert versions(solve(conda_channel_url, ["libfoo <2"], tmp_path)) == {"libfoo": "1.0"}
    assert versions(solve(conda_channel_url, ["oldlib"], tmp_path)) == {
        "oldlib": "1.0",
        "libfoo": "1.0",
    }


@pytest.mark.parametrize("which", ["file", "http"])
def test_unsatisfiable(which, conda_channel_url, http_channel, tmp_path):
    channel = conda_channel_url if which == "file" else http_channel
    with pytest.raises(SolverError):
        solve(channel, ["footool", "oldlib"], tmp_path)


def test_plain_repodata_channel_over_http(tmp_path):
    root = condapkgs.build_channel(
        tmp_path / "plain",
        [condapkgs.libfoo_package("1.0"), condapkgs.libfoo_package("2.0")],
        write_zst=False,
        write_shards=False,
    )
    assert not (root / "linux-64" / "repodata.json.zst").exists()
    with condapkgs.serve_directory(root) as url:
        records = solve(url, ["libfoo <2"], tmp_path / "cache")
        assert versions(records) == {"libfoo": "1.0"}
        assert records[0].url == f"{url}/linux-64/libfoo-1.0-0.conda"
        assert "/linux-64/repodata.json" in url.requests


def test_server_can_be_stopped_midway(conda_channel, tmp_path):
    with condapkgs.serve_directory(conda_channel) as url:
        assert url.startswith("http://127.0.0.1:")
        with urllib.request.urlopen(f"{url}/noarch/repodata.json") as resp:
            assert json.load(resp)["info"]["subdir"] == "noarch"
        url.stop()
        with pytest.raises(urllib.error.URLError):
            urllib.request.urlopen(f"{url}/noarch/repodata.json", timeout=5)
        with pytest.raises(GatewayError):
            solve(url, ["libfoo"], tmp_path)


# --------------------------------------------------------------------------- #
# installed environments
# --------------------------------------------------------------------------- #


def test_solution(installed):
    _, records = installed
    assert versions(records) == {
        "python": platform.python_version(),
        "six": "1.16.0",
        "greetlib": "1.0",
        "footool": "1.0",
        "datafiles": "0.1",
        "libfoo": "2.0",
    }
    filenames = {r.file_name for r in records}
    assert any(f.endswith(".conda") for f in filenames)
    assert "footool-1.0-0.tar.bz2" in filenames


def test_python_runs_in_prefix(installed):
    prefix, _ = installed
    out = subprocess.run(
        [
            prefix / "bin" / "python",
            "-c",
            "import sys, six, greetlib; print(sys.prefix); "
            "print(six.__file__); print(greetlib.__file__)",
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.splitlines()
    site = prefix / "lib" / f"python{XY}" / "site-packages"
    assert os.path.realpath(out[0]) == os.path.realpath(prefix)
    assert os.path.realpath(out[1]) == os.path.realpath(site / "six.py")
    assert os.path.realpath(out[2]) == os.path.realpath(site / "greetlib" / "__init__.py")
    assert (site / "greetlib-1.0.dist-info" / "INSTALLER").read_text() == "conda\n"
    assert (prefix / "pyvenv.cfg").is_file()
    assert (prefix / "bin" / f"python{XY}").is_symlink()


def test_entry_point(installed):
    prefix, _ = installed
    greet = prefix / "bin" / "greet"
    assert greet.read_text().startswith(f"#!{prefix}/bin/python")
    out = subprocess.run([greet], check=True, capture_output=True, text=True).stdout
    assert out.strip() == "hello from greetlib"


def test_text_placeholder_rewritten(installed):
    prefix, _ = installed
    out = subprocess.run([prefix / "bin" / "footool"], check=True, capture_output=True, text=True)
    assert out.stdout.splitlines() == [f"footool prefix: {prefix}", "2.0"]
    assert condapkgs.PLACEHOLDER not in (prefix / "bin" / "footool").read_text()


def test_binary_placeholder_rewritten(installed, conda_packages):
    prefix, _ = installed
    data = (prefix / "share" / "footool" / "prefix.bin").read_bytes()
    footool = next(p for p in conda_packages if p.name == "footool")
    original = footool.files["share/footool/prefix.bin"]
    assert len(data) == len(original)
    assert condapkgs.LONG_PLACEHOLDER.encode() not in data
    assert str(prefix).encode() + b"/share/footool\0" in data
    assert data.startswith(b"\x7fFOOBIN\0") and data.endswith(b"\0END\n")


def test_activation_script(installed):
    prefix, _ = installed
    script = prefix / "etc" / "conda" / "activate.d" / "footool.sh"
    assert script.is_file()
    out = subprocess.run(
        ["sh", "-c", f'. "{script}"; echo "$FOOTOOL_ACTIVE $FOOTOOL_HOME"'],
        env={**os.environ, "CONDA_PREFIX": str(prefix)},
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    assert out == f"1 {prefix}/share/footool"
    assert (prefix / "share" / "datafiles" / "README.txt").is_file()


def test_uv_installs_into_host_python_prefix(conda_channel_url, tmp_path):
    from uv import find_uv_bin

    records = solve(conda_channel_url, ["python"], tmp_path / "cache")
    prefix = tmp_path / "env"
    install(records, prefix, tmp_path / "pkgs")
    python = prefix / "bin" / "python"
    subprocess.run(
        [find_uv_bin(), "pip", "install", "--quiet", "--python", python, "iniconfig==2.0.0"],
        check=True,
    )
    site = prefix / "lib" / f"python{XY}" / "site-packages"
    assert (site / "iniconfig" / "__init__.py").is_file()
    out = subprocess.run(
        [python, "-c", "import iniconfig, sys; print(iniconfig.__file__); print(sys.prefix)"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.splitlines()
    assert os.path.realpath(out[0]).startswith(os.path.realpath(site))
    assert os.path.realpath(out[1]) == os.path.realpath(prefix)
