"""Helpers the tests share (fixtures live in conftest.py): files, specs, the shared data."""

from __future__ import annotations

import contextlib
import functools
import hashlib
import http.server
import io
import itertools
import json
import os
import select
import signal
import socket
import ssl
import stat
import subprocess
import tarfile
import textwrap
import threading
import traceback
import urllib.error
import urllib.request
import warnings
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "SHARED", "SNAPSHOT", "PIXI", "write", "conda_spec", "env_dirs", "crafted_archive",
    "tree_snapshot", "outside_snapshot", "assert_secret_nowhere", "bounded", "tiny_wheel",
    "files_containing", "tls_certificates", "serve_tls", "ForwardingProxy",
    "CliOutcome", "run_cli", "assert_clear_error", "conda_environ",
    "activation_packages", "TEST_RECIPES", "recipes_channel", "CONDA_FLEXIBLE",
    "snapshot_channels", "serve_simple_index",
]  # fmt: skip

# Real data made by others, beside the checkout (../shared/data); tests that need it skip
# without it, the others never do.
SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
SNAPSHOT = SHARED / "repodata" / "defaults-2018"
PIXI = SHARED / "channels" / "pixi"
# conda's own answers (classic solver, flexible and strict priority) on channels made from
# the snapshots: cases.json says how, answers.json what conda picked (README.md there).
CONDA_FLEXIBLE = Path(__file__).resolve().parent / "data" / "conda-flexible"


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


def tiny_wheel(directory: Path, name: str, version: str, source: str) -> Path:
    """A real, installable pure-Python wheel holding one module ``<name>.py``."""
    directory.mkdir(parents=True, exist_ok=True)
    dist = f"{name}-{version}.dist-info"
    files = {
        f"{name}.py": source.encode(),
        f"{dist}/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n".encode(),
        f"{dist}/WHEEL": b"Wheel-Version: 1.0\nGenerator: amber-tests\nRoot-Is-Purelib: true\n"
        b"Tag: py3-none-any\n",
    }
    record = [f"{path},sha256={_b64_digest(data)},{len(data)}" for path, data in files.items()] + [
        f"{dist}/RECORD,,"
    ]
    files[f"{dist}/RECORD"] = ("\n".join(record) + "\n").encode()
    wheel = directory / f"{name}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as zf:
        for path, data in files.items():
            zf.writestr(path, data)
    return wheel


@contextmanager
def serve_simple_index(wheels: list[Path], basic_auth: str | None = None) -> Iterator[str]:
    """A PEP 503 index on 127.0.0.1 serving ``wheels`` (``/simple/<name>/`` pages with
    ``#sha256=`` links, the files under ``/files/``); with ``basic_auth`` ("user:password")
    every request without those credentials gets 401. Yields the index URL (no credentials)."""
    import base64
    import re

    by_project: dict[str, list[Path]] = {}
    for wheel in wheels:
        project = re.sub(r"[-_.]+", "-", wheel.name.split("-")[0]).lower()
        by_project.setdefault(project, []).append(wheel)
    files = {w.name: w for w in wheels}
    expected = "Basic " + base64.b64encode(basic_auth.encode()).decode() if basic_auth else None

    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            if expected and self.headers.get("Authorization") != expected:
                self.send_response(401)
                self.send_header("WWW-Authenticate", 'Basic realm="index"')
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            parts = [p for p in self.path.split("?")[0].split("/") if p]
            body: bytes | None = None
            if len(parts) == 2 and parts[0] == "simple" and parts[1] in by_project:
                links = "".join(
                    f'<a href="/files/{w.name}#sha256={hashlib.sha256(w.read_bytes()).hexdigest()}"'
                    f">{w.name}</a>\n"
                    for w in by_project[parts[1]]
                )
                body = f"<!DOCTYPE html><html><body>{links}</body></html>".encode()
                kind = "text/html"
            elif len(parts) == 2 and parts[0] == "files" and parts[1] in files:
                body, kind = files[parts[1]].read_bytes(), "application/octet-stream"
            if body is None:
                self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        do_HEAD = do_GET

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/simple"
    finally:
        server.shutdown()
        server.server_close()


def _b64_digest(data: bytes) -> str:
    import base64

    return base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def files_containing(roots: list[Path], needles: list[bytes]) -> list[str]:
    """Every regular file under ``roots`` (gzip, bz2 and zstd archives read decompressed,
    zip members too) holding any of ``needles``: ``path: needle``."""
    import bz2
    import gzip

    import zstandard

    found = []
    for root in roots:
        paths = [root] if root.is_file() else sorted(p for p in root.rglob("*"))
        for path in paths:
            if path.is_symlink() or not path.is_file():
                continue
            data = path.read_bytes()
            blobs = [data]
            if data[:2] == b"\x1f\x8b":
                blobs.append(gzip.decompress(data))
            elif data[:3] == b"BZh":
                blobs.append(bz2.decompress(data))
            elif data[:4] == b"\x28\xb5\x2f\xfd":
                blobs.append(zstandard.ZstdDecompressor().decompressobj().decompress(data))
            elif data[:2] == b"PK":
                with (
                    contextlib.suppress(zipfile.BadZipFile),
                    zipfile.ZipFile(io.BytesIO(data)) as zf,
                ):
                    blobs += [zf.read(n) for n in zf.namelist()]
            found += [f"{path}: {n!r}" for n in needles if any(n in blob for blob in blobs)]
    return found


def tls_certificates(directory: Path) -> tuple[Path, Path, Path]:
    """A throwaway CA and a server certificate it signed for 127.0.0.1 (``openssl``):
    ``(ca.pem, server.pem, server.key)``."""
    directory.mkdir(parents=True, exist_ok=True)
    ca, ca_key = directory / "ca.pem", directory / "ca.key"
    cert, key, csr = directory / "server.pem", directory / "server.key", directory / "server.csr"
    ext = directory / "ext.cnf"
    ext.write_text(
        "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n"
        "extendedKeyUsage=serverAuth\n"
    )
    for args in (
        ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", ca_key, "-out", ca,
         "-days", "2", "-subj", "/CN=amber test CA",
         "-addext", "basicConstraints=critical,CA:TRUE",
         "-addext", "keyUsage=critical,keyCertSign,cRLSign"],
        ["req", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", csr,
         "-subj", "/CN=127.0.0.1"],
        ["x509", "-req", "-in", csr, "-CA", ca, "-CAkey", ca_key, "-CAcreateserial",
         "-out", cert, "-days", "2", "-extfile", ext],
    ):  # fmt: skip
        subprocess.run(["openssl", *map(str, args)], check=True, capture_output=True)
    return ca, cert, key


class _Served(str):
    """A loopback server's base URL; ``requests`` lists the paths it was asked for."""

    requests: list[str]
    server: http.server.ThreadingHTTPServer


@contextmanager
def serve_tls(directory: Path, cert: Path, key: Path) -> Iterator[_Served]:
    """``directory`` served over HTTPS on 127.0.0.1 with ``cert``: yields its base URL."""
    requests: list[str] = []

    class Handler(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            requests.append(self.path)

    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(Handler, directory=str(directory))
    )
    server.daemon_threads = True
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    url = _Served(f"https://127.0.0.1:{server.server_address[1]}")
    url.requests, url.server = requests, server
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield url
    finally:
        server.shutdown()
        server.server_close()


class ForwardingProxy:
    """An HTTP proxy on 127.0.0.1: forwards ``GET``/``HEAD`` of absolute URLs and tunnels
    ``CONNECT``; ``seen`` lists ``(method, target)`` of every request it forwarded."""

    def __init__(self) -> None:
        seen: list[tuple[str, str]] = []
        self.seen = seen

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_CONNECT(self) -> None:
                seen.append(("CONNECT", self.path))
                host, port = self.path.rsplit(":", 1)
                upstream = socket.create_connection((host, int(port)))
                self.send_response(200)
                self.end_headers()
                ends = [self.connection, upstream]
                with upstream:
                    while True:
                        ready, _, _ = select.select(ends, [], [], 30)
                        if not ready:
                            return
                        for end in ready:
                            data = end.recv(1 << 16)
                            if not data:
                                return
                            (upstream if end is self.connection else self.connection).sendall(data)

            def do_GET(self) -> None:
                seen.append((self.command, self.path))
                skip = ("proxy-connection", "connection", "host", "keep-alive")
                headers = {k: v for k, v in self.headers.items() if k.lower() not in skip}
                request = urllib.request.Request(self.path, headers=headers, method=self.command)
                direct = urllib.request.build_opener(urllib.request.ProxyHandler({}))
                try:
                    with direct.open(request, timeout=30) as answer:
                        body = answer.read()
                        status, answer_headers = answer.status, answer.headers
                except urllib.error.HTTPError as exc:
                    body, status, answer_headers = b"", exc.code, exc.headers
                self.send_response(status)
                for k, v in answer_headers.items():
                    if k.lower() not in ("transfer-encoding", "connection", "content-length"):
                        self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)

            do_HEAD = do_GET

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


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


_FLAGS = b'export MYFLAGS="${MYFLAGS} -I$CONDA_PREFIX/include"\n'
_NOISY = b"echo 'activating flagtool'\nexport FLAGTOOL_ON=1\n"


def activation_packages() -> list:
    """``flagtool`` (``activate.d`` scripts: one extends $MYFLAGS, one prints and exports
    FLAGTOOL_ON) and ``plaintool`` (no activation scripts)."""
    import condapkgs

    return [
        condapkgs.CondaPackage(
            name="flagtool",
            version="1.0",
            files={
                "bin/flagtool": b"#!/bin/sh\necho flagtool\n",
                "etc/conda/activate.d/flagtool.sh": _FLAGS,
                "etc/conda/activate.d/noisy.sh": _NOISY,
                "etc/conda/activate.d/flagtool.fish": b"set -gx FLAGTOOL_ON 1\n",
            },
        ),
        condapkgs.CondaPackage(
            name="plaintool", version="1.0", files={"bin/plaintool": b"#!/bin/sh\necho plain\n"}
        ),
    ]


TEST_RECIPES = SHARED / "channels" / "conda-test-recipes"


def recipes_channel(dest: Path) -> Path:
    """conda's own test channel (real conda-build packages) as a channel rattler serves for
    linux-64: its ``noarch/`` packages copied and indexed again beside an empty ``linux-64/``
    (its ``*-fake`` subdirs are for conda's fake platforms, not needed here)."""
    import shutil

    import condapkgs

    (dest / "linux-64").mkdir(parents=True)
    (dest / "noarch").mkdir()
    for archive in sorted((TEST_RECIPES / "noarch").glob("*.conda")):
        shutil.copy2(archive, dest / "noarch" / archive.name)
    condapkgs.index_channel(dest)
    return dest


def _version_key(version: str) -> tuple[int, ...]:
    parts = []
    for part in version.split("."):
        digits = "".join(itertools.takewhile(str.isdigit, part))
        parts.append(int(digits) if digits else 0)
    return tuple(parts)


def snapshot_channels(root: Path, recipe: dict) -> dict[str, Path]:
    """Metadata-only ``file://`` channels under ``root`` made from the shared repodata
    snapshots as ``recipe["channels"]`` says: label -> {"from": snapshot dir (under
    ``SHARED``), "without": {name: first version dropped}} (every record of ``name`` at that
    version or later is left out)."""
    made = {}
    for label, how in recipe["channels"].items():
        source = SHARED / how["from"]
        drop = {name: _version_key(v) for name, v in how["without"].items()}
        for subdir in ("linux-64", "noarch"):
            data = json.loads((source / subdir / "repodata.json").read_text())
            for key in ("packages", "packages.conda"):
                if key in data:
                    data[key] = {
                        f: r
                        for f, r in data[key].items()
                        if not (r["name"] in drop and _version_key(r["version"]) >= drop[r["name"]])
                    }
            (root / label / subdir).mkdir(parents=True, exist_ok=True)
            (root / label / subdir / "repodata.json").write_text(json.dumps(data, sort_keys=True))
        made[label] = root / label
    return made
