"""``amber ui``'s HTTP server: the standard library's ``ThreadingHTTPServer`` on 127.0.0.1,
the page and its assets from the package, and the JSON answers of ``data.Dashboard``.

Read-only unless started with ``allow_writes``: the one write (removing an env, as
``amber env rm``) answers 403 otherwise. A request whose ``Host`` is not the address
served is refused (a web page elsewhere cannot reach the dashboard by rebinding a name),
and so is a write whose ``Origin`` is not the dashboard's own.
"""

from __future__ import annotations

import json
import sys
import threading
import traceback
from collections.abc import Callable
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from amber.api.envs import remove_env
from amber.errors import AmberError
from amber.store.env import Env
from amber.ui.data import Dashboard

__all__ = ["Server", "asset", "LOOPBACK"]

LOOPBACK = "127.0.0.1"
_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
}
_ASSETS = ("app.js", "app.css")
_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)


def asset(name: str) -> str:
    """The text of a file of ``amber/ui/assets`` (package data)."""
    return resources.files("amber.ui").joinpath("assets", name).read_text(encoding="utf-8")


class Server:
    """The dashboard served on ``host:port`` (port 0: a free one) until ``stop``."""

    def __init__(
        self, dashboard: Dashboard, host: str = LOOPBACK, port: int = 0, *, allow_writes: bool
    ) -> None:
        self.dashboard = dashboard
        self.allow_writes = allow_writes
        handler = _handler(self)
        self.httpd = ThreadingHTTPServer((host, port), handler)
        self.httpd.daemon_threads = True
        address = self.httpd.server_address
        bound_host = address[0] if isinstance(address[0], str) else address[0].decode()
        self.port = int(address[1])
        shown = f"[{bound_host}]" if ":" in bound_host else bound_host
        self.url = f"http://{shown}:{self.port}/"
        self.hosts = {f"{shown}:{self.port}", f"localhost:{self.port}", f"127.0.0.1:{self.port}"}
        self.any_host = host not in (LOOPBACK, "localhost", "::1")

    def serve_forever(self) -> None:
        self.httpd.serve_forever()

    def start(self) -> None:
        """Serve in a background thread (for tests and benchmarks)."""
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    # -- answers ----------------------------------------------------------------------

    def answer(self, method: str, path: str, query: dict[str, list[str]]) -> tuple[int, Any]:
        """(status, JSON value) for ``/api/...``."""
        parts = [unquote(p) for p in path.split("/")[2:] if p]
        if method == "POST":
            return self._write(parts)
        if not parts:
            return HTTPStatus.NOT_FOUND, {"error": "no such endpoint"}
        name, args = parts[0], parts[1:]
        if name == "diff":
            a, b = query.get("a", [""])[0], query.get("b", [""])[0]
            return self._call(lambda: self.dashboard.diff(a, b))
        route: Callable[..., Any] | None = self.dashboard.routes().get(name)
        takes = name in ("env", "tree", "audit", "packages", "verify", "env-runs", "run")
        if route is None or len(args) != int(takes):
            return HTTPStatus.NOT_FOUND, {"error": f"no such endpoint: /api/{name}"}
        return self._call(lambda: route(*args))

    def _call(self, func: Callable[[], Any]) -> tuple[int, Any]:
        try:
            return HTTPStatus.OK, func()
        except AmberError as exc:
            return HTTPStatus.NOT_FOUND, {"error": str(exc)}
        except Exception as exc:  # noqa: BLE001 - a page says what broke; the server goes on
            traceback.print_exc(file=sys.stderr)
            return HTTPStatus.INTERNAL_SERVER_ERROR, {"error": f"{type(exc).__name__}: {exc}"}

    def _write(self, parts: list[str]) -> tuple[int, Any]:
        if not self.allow_writes:
            return HTTPStatus.FORBIDDEN, {
                "error": "the dashboard is read-only: start it with `amber ui --allow-writes`"
            }
        if len(parts) != 3 or parts[0] != "env" or parts[2] != "rm":
            return HTTPStatus.NOT_FOUND, {"error": "the one write is POST /api/env/ID/rm"}

        def rm() -> dict[str, str]:
            record = self.dashboard.record(parts[1])
            remove_env(Env(record.full_id, record.path), session=self.dashboard.session)
            return {"removed": record.full_id}

        return self._call(rm)


def _handler(server: Server) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = "amber-ui"
        sys_version = ""

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib's name
            pass  # a dashboard's requests are not worth a line each

        def _allowed(self) -> bool:
            host = self.headers.get("Host", "")
            if not server.any_host and host not in server.hosts:
                self._send(HTTPStatus.FORBIDDEN, b"unknown Host", "text/plain; charset=utf-8")
                return False
            return True

        def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
            if not self._allowed():
                return
            parts = urlsplit(self.path)
            if parts.path.startswith("/api/"):
                self._json(*server.answer("GET", parts.path, parse_qs(parts.query)))
            elif parts.path in ("/", "/index.html"):
                self._file("index.html")
            elif parts.path.startswith("/assets/") and parts.path[8:] in _ASSETS:
                self._file(parts.path[8:])
            else:
                self._send(HTTPStatus.NOT_FOUND, b"not found", "text/plain; charset=utf-8")

        def do_POST(self) -> None:  # noqa: N802 - the stdlib's name
            if not self._allowed():
                return
            origin = self.headers.get("Origin")
            if origin is not None and urlsplit(origin).netloc not in server.hosts:
                self._json(HTTPStatus.FORBIDDEN, {"error": f"a write from {origin} is refused"})
                return
            parts = urlsplit(self.path)
            self._json(*server.answer("POST", parts.path, {}))

        def _file(self, name: str) -> None:
            suffix = name[name.rindex(".") :]
            self._send(HTTPStatus.OK, asset(name).encode(), _TYPES[suffix])

        def _json(self, status: int, value: Any) -> None:
            body = json.dumps(value).encode()
            self._send(status, body, "application/json")

        def _send(self, status: int, body: bytes, kind: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Content-Security-Policy", _CSP)
            self.send_header("X-Content-Type-Options", "nosniff")
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(body)

    return Handler
