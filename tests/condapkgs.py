"""Small but real conda packages and channels for Amber's tests.

The machines that build and test Amber reach PyPI but no conda channel, so the
tests build their own.  Everything in here produces genuine artefacts: conda
archives in both formats (``.conda`` and ``.tar.bz2``) with ``info/index.json``,
``info/paths.json``, ``info/files``, ``info/has_prefix``, ``info/link.json``
(``noarch: python`` entry points) and ``info/run_exports.json``; channels are
indexed with ``rattler.index.index_fs`` and can be used as ``file://`` URLs or
served over HTTP from a loopback server.

Plain functions only: no pytest in here (``conftest.py`` wraps them in
fixtures).

Public API
----------
- :class:`Symlink`, :class:`CondaPackage`, :func:`write_package`
- :func:`python_dist_info` (a ``*.dist-info`` directory with a valid RECORD)
- :func:`conda_from_wheel`, :func:`download_wheel`
- :func:`host_python_package`
- :func:`default_packages`
- :func:`build_channel`
- :func:`serve_directory` / :class:`ServedDirectory`
"""

from __future__ import annotations

import asyncio
import base64
import bz2
import contextlib
import csv
import hashlib
import http.server
import io
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import threading
import zipfile
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

#: conda's classic prefix placeholder (what ``conda-build`` used for years).
PLACEHOLDER = "/opt/anaconda1anaconda2anaconda3"

#: A 255-character placeholder in the style of modern conda-build / rattler-build
#: (``.../_h_env_placehold_placehold_...``).  Binary-mode replacement can only
#: *shrink* the embedded C string (rattler refuses "target prefix cannot be
#: longer than the placeholder prefix"), so binary files need a placeholder
#: longer than any test prefix; the 32-character classic one is too short for
#: pytest's ``tmp_path`` prefixes.
_BLD = "/opt/conda/conda-bld/amber-test_1704067200000"
LONG_PLACEHOLDER = (_BLD + "/_h_env" + "_placehold" * 30)[:255]

#: 2024-01-01T00:00:00Z in milliseconds: the default (deterministic) package timestamp.
DEFAULT_TIMESTAMP_MS = 1704067200000

#: Size of the NUL padding that follows the placeholder in binary-mode files.
BINARY_PADDING = 256

SIX_VERSION = "1.16.0"

_ARCH_OF_SUBDIR = {
    "linux-64": ("x86_64", "linux"),
    "linux-aarch64": ("aarch64", "linux"),
    "osx-64": ("x86_64", "osx"),
    "osx-arm64": ("arm64", "osx"),
    "win-64": ("x86_64", "win"),
    "noarch": (None, None),
}


@dataclass(frozen=True)
class Symlink:
    """Marker for a file entry that is a symbolic link pointing at ``target``."""

    target: str


FileContent = bytes | Symlink


@dataclass(frozen=True)
class CondaPackage:
    """Declarative description of one conda package.

    ``files`` maps paths relative to the package root (forward slashes) to the
    file content (``bytes``) or a :class:`Symlink`.  For ``noarch="python"``
    packages, Python files go under ``site-packages/`` and scripts under
    ``python-scripts/`` as conda-build lays them out; the installer relocates
    them to ``lib/pythonX.Y/site-packages`` and ``bin/``.

    ``prefix_files`` maps paths (which must be in ``files``) to ``"text"`` or
    ``"binary"``.  Text files must contain ``placeholder`` (default: conda's
    classic :data:`PLACEHOLDER`); binary files must contain
    ``binary_placeholder`` (default: the 255-character :data:`LONG_PLACEHOLDER`,
    because binary replacement cannot grow the string) and should be built
    with :func:`binary_placeholder_blob` so the C string is NUL-terminated and
    padded.  Pass ``binary_placeholder=PLACEHOLDER`` to get the classic layout
    (only relocatable to prefixes of at most 32 characters).

    Files under ``bin/`` and ``python-scripts/`` and those listed in
    ``executables`` are stored with mode 0755, others 0644.
    """

    name: str
    version: str
    build: str = "0"
    build_number: int = 0
    subdir: str = "linux-64"
    depends: tuple[str, ...] = ()
    files: Mapping[str, FileContent] = field(default_factory=dict)
    noarch: Literal["python", "generic"] | None = None
    entry_points: tuple[str, ...] = ()
    prefix_files: Mapping[str, Literal["text", "binary"]] = field(default_factory=dict)
    fmt: Literal[".conda", ".tar.bz2"] = ".conda"
    timestamp: int = DEFAULT_TIMESTAMP_MS
    license: str | None = "BSD-3-Clause"
    constrains: tuple[str, ...] = ()
    run_exports: Mapping[str, tuple[str, ...]] | None = None
    executables: tuple[str, ...] = ()
    placeholder: str = PLACEHOLDER
    binary_placeholder: str = LONG_PLACEHOLDER
    track_features: str | None = None  # conda's legacy features (e.g. "nomkl")

    def placeholder_for(self, path: str) -> str:
        """The prefix placeholder recorded for prefix file ``path``."""
        return self.binary_placeholder if self.prefix_files[path] == "binary" else self.placeholder

    def __post_init__(self) -> None:
        if self.fmt not in (".conda", ".tar.bz2"):
            raise ValueError(f"unknown package format {self.fmt!r}")
        if self.noarch not in (None, "python", "generic"):
            raise ValueError(f"unknown noarch kind {self.noarch!r}")
        if self.noarch and self.subdir != "noarch":
            raise ValueError("noarch packages must have subdir='noarch'")
        if self.entry_points and self.noarch != "python":
            raise ValueError("entry_points are only supported for noarch: python packages")
        for path, mode in self.prefix_files.items():
            if path not in self.files:
                raise ValueError(f"prefix file {path!r} is not in files")
            if mode not in ("text", "binary"):
                raise ValueError(f"prefix mode for {path!r} must be 'text' or 'binary'")
            content = self.files[path]
            placeholder = self.placeholder_for(path)
            if isinstance(content, Symlink) or placeholder.encode() not in content:
                raise ValueError(f"prefix file {path!r} does not contain {placeholder!r}")
            if " " in placeholder:
                raise ValueError("placeholders must not contain spaces (info/has_prefix format)")
        for path in self.files:
            if path.startswith("/") or path.startswith("info/") or "\\" in path:
                raise ValueError(f"invalid package path {path!r}")

    @property
    def dist_name(self) -> str:
        """``<name>-<version>-<build>`` (the archive name without extension)."""
        return f"{self.name}-{self.version}-{self.build}"

    @property
    def filename(self) -> str:
        return self.dist_name + self.fmt


def binary_placeholder_blob(
    before: bytes = b"",
    suffix: bytes = b"",
    after: bytes = b"",
    padding: int = BINARY_PADDING,
    placeholder: str = LONG_PLACEHOLDER,
) -> bytes:
    """Bytes of a "binary" file embedding the placeholder in a NUL-padded C string.

    Layout: ``before`` + placeholder + ``suffix`` + ``padding`` NUL bytes +
    ``after``.  The installer rewrites the C string (placeholder + suffix) with
    the new prefix and NUL-pads it back to the same length, so file size and
    the offsets of ``after`` are unchanged.
    """
    if b"\0" in suffix:
        raise ValueError("suffix is part of the C string and must not contain NUL")
    return before + placeholder.encode() + suffix + b"\0" * max(padding, 1) + after


# --------------------------------------------------------------------------- #
# archive writing
# --------------------------------------------------------------------------- #


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _symlink_target_bytes(pkg: CondaPackage, path: str, link: Symlink) -> bytes | None:
    """Content of the file a symlink resolves to (for paths.json), if known."""
    target = link.target
    if os.path.isabs(target):
        try:
            return Path(target).read_bytes()
        except OSError:
            return None
    resolved = os.path.normpath(os.path.join(os.path.dirname(path), target)).replace(os.sep, "/")
    content = pkg.files.get(resolved)
    if isinstance(content, bytes):
        return content
    return None


def _index_json(pkg: CondaPackage) -> dict:
    arch, plat = _ARCH_OF_SUBDIR.get(pkg.subdir, (None, None))
    if pkg.subdir not in _ARCH_OF_SUBDIR:
        plat, _, arch = pkg.subdir.partition("-")
    index: dict = {
        "arch": arch,
        "build": pkg.build,
        "build_number": pkg.build_number,
        "depends": list(pkg.depends),
        "name": pkg.name,
        "platform": plat,
        "subdir": pkg.subdir,
        "timestamp": pkg.timestamp,
        "version": pkg.version,
    }
    if pkg.constrains:
        index["constrains"] = list(pkg.constrains)
    if pkg.license is not None:
        index["license"] = pkg.license
    if pkg.noarch is not None:
        index["noarch"] = pkg.noarch
    if pkg.track_features:
        index["track_features"] = pkg.track_features
    return index


def _paths_json(pkg: CondaPackage) -> dict:
    entries = []
    for path in sorted(pkg.files):
        content = pkg.files[path]
        entry: dict = {"_path": path}
        if isinstance(content, Symlink):
            entry["path_type"] = "softlink"
            target_bytes = _symlink_target_bytes(pkg, path, content)
            if target_bytes is not None:
                entry["sha256"] = _sha256(target_bytes)
                entry["size_in_bytes"] = len(target_bytes)
        else:
            entry["path_type"] = "hardlink"
            entry["sha256"] = _sha256(content)
            entry["size_in_bytes"] = len(content)
            mode = pkg.prefix_files.get(path)
            if mode is not None:
                entry["file_mode"] = mode
                entry["prefix_placeholder"] = pkg.placeholder_for(path)
        entries.append(entry)
    return {"paths": entries, "paths_version": 1}


def _dumps(obj: object) -> bytes:
    return (json.dumps(obj, indent=2, sort_keys=True) + "\n").encode()


def _info_files(pkg: CondaPackage) -> dict[str, bytes]:
    info: dict[str, bytes] = {
        "info/index.json": _dumps(_index_json(pkg)),
        "info/paths.json": _dumps(_paths_json(pkg)),
        "info/files": "".join(f"{p}\n" for p in sorted(pkg.files)).encode(),
    }
    if pkg.prefix_files:
        info["info/has_prefix"] = "".join(
            f"{pkg.placeholder_for(p)} {pkg.prefix_files[p]} {p}\n"
            for p in sorted(pkg.prefix_files)
        ).encode()
    if pkg.noarch == "python":
        info["info/link.json"] = _dumps(
            {
                "noarch": {"type": "python", "entry_points": list(pkg.entry_points)},
                "package_metadata_version": 1,
            }
        )
    if pkg.run_exports:
        info["info/run_exports.json"] = _dumps(
            {kind: list(specs) for kind, specs in pkg.run_exports.items()}
        )
    return info


def _file_mode(pkg: CondaPackage, path: str) -> int:
    if path in pkg.executables or path.startswith(("bin/", "python-scripts/")):
        return 0o755
    return 0o644


def _tar_bytes(pkg: CondaPackage, members: Mapping[str, FileContent]) -> bytes:
    """An uncompressed, deterministic tar of ``members`` (info/ first, then sorted)."""
    mtime = pkg.timestamp // 1000
    buf = io.BytesIO()
    order = sorted(members, key=lambda p: (not p.startswith("info/"), p))
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.GNU_FORMAT) as tar:
        for path in order:
            content = members[path]
            ti = tarfile.TarInfo(path)
            ti.mtime = mtime
            ti.uid = ti.gid = 0
            ti.uname = ti.gname = ""
            if isinstance(content, Symlink):
                ti.type = tarfile.SYMTYPE
                ti.linkname = content.target
                ti.mode = 0o777
                tar.addfile(ti)
            else:
                ti.size = len(content)
                ti.mode = 0o644 if path.startswith("info/") else _file_mode(pkg, path)
                tar.addfile(ti, io.BytesIO(content))
    return buf.getvalue()


def _zstd(data: bytes) -> bytes:
    import zstandard  # dev dependency; imported lazily so the module imports without it

    return zstandard.ZstdCompressor(level=10, write_content_size=True).compress(data)


def _zip_add(zf: zipfile.ZipFile, name: str, data: bytes) -> None:
    zi = zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0))
    zi.compress_type = zipfile.ZIP_STORED
    zi.external_attr = 0o644 << 16
    zi.create_system = 3
    zf.writestr(zi, data)


def package_bytes(pkg: CondaPackage) -> bytes:
    """The complete archive of ``pkg`` in its format, as bytes."""
    info = _info_files(pkg)
    if pkg.fmt == ".tar.bz2":
        members: dict[str, FileContent] = dict(info)
        members.update(pkg.files)
        return bz2.compress(_tar_bytes(pkg, members), 9)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_STORED) as zf:
        _zip_add(zf, "metadata.json", json.dumps({"conda_pkg_format_version": 2}).encode())
        _zip_add(zf, f"pkg-{pkg.dist_name}.tar.zst", _zstd(_tar_bytes(pkg, dict(pkg.files))))
        _zip_add(zf, f"info-{pkg.dist_name}.tar.zst", _zstd(_tar_bytes(pkg, info)))
    return buf.getvalue()


def write_package(pkg: CondaPackage, subdir_dir: os.PathLike[str] | str) -> Path:
    """Write ``pkg`` as a real conda archive into the directory ``subdir_dir``.

    ``subdir_dir`` is the channel subdirectory (e.g. ``<channel>/linux-64``); it
    is created if needed.  Returns the path of the archive.
    """
    subdir_dir = Path(subdir_dir)
    subdir_dir.mkdir(parents=True, exist_ok=True)
    out = subdir_dir / pkg.filename
    tmp = out.with_name(out.name + ".part")
    tmp.write_bytes(package_bytes(pkg))
    os.replace(tmp, out)
    return out


# --------------------------------------------------------------------------- #
# python packages
# --------------------------------------------------------------------------- #


def _record_hash(data: bytes) -> str:
    digest = hashlib.sha256(data).digest()
    return "sha256=" + base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def _record_bytes(dist_info: str, files: Mapping[str, bytes]) -> bytes:
    """RECORD content for ``files`` (paths relative to site-packages)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    record_path = f"{dist_info}/RECORD"
    for path in sorted(files):
        if path == record_path:
            continue
        writer.writerow([path, _record_hash(files[path]), len(files[path])])
    writer.writerow([record_path, "", ""])
    return out.getvalue().encode()


def python_dist_info(
    name: str,
    version: str,
    files: Mapping[str, bytes],
    entry_points: Iterable[str] = (),
    installer: str = "conda",
) -> dict[str, bytes]:
    """A ``<name>-<version>.dist-info`` directory for ``files``.

    ``files`` are paths relative to site-packages.  Returns the dist-info files
    (METADATA, INSTALLER, entry_points.txt when given, RECORD covering ``files``
    and the dist-info itself), keyed relative to site-packages.
    """
    dist = f"{re.sub(r'[-_.]+', '_', name)}-{version}.dist-info"
    meta: dict[str, bytes] = {
        f"{dist}/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n".encode(),
        f"{dist}/INSTALLER": f"{installer}\n".encode(),
    }
    eps = list(entry_points)
    if eps:
        lines = ["[console_scripts]"]
        for ep in eps:
            cmd, _, target = ep.partition("=")
            lines.append(f"{cmd.strip()} = {target.strip()}")
        meta[f"{dist}/entry_points.txt"] = ("\n".join(lines) + "\n").encode()
    everything = {**files, **meta}
    meta[f"{dist}/RECORD"] = _record_bytes(dist, everything)
    return meta


def _console_scripts(entry_points_txt: str) -> tuple[str, ...]:
    scripts = []
    section = None
    for raw in entry_points_txt.splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            section = line[1:-1].strip()
            continue
        if section == "console_scripts" and "=" in line:
            cmd, _, target = line.partition("=")
            scripts.append(f"{cmd.strip()} = {target.strip()}")
    return tuple(scripts)


def conda_from_wheel(
    wheel_path: os.PathLike[str] | str,
    depends: Iterable[str] = ("python",),
    build: str = "pyh_0",
    fmt: Literal[".conda", ".tar.bz2"] = ".conda",
) -> CondaPackage:
    """Repackage a pure-Python wheel as a ``noarch: python`` conda package.

    Every wheel file goes under ``site-packages/`` (``*.data/purelib|platlib``
    merged in, ``*.data/scripts`` under ``python-scripts/``), the ``*.dist-info``
    directory is kept with an ``INSTALLER`` file containing ``conda`` (RECORD
    updated accordingly), ``console_scripts`` become conda entry points, and the
    name/version come from the wheel file name.
    """
    wheel_path = Path(wheel_path)
    parts = wheel_path.name[: -len(".whl")].split("-")
    if not wheel_path.name.endswith(".whl") or len(parts) < 5:
        raise ValueError(f"not a wheel file name: {wheel_path.name}")
    dist_name, version = parts[0], parts[1]
    conda_name = re.sub(r"[-_.]+", "-", dist_name).lower()

    site: dict[str, bytes] = {}
    scripts: dict[str, bytes] = {}
    with zipfile.ZipFile(wheel_path) as zf:
        for zi in zf.infolist():
            if zi.is_dir():
                continue
            name = zi.filename
            data = zf.read(zi)
            top = name.split("/", 1)[0]
            if top.endswith(".data"):
                _, kind, rest = name.split("/", 2)
                if kind in ("purelib", "platlib"):
                    site[rest] = data
                elif kind == "scripts":
                    scripts[rest] = data
                else:
                    raise ValueError(f"unsupported wheel data dir {kind!r} in {wheel_path.name}")
            else:
                site[name] = data

    dist_infos = {p.split("/", 1)[0] for p in site if p.split("/", 1)[0].endswith(".dist-info")}
    if len(dist_infos) != 1:
        raise ValueError(f"expected exactly one .dist-info in {wheel_path.name}, got {dist_infos}")
    dist_info = dist_infos.pop()
    site[f"{dist_info}/INSTALLER"] = b"conda\n"
    site.pop(f"{dist_info}/direct_url.json", None)
    site[f"{dist_info}/RECORD"] = _record_bytes(dist_info, site)
    entry_points: tuple[str, ...] = ()
    ep_txt = site.get(f"{dist_info}/entry_points.txt")
    if ep_txt is not None:
        entry_points = _console_scripts(ep_txt.decode())

    files: dict[str, FileContent] = {f"site-packages/{p}": d for p, d in site.items()}
    files.update({f"python-scripts/{p}": d for p, d in scripts.items()})
    return CondaPackage(
        name=conda_name,
        version=version,
        build=build,
        subdir="noarch",
        noarch="python",
        depends=tuple(depends),
        files=files,
        entry_points=entry_points,
        fmt=fmt,
    )


def download_wheel(
    requirement: str,
    wheel_dir: os.PathLike[str] | str,
    filename: str | None = None,
) -> Path:
    """Download ``requirement`` (e.g. ``"six==1.16.0"``) as a wheel from PyPI.

    Cached: if ``filename`` is given and already present in ``wheel_dir`` (or a
    wheel matching the pinned name/version is), nothing is downloaded.  Uses
    ``<this python> -m pip download``; the download goes into a temporary
    directory and is moved in atomically, so concurrent callers are safe.
    """
    wheel_dir = Path(wheel_dir)
    wheel_dir.mkdir(parents=True, exist_ok=True)

    def existing() -> Path | None:
        if filename is not None:
            p = wheel_dir / filename
            return p if p.is_file() else None
        name, sep, version = requirement.partition("==")
        if not sep:
            return None
        norm = re.sub(r"[-_.]+", "_", name).lower()
        for p in sorted(wheel_dir.glob("*.whl")):
            parts = p.name.split("-")
            if re.sub(r"[-_.]+", "_", parts[0]).lower() == norm and parts[1] == version:
                return p
        return None

    found = existing()
    if found is not None:
        return found
    with tempfile.TemporaryDirectory(dir=wheel_dir, prefix=".download-") as tmp:
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "--no-deps",
                "--only-binary",
                ":all:",
                "--disable-pip-version-check",
                "--quiet",
                "-d",
                tmp,
                requirement,
            ],
            check=True,
        )
        wheels = list(Path(tmp).glob("*.whl"))
        if len(wheels) != 1:
            raise RuntimeError(f"pip download {requirement} produced {wheels}")
        target = wheel_dir / wheels[0].name
        os.replace(wheels[0], target)
    return target


def _base_interpreter() -> Path:
    """The real (symlink-resolved) base interpreter, even when running in a venv."""
    xy = "{}.{}".format(*sys.version_info[:2])
    candidates = [
        getattr(sys, "_base_executable", None),
        os.path.join(sys.base_prefix, "bin", f"python{xy}"),
        os.path.join(sys.base_prefix, "bin", "python3"),
        sys.executable,
    ]
    for cand in candidates:
        if cand and os.path.isfile(cand):
            return Path(os.path.realpath(cand))
    raise RuntimeError("cannot locate the base Python interpreter")


def host_python_package(build: str = "host_0") -> CondaPackage:
    """A conda ``python`` package wrapping the host interpreter, venv-style.

    It holds ``pyvenv.cfg`` (``home`` = directory of the real base interpreter)
    and ``bin/python``, ``bin/python3``, ``bin/pythonX.Y`` as symlinks to that
    interpreter, plus a file in ``lib/pythonX.Y/site-packages/`` so that
    directory exists.  Installed into a prefix, ``<prefix>/bin/python`` runs
    with ``sys.prefix == <prefix>`` and pip/uv install into the prefix's
    site-packages, so mixed conda + PyPI environments run real code.
    """
    version = platform.python_version()
    xy = "{}.{}".format(*sys.version_info[:2])
    real = _base_interpreter()
    cfg = (
        f"home = {real.parent}\n"
        "include-system-site-packages = false\n"
        f"version = {version}\n"
        f"executable = {real}\n"
    ).encode()
    files: dict[str, FileContent] = {
        "pyvenv.cfg": cfg,
        "bin/python": Symlink(str(real)),
        "bin/python3": Symlink(str(real)),
        f"bin/python{xy}": Symlink(str(real)),
        f"lib/python{xy}/site-packages/README.txt": (
            b"site-packages of a test conda 'python' package wrapping the host interpreter\n"
        ),
    }
    return CondaPackage(
        name="python",
        version=version,
        build=build,
        subdir="linux-64",
        files=files,
        license="PSF-2.0",
    )


# --------------------------------------------------------------------------- #
# the standard test set
# --------------------------------------------------------------------------- #

_GREETLIB_INIT = b'"""greetlib: a tiny test library."""\n__version__ = "1.0"\n'
_GREETLIB_CLI = b"""def main():
    print("hello from greetlib")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
"""

_FOOTOOL_SCRIPT = f"""#!/bin/sh
# footool: a test tool whose build prefix is rewritten at install time.
echo "footool prefix: {PLACEHOLDER}"
cat "{PLACEHOLDER}/lib/libfoo.txt"
""".encode()

_FOOTOOL_ACTIVATE = b"""export FOOTOOL_ACTIVE=1
export FOOTOOL_HOME="$CONDA_PREFIX/share/footool"
"""

_FOOTOOL_DEACTIVATE = b"""unset FOOTOOL_ACTIVE
unset FOOTOOL_HOME
"""


def libfoo_package(version: str, fmt: Literal[".conda", ".tar.bz2"] = ".conda") -> CondaPackage:
    major = version.split(".")[0]
    return CondaPackage(
        name="libfoo",
        version=version,
        subdir="linux-64",
        files={"lib/libfoo.txt": f"{version}\n".encode()},
        run_exports={"weak": (f"libfoo >={version},<{int(major) + 1}",)},
        fmt=fmt,
    )


def greetlib_package() -> CondaPackage:
    entry_points = ("greet = greetlib.cli:main",)
    site = {"greetlib/__init__.py": _GREETLIB_INIT, "greetlib/cli.py": _GREETLIB_CLI}
    site.update(python_dist_info("greetlib", "1.0", site, entry_points=entry_points))
    return CondaPackage(
        name="greetlib",
        version="1.0",
        build="pyh_0",
        subdir="noarch",
        noarch="python",
        depends=("python >=3.8", "libfoo >=1.0,<3"),
        files={f"site-packages/{p}": d for p, d in site.items()},
        entry_points=entry_points,
        fmt=".conda",
    )


def footool_package() -> CondaPackage:
    return CondaPackage(
        name="footool",
        version="1.0",
        subdir="linux-64",
        depends=("libfoo >=2,<3",),
        files={
            "bin/footool": _FOOTOOL_SCRIPT,
            "share/footool/prefix.bin": binary_placeholder_blob(
                before=b"\x7fFOOBIN\0", suffix=b"/share/footool", after=b"END\n"
            ),
            "etc/conda/activate.d/footool.sh": _FOOTOOL_ACTIVATE,
            "etc/conda/deactivate.d/footool.sh": _FOOTOOL_DEACTIVATE,
        },
        prefix_files={"bin/footool": "text", "share/footool/prefix.bin": "binary"},
        fmt=".tar.bz2",
    )


def datafiles_package() -> CondaPackage:
    return CondaPackage(
        name="datafiles",
        version="0.1",
        build="0",
        subdir="noarch",
        noarch="generic",
        files={"share/datafiles/README.txt": b"datafiles 0.1: plain data, noarch generic\n"},
    )


def oldlib_package() -> CondaPackage:
    return CondaPackage(
        name="oldlib",
        version="1.0",
        subdir="linux-64",
        depends=("libfoo <2",),
        files={"lib/oldlib.txt": b"oldlib 1.0\n"},
    )


def six_package(wheel_dir: os.PathLike[str] | str) -> CondaPackage:
    wheel = download_wheel(
        f"six=={SIX_VERSION}", wheel_dir, filename=f"six-{SIX_VERSION}-py2.py3-none-any.whl"
    )
    return conda_from_wheel(wheel, depends=("python",))


def default_packages(wheel_dir: os.PathLike[str] | str) -> list[CondaPackage]:
    """The standard test set.

    - ``python`` (host interpreter, venv-style), linux-64
    - ``six`` 1.16.0, noarch python, repackaged from the real PyPI wheel
      (downloaded once into ``wheel_dir``)
    - ``libfoo`` 1.0 and 2.0, linux-64, ``lib/libfoo.txt`` holds the version
    - ``footool`` 1.0, linux-64, ``.tar.bz2``, depends ``libfoo >=2,<3``; text and
      binary prefix files and an activation script
    - ``greetlib`` 1.0, noarch python, entry point ``greet``
    - ``datafiles`` 0.1, noarch generic
    - ``oldlib`` 1.0, linux-64, depends ``libfoo <2`` (conflicts with footool)
    """
    return [
        host_python_package(),
        six_package(wheel_dir),
        libfoo_package("1.0"),
        libfoo_package("2.0"),
        footool_package(),
        greetlib_package(),
        datafiles_package(),
        oldlib_package(),
    ]


# --------------------------------------------------------------------------- #
# channels
# --------------------------------------------------------------------------- #


def _run(coro):
    """``asyncio.run`` that also works when called from inside a running loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    result: dict = {}

    def target() -> None:
        try:
            result["value"] = asyncio.run(coro)
        except BaseException as exc:  # pragma: no cover - re-raised below
            result["error"] = exc

    t = threading.Thread(target=target)
    t.start()
    t.join()
    if "error" in result:
        raise result["error"]
    return result.get("value")


def index_channel(
    root: os.PathLike[str] | str, write_zst: bool = True, write_shards: bool = True
) -> None:
    """(Re-)index every subdir of the channel at ``root`` with ``rattler.index.index_fs``."""
    from rattler.index import index_fs

    _run(index_fs(Path(root), write_zst=write_zst, write_shards=write_shards, force=True))


def build_channel(
    root: os.PathLike[str] | str,
    packages: Iterable[CondaPackage],
    *,
    write_zst: bool = True,
    write_shards: bool = True,
) -> Path:
    """Write ``packages`` into ``root/<subdir>/`` and index the channel.

    ``noarch/`` and ``linux-64/`` always exist.  Every subdir gets a plain
    ``repodata.json``; by default also ``repodata.json.zst`` and sharded
    repodata (``repodata_shards.msgpack.zst`` + ``shards/``), like a modern
    channel.  Calling it again on the same root adds packages and re-indexes.
    Returns ``root``.
    """
    root = Path(root)
    for subdir in ("noarch", "linux-64"):
        (root / subdir).mkdir(parents=True, exist_ok=True)
    for pkg in packages:
        write_package(pkg, root / pkg.subdir)
    index_channel(root, write_zst=write_zst, write_shards=write_shards)
    # index_fs leaves an empty `.tmp/` scratch directory at the channel root.
    with contextlib.suppress(OSError):
        (root / ".tmp").rmdir()
    for subdir in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        if not (subdir / "repodata.json").is_file():
            raise RuntimeError(f"index_fs did not write {subdir / 'repodata.json'}")
    return root


class _Server(http.server.ThreadingHTTPServer):
    # The default backlog of 5 drops rattler's parallel downloads (they retry after ~1 s).
    request_queue_size = 128


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


class ServedDirectory(str):
    """The base URL (``http://127.0.0.1:PORT``) of a directory being served.

    A ``str`` so it can be used directly as a URL; ``stop()`` shuts the server
    down (idempotent), ``start()`` starts it again on the same port (best
    effort), ``requests`` lists the request paths seen so far.
    """

    server: http.server.ThreadingHTTPServer
    directory: Path
    requests: list[str]

    def __new__(
        cls,
        directory: Path,
        basic_auth: tuple[str, str] | None = None,
        token: str | None = None,
        query_token: str | None = None,
    ) -> ServedDirectory:
        requests: list[str] = []
        expected = (
            "Basic " + base64.b64encode(":".join(basic_auth).encode()).decode()
            if basic_auth
            else None
        )

        class Handler(_QuietHandler):
            def __init__(self, *args, **kwargs):
                super().__init__(*args, directory=str(directory), **kwargs)

            def send_head(self):
                requests.append(self.path)
                if expected is not None and self.headers.get("Authorization") != expected:
                    self.send_response(401)
                    self.send_header("WWW-Authenticate", 'Basic realm="amber-test"')
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return None
                if token is not None:
                    if not self.path.startswith(f"/t/{token}/"):
                        self.send_error(401 if "/t/" not in self.path else 403)
                        return None
                    self.path = self.path[len(f"/t/{token}") :]
                if query_token is not None:
                    path, _, query = self.path.partition("?")
                    if f"token={query_token}" not in query.split("&"):
                        self.send_error(401)
                        return None
                    self.path = path
                return super().send_head()

        server = _Server(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        url = f"http://127.0.0.1:{server.server_address[1]}"
        self = super().__new__(cls, url)
        self.server = server
        self.directory = directory
        self.requests = requests
        self._handler = Handler
        self._thread: threading.Thread | None = None
        self._start_thread()
        return self

    def _start_thread(self) -> None:
        self._thread = threading.Thread(
            target=self.server.serve_forever, name=f"serve {self.directory}", daemon=True
        )
        self._thread.start()

    @property
    def url(self) -> str:
        return str(self)

    @property
    def port(self) -> int:
        return int(self.server.server_address[1])

    @property
    def running(self) -> bool:
        return self._thread is not None

    def stop(self) -> None:
        if self._thread is None:
            return
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(timeout=10)
        self._thread = None

    def start(self) -> None:
        if self._thread is not None:
            return
        self.server = _Server(("127.0.0.1", self.port), self._handler)
        self.server.daemon_threads = True
        self._start_thread()


def start_server(
    path: os.PathLike[str] | str,
    basic_auth: tuple[str, str] | None = None,
    token: str | None = None,
    query_token: str | None = None,
) -> ServedDirectory:
    """Serve ``path`` over HTTP on 127.0.0.1 (random port); call ``.stop()`` when done.

    ``basic_auth=(user, password)`` answers 401 to any request without them;
    ``token="tk"`` serves only under ``/t/tk/`` (anaconda.org's conda tokens);
    ``query_token="tk"`` only requests that end in ``?token=tk``.
    """
    path = Path(path)
    if not path.is_dir():
        raise NotADirectoryError(path)
    return ServedDirectory(path, basic_auth, token, query_token)


@contextlib.contextmanager
def serve_directory(
    path: os.PathLike[str] | str,
    basic_auth: tuple[str, str] | None = None,
    token: str | None = None,
    query_token: str | None = None,
) -> Iterator[ServedDirectory]:
    """Serve ``path`` over HTTP; yields the base URL ``http://127.0.0.1:PORT``.

    The yielded value is a :class:`ServedDirectory` (a ``str``) with ``stop()``
    so a test can take the server down midway.  Stopped on exit. ``basic_auth`` and
    ``token`` and ``query_token`` as for :func:`start_server`.
    """
    served = start_server(path, basic_auth, token, query_token)
    try:
        yield served
    finally:
        served.stop()


def copy_channel(src: os.PathLike[str] | str, dst: os.PathLike[str] | str) -> Path:
    """Copy a built channel directory (e.g. to mutate it in one test)."""
    return Path(shutil.copytree(src, dst))
