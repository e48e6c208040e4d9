"""The one rattler HTTP client every conda download goes through (solve, install, reads).

rattler's standard stack (retries, its authentication storage: ``$RATTLER_AUTH_FILE``,
keyring, ``~/.rattler/credentials.json``, netrc; OCI, GCS, S3) plus the credentials a
user wrote into a channel URL, which ``amber._auth`` keeps in memory: a basic-auth header
for the requests under that channel, and its ``/t/<token>/`` segment put back into the
request URL only. rattler (its repodata cache, its package cache, the records it
returns) sees nothing but the clean URL.

The network settings (``amber.settings.Network``) go in too: mirrors as rattler's
``MirrorMiddleware`` (the request goes to the mirror, every record keeps the channel's
URL); a CA bundle and proxies as reqwest reads them when a client is built
(``SSL_CERT_FILE``, ``HTTP_PROXY``/``HTTPS_PROXY``, set only while it is built);
``ssl_verify: false`` through rattler's own configuration (``tls-no-verify``).
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from rattler import Config
from rattler.networking import Client
from rattler.networking.middleware import (
    AddHeadersMiddleware,
    AuthenticationMiddleware,
    GCSMiddleware,
    MirrorMiddleware,
    OciMiddleware,
    RetryMiddleware,
    S3Middleware,
)

from amber import _auth
from amber.settings import Network

__all__ = ["conda_client"]

_BUILDING = threading.Lock()  # the environment is the process's: one client built at a time


def conda_client(network: Network | None = None) -> Client:
    """A client with rattler's authentication, this process's in-memory credentials and
    the ``network`` settings (mirrors, CA bundle or no verification, proxies)."""
    network = network or Network()
    with _BUILDING, _environment(network):
        if network.ssl_verify is False:
            return _unverified_client(network)
        return _client(network)


def _client(network: Network) -> Client:
    secrets = _auth.remembered()
    middlewares: list = [RetryMiddleware(3)]
    if network.mirrors:
        # First: the credentials and tokens below are those of the host asked (the mirror).
        middlewares.append(MirrorMiddleware(_mirror_map(network)))
    if secrets:
        # The longest prefix first: a channel's own credentials before its host's.
        headers = [(k, _auth.basic_header(secrets[k])) for k in sorted(secrets, key=len)[::-1]]

        def add(host: str, path: str) -> dict[str, str] | None:
            for key, header in headers:
                if header and _matches(key, host, path):
                    return {"Authorization": header}
            return None

        middlewares.append(AddHeadersMiddleware(add))
        tokens = {key: _auth.request(key)[0] for key, s in secrets.items() if s.token}
        if tokens:
            middlewares.append(MirrorMiddleware({k: [v] for k, v in tokens.items()}))
    middlewares += [AuthenticationMiddleware(), OciMiddleware(), GCSMiddleware(), S3Middleware()]
    return Client(middlewares)


def _unverified_client(network: Network) -> Client:
    """rattler's standard client with ``tls-no-verify``: only its configuration turns
    verification off. Mirrors and ``/t/<token>/`` tokens go in as its mirrors; a
    ``user:password`` written into a URL is not sent (rattler's credential storage is)."""
    mirrors = _mirror_map(network)
    for key, secret in _auth.remembered().items():
        if secret.token and key not in mirrors:
            mirrors[key] = [_auth.request(key)[0]]
    lines = ["tls-no-verify = true"]
    if mirrors:
        lines.append("[mirrors]")
        lines += [f"{json.dumps(k)} = {json.dumps(v)}" for k, v in sorted(mirrors.items())]
    return Client.from_config(Config.from_toml("\n".join(lines) + "\n"), max_retries=3)


def _mirror_map(network: Network) -> dict[str, list[str]]:
    # rattler joins the rest of the URL onto the mirror: both end with "/".
    return {k + "/": [m + "/" for m in v] for k, v in network.mirrors.items()}


@contextmanager
def _environment(network: Network) -> Iterator[None]:
    """The CA bundle and proxies of ``network`` in this process's environment while a client
    is built (reqwest reads them then), as they were afterwards."""
    wanted: dict[str, str] = {}
    if isinstance(network.ssl_verify, str):
        wanted["SSL_CERT_FILE"] = network.ssl_verify
    for scheme, proxy in network.proxy_servers.items():
        wanted[f"{scheme.upper()}_PROXY"] = proxy
    before = {name: os.environ.get(name) for name in wanted}
    os.environ.update(wanted)
    try:
        yield
    finally:
        for name, value in before.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _matches(prefix: str, host: str, path: str) -> bool:
    """Whether a request to ``host`` and ``path`` falls under the URL ``prefix``."""
    rest = prefix.split("://", 1)[-1]
    netloc, _, base = rest.partition("/")
    name = netloc.rsplit(":", 1)[0] if not netloc.endswith("]") else netloc
    name = name.strip("[]")
    return name == host.strip("[]") and (path.rstrip("/") + "/").startswith("/" + base)
