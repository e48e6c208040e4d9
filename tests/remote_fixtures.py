"""Remote stores for the tests: a real S3 protocol server (moto) on 127.0.0.1, or a directory.

Import the fixtures into a test module (``from remote_fixtures import moto_server,
remote_url``); pytest finds them there.
"""

from __future__ import annotations

import hashlib
import logging
import socket
import threading
import uuid
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from moto.server import ThreadedMotoServer

from amber.lock import Lock, LockedPypi, PlatformLock
from amber.spec import Spec

__all__ = ["MotoServer", "moto_server", "remote_url", "use_s3", "wheel_lock", "fake_wheel"]

BUCKET_PREFIX = "amber-test"


class MotoServer(ThreadedMotoServer):
    """moto's threaded S3 server on 127.0.0.1 that can really go down and come back.

    ``stop()`` also closes the listening socket (moto's own leaves it bound, so clients
    hang instead of failing) and drops open keep-alive connections; ``start()`` again
    listens on the same port, with the same data (moto keeps it in this process).
    ``stop_after(n, prefix)`` makes the server go down when the client starts its
    ``n+1``-th PUT of an object under ``prefix``: exactly ``n`` such objects get written.
    """

    def __init__(self) -> None:
        super().__init__(ip_address="127.0.0.1", port=0, verbose=False)
        self._down = threading.Event()
        self._trip: tuple[int, str] | None = None
        self._puts = 0
        self._count_lock = threading.Lock()
        logging.getLogger("werkzeug").setLevel(logging.CRITICAL)

    @property
    def endpoint(self) -> str:
        host, port = self.get_host_and_port()
        return f"http://{host}:{port}"

    def _server_entry(self) -> None:
        from moto.moto_server.werkzeug_app import (
            DomainDispatcherApplication,
            MotoRequestHandler,
            create_backend_app,
        )
        from werkzeug.serving import make_server

        app = DomainDispatcherApplication(create_backend_app)
        self._server = make_server(
            self._ip_address, self._port, self._guard(app), True, request_handler=MotoRequestHandler
        )
        self._port = self._server.server_address[1]  # a restart listens on the same port
        self._server_ready_event.set()
        self._server.serve_forever()

    def _guard(self, app: Any) -> Any:
        def guarded(environ: dict[str, Any], start_response: Any) -> Any:
            if not self._down.is_set() and self._trip is not None:
                n, prefix = self._trip
                if environ["REQUEST_METHOD"] == "PUT" and f"/{prefix}" in environ["PATH_INFO"]:
                    with self._count_lock:
                        self._puts += 1
                        if self._puts > n:
                            self._down.set()
                            threading.Thread(target=self.stop, daemon=True).start()
            if self._down.is_set():
                # A server that is going down answers nothing: drop the connection.
                sock = environ.get("werkzeug.socket")
                if sock is not None:
                    try:
                        sock.shutdown(socket.SHUT_RDWR)
                    except OSError:
                        pass
                raise ConnectionAbortedError("the test server is down")
            return app(environ, start_response)

        return guarded

    def stop_after(self, n: int, prefix: str) -> None:
        self._puts, self._trip = 0, (n, prefix)

    def stop(self) -> None:
        self._down.set()
        if self._server is not None and self._thread is not None:
            super().stop()
            self._server.server_close()
            self._server, self._thread = None, None

    def start(self) -> None:
        self._down.clear()
        self._trip = None
        super().start()

    def wait_down(self, timeout: float = 30) -> None:
        import time

        deadline = time.monotonic() + timeout
        while self._server is not None and time.monotonic() < deadline:
            time.sleep(0.01)


@pytest.fixture(scope="session")
def moto_server() -> Iterator[MotoServer]:
    """One S3 server for the session; each test gets its own bucket (``remote_url``)."""
    server = MotoServer()
    server.start()
    yield server
    server.stop()


def use_s3(monkeypatch: pytest.MonkeyPatch, server: MotoServer) -> str:
    """Point the AWS chain at ``server`` with dummy credentials; a new bucket's URL."""
    import boto3

    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "AWS_ENDPOINT_URL_S3"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent/aws/config")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/aws/credentials")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_ENDPOINT_URL", server.endpoint)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    bucket = f"{BUCKET_PREFIX}-{uuid.uuid4().hex[:12]}"
    boto3.client("s3", endpoint_url=server.endpoint).create_bucket(Bucket=bucket)
    return f"s3://{bucket}/team"


@pytest.fixture(params=["s3", "file"])
def remote_url(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> str:
    """A fresh, empty remote store: an S3 bucket on the moto server, or a directory."""
    if request.param == "file":
        return (tmp_path / "remote").as_uri()
    return use_s3(monkeypatch, request.getfixturevalue("moto_server"))


# -- small locks whose packages are local files -------------------------------------------


def fake_wheel(directory: Path, name: str, version: str = "1.0", payload: str = "") -> Path:
    """A tiny (not installable) wheel file named like a real one."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{name}-{version}-py3-none-any.whl"
    # A fixed member date: the same arguments give the same bytes (and sha256) at any time.
    member = zipfile.ZipInfo(f"{name}/__init__.py", date_time=(2020, 1, 1, 0, 0, 0))
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr(member, f"# {name} {version} {payload}\n")
    return path


def wheel_lock(wheels: list[Path], python: str = "3.11") -> Lock:
    """A PyPI-only lock for linux-64 pinning ``wheels`` by their ``file://`` URLs."""
    pypi = []
    for wheel in wheels:
        name, version = wheel.name.split("-")[:2]
        sha256 = hashlib.sha256(wheel.read_bytes()).hexdigest()
        pypi.append(LockedPypi(name=name, version=version, url=wheel.as_uri(), sha256=sha256))
    body = PlatformLock(platform="linux-64", python=python, pypi=tuple(pypi))
    spec = Spec(pypi=tuple(sorted(p.name for p in pypi)), python=python, platforms=("linux-64",))
    return Lock.loads(Lock(spec=spec, req_id="0" * 64, platforms={"linux-64": body}).dumps())
