"""Helpers the tests share (fixtures live in conftest.py): files, specs, the shared data."""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import signal
import stat
import tarfile
import textwrap
import traceback
import warnings
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "SHARED", "SNAPSHOT", "PIXI", "write", "conda_spec", "env_dirs", "crafted_archive",
    "tree_snapshot", "outside_snapshot", "assert_secret_nowhere", "bounded", "CliOutcome",
    "run_cli", "assert_clear_error",
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


@dataclass(frozen=True)
class CliOutcome:
    """What ``run_cli`` saw: exit code, output, and a traceback or hang if there was one."""

    argv: list[str]
    code: object
    stdout: str
    stderr: str
    crash: str | None  # the traceback of an exception that escaped ``main``
    hang: bool

    @property
    def error(self) -> str:
        """The message after ``error: `` on stderr (all of it, every line)."""
        return self.stderr.split("error: ", 1)[-1].strip()


def run_cli(argv: list[object], cwd: Path, seconds: int = 20) -> CliOutcome:
    """The real ``amber`` command in this process (``amber.cli.main.main``), in ``cwd``,
    output captured, anything escaping ``main`` caught as a crash, a hang after ``seconds``
    (a SIGALRM guard, not a timing check). ``$AMBER_HOME`` is the caller's to set."""
    from amber.cli.main import main

    args = [str(a) for a in argv]
    out, err = io.StringIO(), io.StringIO()
    crash, hang, code = None, False, None
    with contextlib.chdir(cwd), contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            with bounded(seconds):
                code = main(args)
        except AssertionError as exc:
            if "a hang" not in str(exc):
                raise
            hang = True
        except SystemExit as exc:
            code = exc.code
        except BaseException:  # noqa: BLE001 - the caller asserts nothing escaped
            crash = traceback.format_exc()
    return CliOutcome(args, code, out.getvalue(), err.getvalue(), crash, hang)


def assert_clear_error(outcome: CliOutcome, *needles: str, max_line: int = 1000) -> str:
    """Exit 2, no traceback, no hang, short lines, and every needle in the message."""
    assert not outcome.hang, f"hang: {outcome.argv}"
    assert outcome.crash is None, outcome.crash
    assert "Traceback" not in outcome.stderr, outcome.stderr
    assert outcome.code == 2, outcome
    for line in (outcome.stdout + outcome.stderr).splitlines():
        assert len(line) <= max_line, line[:500]
    for needle in needles:
        assert needle in outcome.stderr, (needle, outcome.stderr)
    return outcome.error
