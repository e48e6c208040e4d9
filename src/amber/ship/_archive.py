"""Archive formats behind one small interface: tar (plain, zstd, gzip, bzip2) and zip.

``open_writer(path)`` picks the format from the file name; ``extract(path, dest)``
from the file's first bytes. Both keep modes, symlinks and (tar) hardlinks; zip
stores symlinks as Info-ZIP does (``S_IFLNK`` in the external attributes), so
``unzip`` restores them too.
"""

from __future__ import annotations

import bz2
import gzip
import io
import os
import shutil
import stat
import subprocess
import tarfile
import tempfile
import time
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

import zstandard

from amber.errors import PackError

__all__ = ["SUFFIXES", "Writer", "open_writer", "extract", "format_of_name"]

#: Output name suffix -> format.
SUFFIXES = {
    ".tar.zst": "zst", ".tzst": "zst", ".tar.gz": "gz", ".tgz": "gz",
    ".tar.bz2": "bz2", ".tbz2": "bz2", ".tar": "tar", ".zip": "zip",
}  # fmt: skip

_ZSTD_LEVEL = 3  # zstd's default: about gzip -6's ratio at several times its speed
_GZIP_LEVEL = 4  # conda-pack's default


def format_of_name(path: Path) -> str:
    name = path.name.lower()
    for suffix, fmt in SUFFIXES.items():
        if name.endswith(suffix):
            return fmt
    raise PackError(
        f"{path}: unknown archive type; name it .tar.zst, .tar.gz, .tar.bz2, .tar or .zip",
        path=path,
    )


class Writer:
    """Adds files, symlinks and in-memory files under archive-relative names."""

    def add_file(self, name: str, path: str, st: os.stat_result) -> None:
        raise NotImplementedError

    def add_symlink(self, name: str, target: str, st: os.stat_result) -> None:
        raise NotImplementedError

    def add_dir(self, name: str, st: os.stat_result) -> None:
        raise NotImplementedError

    def add_bytes(self, name: str, data: bytes, mode: int = 0o644) -> None:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError


class _TarWriter(Writer):
    def __init__(self, out: IO[bytes], fmt: str) -> None:
        self._raw = out
        self._stream: Any = None
        if fmt == "zst":
            self._stream = zstandard.ZstdCompressor(level=_ZSTD_LEVEL, threads=-1).stream_writer(
                out, closefd=False
            )
            self._tar = tarfile.open(fileobj=self._stream, mode="w|", format=tarfile.PAX_FORMAT)
        elif fmt == "gz":
            self._tar = tarfile.open(fileobj=out, mode="w:gz", compresslevel=_GZIP_LEVEL)
        elif fmt == "bz2":
            self._tar = tarfile.open(fileobj=out, mode="w:bz2")
        else:
            self._tar = tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT)
        self._inodes: dict[tuple[int, int], str] = {}

    def _info(self, name: str, st: os.stat_result, kind: bytes) -> tarfile.TarInfo:
        info = tarfile.TarInfo(name)
        info.type = kind
        info.mode = stat.S_IMODE(st.st_mode)
        info.mtime = int(st.st_mtime)
        return info  # uid/gid 0, no user names: the same env packs to the same members

    def add_file(self, name: str, path: str, st: os.stat_result) -> None:
        key = (st.st_dev, st.st_ino)
        if st.st_nlink > 1 and key in self._inodes:  # a hardlink to a file already packed
            info = self._info(name, st, tarfile.LNKTYPE)
            info.linkname = self._inodes[key]
            self._tar.addfile(info)
            return
        self._inodes[key] = name
        info = self._info(name, st, tarfile.REGTYPE)
        info.size = st.st_size
        with open(path, "rb") as f:
            self._tar.addfile(info, f)

    def add_symlink(self, name: str, target: str, st: os.stat_result) -> None:
        info = self._info(name, st, tarfile.SYMTYPE)
        info.mode = 0o777
        info.linkname = target
        self._tar.addfile(info)

    def add_dir(self, name: str, st: os.stat_result) -> None:
        self._tar.addfile(self._info(name, st, tarfile.DIRTYPE))

    def add_bytes(self, name: str, data: bytes, mode: int = 0o644) -> None:

        info = tarfile.TarInfo(name)
        info.size, info.mode, info.mtime = len(data), mode, int(time.time())
        self._tar.addfile(info, io.BytesIO(data))

    def close(self) -> None:
        self._tar.close()
        if self._stream is not None:
            self._stream.close()


class _ZipWriter(Writer):
    def __init__(self, out: IO[bytes]) -> None:
        self._zip = zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=_GZIP_LEVEL)

    def _info(self, name: str, st_mode: int, mtime: float) -> zipfile.ZipInfo:

        info = zipfile.ZipInfo(name, time.localtime(max(mtime, 315532800))[:6])  # zip: >= 1980
        info.external_attr = (st_mode & 0xFFFF) << 16
        info.create_system = 3  # Unix: unzip honours the mode bits
        info.compress_type = zipfile.ZIP_DEFLATED
        return info

    def add_file(self, name: str, path: str, st: os.stat_result) -> None:
        info = self._info(name, st.st_mode, st.st_mtime)
        info.file_size = st.st_size
        with open(path, "rb") as src, self._zip.open(info, "w", force_zip64=True) as dst:
            shutil.copyfileobj(src, dst, 1 << 20)

    def add_symlink(self, name: str, target: str, st: os.stat_result) -> None:
        info = self._info(name, stat.S_IFLNK | 0o777, st.st_mtime)
        info.compress_type = zipfile.ZIP_STORED
        self._zip.writestr(info, target)

    def add_dir(self, name: str, st: os.stat_result) -> None:
        info = self._info(name.rstrip("/") + "/", st.st_mode, st.st_mtime)
        info.external_attr |= 0x10  # MS-DOS directory flag
        self._zip.writestr(info, b"")

    def add_bytes(self, name: str, data: bytes, mode: int = 0o644) -> None:

        self._zip.writestr(self._info(name, stat.S_IFREG | mode, time.time()), data)

    def close(self) -> None:
        self._zip.close()


def open_writer(out: IO[bytes], fmt: str) -> Writer:
    return _ZipWriter(out) if fmt == "zip" else _TarWriter(out, fmt)


# -- reading -------------------------------------------------------------------

_MAGIC = {
    b"\x28\xb5\x2f\xfd": "zst",
    b"\x1f\x8b": "gz",
    b"BZh": "bz2",
    b"PK\x03\x04": "zip",
    b"PK\x05\x06": "zip",  # an empty zip
}


def sniff(path: Path) -> str:
    """The format of an archive by its first bytes."""
    with open(path, "rb") as f:
        head = f.read(512)
    for magic, fmt in _MAGIC.items():
        if head.startswith(magic):
            return fmt
    if len(head) == 512 and head[257:262] == b"ustar":
        return "tar"
    raise PackError(
        f"{path}: not an archive Amber reads (tar, tar.zst, tar.gz, tar.bz2, zip)", path=path
    )


def extract(path: Path, dest: Path, advance: Callable[[int], None] | None = None) -> None:
    """Everything in the archive at ``path`` into the directory ``dest``; ``advance`` is
    called with the bytes read from ``path`` as extraction proceeds."""
    fmt = sniff(path)
    try:
        with open(path, "rb") as raw:
            counted = _Counting(raw, advance) if advance else raw
            if fmt == "zip":
                _extract_zip(counted, dest)
            else:
                _extract_tar(counted, fmt, dest)
    except PackError as exc:
        raise PackError(f"{path}: {exc}", path=path) from None
    except (tarfile.TarError, zipfile.BadZipFile, EOFError, gzip.BadGzipFile) as exc:
        raise PackError(f"{path}: damaged archive: {exc}", path=path) from None
    except Exception as exc:
        if type(exc).__module__.startswith("zstd"):
            raise PackError(f"{path}: damaged archive: {exc}", path=path) from None
        raise


class _Counting:
    """A file object that reports how far it has been read."""

    def __init__(self, f: IO[bytes], advance: Callable[[int], None]) -> None:
        self._f, self._advance = f, advance

    def read(self, n: int = -1) -> bytes:
        data = self._f.read(n)
        self._advance(len(data))
        return data

    def __getattr__(self, name: str) -> Any:
        return getattr(self._f, name)


def _extract_tar(raw: Any, fmt: str, dest: Path) -> None:
    stream = _decompressed(raw, fmt)
    if _system_tar(stream, dest):
        return
    with tarfile.open(fileobj=stream, mode="r|") as tar:
        # "tar": no members outside dest, no device files; absolute symlinks are kept
        # (venvs point bin/python at the base interpreter).
        if hasattr(tarfile, "tar_filter"):
            tar.extractall(dest, filter="tar")
        else:  # Python < 3.11.4: no filters; members are checked by our own rule
            tar.extractall(dest, members=_inside(tar, dest))


def _decompressed(raw: Any, fmt: str) -> Any:
    """The plain tar stream inside a compressed one."""
    if fmt == "zst":
        return zstandard.ZstdDecompressor().stream_reader(raw, read_size=1 << 20)
    if fmt == "gz":
        return gzip.GzipFile(fileobj=raw, mode="rb")
    if fmt == "bz2":
        return bz2.BZ2File(raw, mode="rb")
    return raw


def _system_tar(stream: Any, dest: Path) -> bool:
    """Extract the plain tar ``stream`` with the system's ``tar`` (several times faster than
    tarfile on thousands of files), fed through a pipe; ``False`` when there is none.
    GNU tar and bsdtar refuse members with ``..`` or a leading ``/`` and never write
    through a symlink extracted from the same archive."""

    program = shutil.which("tar")
    if program is None:
        return False
    cmd = [program, "-x", "-f", "-", "-C", str(dest), "--no-same-owner"]
    with tempfile.TemporaryFile() as errors:  # not a pipe: tar may say a lot before we read
        proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stderr=errors)
        assert proc.stdin is not None
        try:
            while chunk := stream.read(1 << 20):
                proc.stdin.write(chunk)
            proc.stdin.close()
        except BrokenPipeError:
            pass  # tar stopped early: its exit status and message say why
        except BaseException:
            proc.kill()
            proc.wait()
            raise
        if proc.wait() != 0:
            errors.seek(0)
            said = errors.read().decode(errors="replace").strip().splitlines()
            raise PackError(f"damaged archive: tar says: {' / '.join(said[-3:])}")
    return True


def _within(root: str, name: str) -> str:
    """Where member ``name`` goes under ``root`` (a real path), links on the way resolved;
    refused when that is outside ``root``."""
    target = os.path.realpath(os.path.join(root, name))
    if not target.startswith(root + os.sep):
        raise PackError(f"archive member {name!r} points outside the destination")
    return target


def _inside(tar: tarfile.TarFile, dest: Path) -> Any:
    root = os.path.realpath(dest)
    for member in tar:
        _within(root, member.name)
        if member.isdev():
            raise PackError(f"archive member {member.name!r} is a device file")
        yield member


def _extract_zip(raw: Any, dest: Path) -> None:

    root = os.path.realpath(dest)
    with zipfile.ZipFile(raw) as archive:
        for info in archive.infolist():
            target = _within(root, info.filename)
            mode = info.external_attr >> 16
            if info.is_dir():
                os.makedirs(target, exist_ok=True)
            elif stat.S_ISLNK(mode):
                os.makedirs(os.path.dirname(target), exist_ok=True)
                os.symlink(archive.read(info).decode(), target)
            else:
                os.makedirs(os.path.dirname(target), exist_ok=True)
                with archive.open(info) as src, open(target, "wb") as out:
                    shutil.copyfileobj(src, out, 1 << 20)
                if mode:
                    os.chmod(target, stat.S_IMODE(mode))
