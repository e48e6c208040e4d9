"""Helpers the tests share (fixtures live in conftest.py): files, specs, the shared data."""

from __future__ import annotations

import hashlib
import io
import os
import signal
import stat
import tarfile
import textwrap
import warnings
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = [
    "SHARED", "SNAPSHOT", "PIXI", "write", "conda_spec", "env_dirs", "crafted_archive",
    "tree_snapshot", "outside_snapshot", "assert_secret_nowhere", "bounded", "conda_environ",
]  # fmt: skip

# Real data made by others, beside the checkout (../shared/data); tests that need it skip
# without it, the others never do.
SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
SNAPSHOT = SHARED / "repodata" / "defaults-2018"
PIXI = SHARED / "channels" / "pixi"


def write(path: Path, text: str) -> Path:
    """Write a test file (dedented), creating its directory."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip())
    return path


def conda_spec(directory: Path, channel: object, *deps: str, pip: tuple[str, ...] = ()) -> Path:
    lines = ["name: demo", f"channels: ['{channel}']", "dependencies:"]
    lines += [f"  - {d}" for d in deps]
    if pip:
        lines += ["  - pip:"] + [f"    - {p}" for p in pip]
    return write(directory / "environment.yml", "\n".join(lines) + "\n")


def conda_environ(home: Path, **extra: str) -> dict[str, str]:
    """Variables that keep conda's settings to ``home`` (a temp dir): ``HOME`` and
    ``XDG_CONFIG_HOME`` there, every ``$CONDA_*`` and ``$CONDARC`` of this process blanked
    (an empty variable is an unset one), then ``extra``. The real user's files stay unread."""
    environ = {k: "" for k in os.environ if k.startswith("CONDA") or k == "AMBER_CONFIG"}
    environ.update(HOME=str(home), XDG_CONFIG_HOME=str(home / ".config"), CONDARC="")
    environ.update(extra)
    return environ


def env_dirs(home: Path) -> list[Path]:
    envs = home / "envs"
    return sorted(p for p in envs.iterdir() if p.name != ".locks") if envs.exists() else []


def crafted_archive(path: Path, members: list[tuple], fmt: str = "tar") -> Path:
    """An archive written member by member, as an attacker would: ``(name, kind, payload,
    mode)`` with kind ``file`` (payload: bytes), ``dir``, ``symlink`` / ``hardlink``
    (payload: the link's target), ``fifo`` or ``chr`` (a device: payload ignored)."""
    if fmt == "zip":
        types = {"file": stat.S_IFREG, "dir": stat.S_IFDIR, "symlink": stat.S_IFLNK,
                 "fifo": stat.S_IFIFO, "chr": stat.S_IFCHR, "hardlink": stat.S_IFREG}  # fmt: skip
        with zipfile.ZipFile(path, "w") as archive, warnings.catch_warnings():
            warnings.simplefilter("ignore")  # duplicate names: crafted on purpose
            for name, kind, payload, mode in members:
                info = zipfile.ZipInfo(name + ("/" if kind == "dir" else ""))
                info.create_system = 3
                info.external_attr = (types[kind] | mode) << 16
                data = payload.encode() if isinstance(payload, str) else payload or b""
                archive.writestr(info, data)
        return path
    kinds = {
        "file": tarfile.REGTYPE, "dir": tarfile.DIRTYPE, "symlink": tarfile.SYMTYPE,
        "hardlink": tarfile.LNKTYPE, "fifo": tarfile.FIFOTYPE, "chr": tarfile.CHRTYPE,
    }  # fmt: skip
    with tarfile.open(path, "w", format=tarfile.PAX_FORMAT) as tar:
        for name, kind, payload, mode in members:
            info = tarfile.TarInfo(name)
            info.type, info.mode = kinds[kind], mode
            if kind in ("symlink", "hardlink"):
                info.linkname = payload
            if kind == "chr":
                info.devmajor, info.devminor = 1, 3  # what /dev/null is
            data = payload if kind == "file" else b""
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def tree_snapshot(root: Path, skip: tuple[Path, ...] = ()) -> dict[str, tuple]:
    """Every entry under ``root`` (not following links): its kind, mode, content or target."""
    found: dict[str, tuple] = {}
    for top, dirs, files in os.walk(root):
        here = Path(top)
        dirs[:] = [d for d in dirs if here / d not in skip]
        for name in dirs + files:
            path = here / name
            if path in skip:
                continue
            st = path.lstat()
            if stat.S_ISLNK(st.st_mode):
                what: object = os.readlink(path)
            elif stat.S_ISREG(st.st_mode):
                what = path.read_bytes()
            else:
                what = None
            found[str(path.relative_to(root))] = (st.st_mode, st.st_nlink, what)
    return found


@contextmanager
def bounded(seconds: int = 30) -> Iterator[None]:
    """Fail (AssertionError) instead of hanging when the block still runs after ``seconds``:
    a guard against hangs, not a timing assertion."""

    def hang(*_: object) -> None:
        raise AssertionError(f"still running after {seconds}s: a hang")

    previous = signal.signal(signal.SIGALRM, hang)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def outside_snapshot(root: Path, skip: Path) -> dict[str, tuple[int, int, bytes | None]]:
    """Every path under ``root`` but ``skip``: its mode, size, and bytes if a small file (a
    crafted input must change nothing there; link counts may change, as the store
    hardlinks from channels)."""
    out = {}
    for folder, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if Path(folder, d) != skip]
        for name in [*dirs, *files]:
            path = Path(folder, name)
            info = path.lstat()
            small = stat.S_ISREG(info.st_mode) and info.st_size < 1 << 16
            out[str(path)] = (info.st_mode, info.st_size, path.read_bytes() if small else None)
    return out


def assert_secret_nowhere(home: Path, message: str, secret: bytes) -> None:
    """Neither ``secret`` nor its sha256 is in ``message`` or in any file under ``home``."""
    digest = hashlib.sha256(secret).hexdigest()
    assert digest not in message and "secret-hash" not in message
    for folder, _dirs, files in os.walk(home):
        for name in files:
            path = Path(folder, name)
            if path.is_file() and not path.is_symlink():
                data = path.read_bytes()
                assert secret not in data and digest.encode() not in data, path
