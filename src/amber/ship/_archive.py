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
import zlib
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
    except tarfile.FilterError as exc:  # before TarError: not damage, a member refused
        raise PackError(f"{path}: {exc}: refused, outside the destination", path=path) from None
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
    root = os.path.realpath(dest)
    with tarfile.open(fileobj=stream, mode="r|") as tar:
        # Our rule, then tarfile's "tar" filter: no members outside dest, no special mode
        # bits; absolute symlinks are kept (venvs point bin/python at the base interpreter).
        try:
            if hasattr(tarfile, "tar_filter"):
                tar.extractall(dest, filter=lambda m, p: tarfile.tar_filter(_checked(m, root), p))
            else:  # Python < 3.11.4: no filters; members are checked by our own rule
                tar.extractall(dest, members=_inside(tar, root))
        except KeyError as exc:  # a hardlink to a member the archive does not hold
            raise PackError(f"damaged archive: {exc.args[0]}") from None


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
    guard = _TarGuard()
    with tempfile.TemporaryFile() as errors:  # not a pipe: tar may say a lot before we read
        proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stderr=errors)
        assert proc.stdin is not None
        try:
            while chunk := stream.read(1 << 20):
                proc.stdin.write(guard.feed(chunk))  # headers checked before tar sees them
            proc.stdin.write(guard.rest())
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


_SPECIAL = {
    tarfile.CHRTYPE: "device file", tarfile.BLKTYPE: "device file", tarfile.FIFOTYPE: "FIFO",
}  # fmt: skip


def _checked(member: tarfile.TarInfo, root: str) -> tarfile.TarInfo:
    """``member`` when it is a file, a directory or a link whose every path is inside
    ``root``; its mode without setuid, setgid and sticky bits, owned by whoever unpacks."""
    if not (member.isreg() or member.isdir() or member.issym() or member.islnk()):
        what = _SPECIAL.get(member.type, f"member of type {member.type!r}")
        raise PackError(f"archive member {member.name!r} is a {what}: only files, "
                        "directories and links are unpacked")  # fmt: skip
    _within(root, member.name)
    if member.islnk():  # a hardlink shares an inode: its target must be one of ours
        if os.path.isabs(member.linkname):
            raise PackError(f"archive member {member.name!r} links to {member.linkname!r}, "
                            "outside the destination")  # fmt: skip
        _within(root, member.linkname)
    return member.replace(mode=member.mode & 0o777, uid=0, gid=0, uname="", gname="", deep=False)


def _inside(tar: tarfile.TarFile, root: str) -> Any:
    for member in tar:
        checked = _checked(member, root)
        member.mode, member.uid, member.gid = checked.mode, 0, 0
        yield member


_ZIP_KINDS = {0: "file", stat.S_IFREG: "file", stat.S_IFDIR: "dir", stat.S_IFLNK: "link"}
_LINK_MAX = 4096  # PATH_MAX: a symlink's target is no longer


def _extract_zip(raw: Any, dest: Path) -> None:

    root = os.path.realpath(dest)
    with zipfile.ZipFile(raw) as archive:
        for info in archive.infolist():
            target = _within(root, info.filename)
            mode = info.external_attr >> 16
            kind = _ZIP_KINDS.get(stat.S_IFMT(mode))
            if kind is None:
                what = "FIFO" if stat.S_ISFIFO(mode) else "device file" if (
                    stat.S_ISCHR(mode) or stat.S_ISBLK(mode)) else "special file"  # fmt: skip
                raise PackError(f"archive member {info.filename!r} is a {what}: only files, "
                                "directories and links are unpacked")  # fmt: skip
            if info.is_dir():
                os.makedirs(target, exist_ok=True)
            elif kind == "link":
                if info.file_size > _LINK_MAX:
                    raise PackError(f"archive member {info.filename!r}: a symlink too long")
                os.makedirs(os.path.dirname(target), exist_ok=True)
                os.symlink(archive.read(info).decode(errors="surrogateescape"), target)
            else:
                os.makedirs(os.path.dirname(target), exist_ok=True)
                with archive.open(info) as src, open(target, "xb") as out:
                    shutil.copyfileobj(src, out, 1 << 20)
                if mode:
                    os.chmod(target, stat.S_IMODE(mode) & 0o777)  # no setuid, setgid, sticky


class _TarGuard:
    """Reads the headers of a plain tar stream on its way to the system's ``tar``, before
    tar sees them: members are files, directories and links only, named inside the
    destination (hardlinks too); setuid, setgid and sticky bits are masked off in the
    header itself. What this cannot parse the way tar would is refused, not passed on."""

    _KINDS = {b"0": "file", b"\0": "file", b"1": "hardlink", b"2": "symlink", b"5": "dir"}
    _META = (b"x", b"L", b"K")  # a pax header, a GNU long name, a GNU long link name
    _META_MAX = 1 << 20
    _SPECIAL = {b"3": "device file", b"4": "device file", b"6": "FIFO"}

    def __init__(self) -> None:
        self._held = b""  # a header (or extended header) not yet whole
        self._skip = 0  # data of the current member still to pass
        self._ended = False
        self._next: dict[str, str] = {}  # pax / GNU long names for the next member

    def feed(self, chunk: bytes) -> bytes | bytearray:
        """What of the stream so far may go on to tar: all of it up to a header not yet
        whole (held for the next chunk), each header checked, and amended where needed."""
        buf: bytes | bytearray = self._held + chunk if self._held else chunk
        i, n = 0, len(buf)
        while True:
            if self._skip:  # member data: passed on untouched, never copied
                step = min(self._skip, n - i)
                i, self._skip = i + step, self._skip - step
                if self._skip:
                    break
            if n - i < 512:
                break
            header = bytes(buf[i : i + 512])
            if self._ended or not any(header):
                if any(header):
                    raise PackError("damaged archive: data after the end of the tar archive")
                self._ended = True
                i += 512
                continue
            kind, size = self._header(header)
            if kind in self._META:
                if size > self._META_MAX:
                    raise PackError("damaged archive: a tar extended header is too large")
                need = 512 + -(-size // 512) * 512
                if n - i < need:
                    break
                self._meta(kind, bytes(buf[i + 512 : i + 512 + size]))
                i += need
                continue
            amended = self._member(header, kind, size)
            if amended is not None:
                buf = buf if isinstance(buf, bytearray) else bytearray(buf)
                buf[i : i + 512] = amended
            i += 512
            self._skip = -(-size // 512) * 512
        self._held = bytes(buf[i:])
        return buf if i == n else buf[:i]

    def rest(self) -> bytes:
        """The end of the stream: an incomplete block, which tar reports as damage."""
        out, self._held = self._held, b""
        return out

    @staticmethod
    def _number(raw: bytes) -> int:
        if raw[:1] in (b"\x80", b"\xff"):  # base-256 (GNU)
            if raw[:1] == b"\xff":
                raise PackError("damaged archive: a negative size in a tar header")
            return int.from_bytes(raw[1:], "big")
        text = raw.split(b"\0", 1)[0].strip(b" ")
        try:
            return int(text, 8) if text else 0
        except ValueError:
            raise PackError("damaged archive: a tar header with a bad number") from None

    @staticmethod
    def _sum(header: bytes) -> int:
        """tar's checksum: the sum of the header's bytes, its checksum field as spaces.
        Computed in C: a 256-byte half sums to at most 65280, below adler32's modulus."""
        halves = (zlib.adler32(header[:256]) & 0xFFFF) + (zlib.adler32(header[256:]) & 0xFFFF)
        return halves - 2 - sum(header[148:156]) + 8 * 32

    def _header(self, header: bytes) -> tuple[bytes, int]:
        if self._number(header[148:156]) != self._sum(header):
            raise PackError("damaged archive: a tar header with a bad checksum")
        return header[156:157], self._number(header[124:136])

    def _meta(self, kind: bytes, data: bytes) -> None:
        if kind == b"L":
            self._next["path"] = data.split(b"\0", 1)[0].decode(errors="surrogateescape")
        elif kind == b"K":
            self._next["linkpath"] = data.split(b"\0", 1)[0].decode(errors="surrogateescape")
        else:
            pos = 0
            while pos < len(data):
                length, _, _ = data[pos : pos + 20].partition(b" ")
                try:
                    n = int(length)
                    key, _, value = data[pos + len(length) + 1 : pos + n - 1].partition(b"=")
                except ValueError:
                    n = 0
                if n <= 0 or data[pos + n - 1 : pos + n] != b"\n":
                    raise PackError("damaged archive: a malformed pax header")
                name = key.decode(errors="surrogateescape")
                if name.startswith("GNU.sparse") or name in ("path", "linkpath", "size"):
                    self._next[name] = value.decode(errors="surrogateescape")
                pos += n

    def _member(self, header: bytes, kind: bytes, size: int) -> bytes | None:
        meta, self._next = self._next, {}
        name = meta.get("path")
        if name is None:
            name = _field(header[0:100])
            if bytes(header[257:263]) == b"ustar\x00" and header[345]:
                name = _field(header[345:500]) + "/" + name
        what = self._KINDS.get(kind)
        if what is None or any(key.startswith("GNU.sparse") for key in meta):
            what = self._SPECIAL.get(kind, f"member of type {kind!r}")
            raise PackError(f"archive member {name!r} is a {what}: only files, "
                            "directories and links are unpacked")  # fmt: skip
        if "size" in meta:
            try:
                size = int(meta["size"])
            except ValueError:
                raise PackError(f"damaged archive: {name!r} has a bad pax size") from None
        if what != "file" and size:
            raise PackError(f"damaged archive: {name!r} ({what}) carries data")
        if what == "file" and name.endswith("/"):
            raise PackError(f"damaged archive: the file {name!r} is named like a directory")
        _relative(name, name)
        if what == "hardlink":
            _relative(meta.get("linkpath") or _field(header[157:257]), name)
        mode = self._number(header[100:108])
        if not mode & ~0o777:
            return None
        # setuid, setgid, sticky: masked off, the checksum made again
        amended = bytearray(header)
        amended[100:108] = b"%07o\0" % (mode & 0o777)
        amended[148:156] = b"        "
        amended[148:156] = b"%06o\0 " % sum(amended)
        return bytes(amended)


def _field(raw: bytes) -> str:
    return raw.split(b"\0", 1)[0].decode(errors="surrogateescape")


def _relative(path: str, member: str) -> None:
    """Refuse a member name (or a hardlink's target) that is absolute or climbs out."""
    if path.startswith("/") or ".." in path.split("/"):
        raise PackError(f"archive member {member!r} names {path!r}, outside the destination")
