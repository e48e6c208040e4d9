"""The one rattler HTTP client every conda download goes through (solve, install, reads).

rattler's standard stack (retries, its authentication storage: ``$RATTLER_AUTH_FILE``,
keyring, ``~/.rattler/credentials.json``, netrc; OCI, GCS, S3) plus the credentials a
user wrote into a channel URL, which ``amber._auth`` keeps in memory: a basic-auth header
for the requests under that channel, and its ``/t/<token>/`` segment put back into the
request URL only. rattler (its repodata cache, its package cache, the records it
returns) sees nothing but the clean URL.
"""

from __future__ import annotations

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

__all__ = ["conda_client"]


def conda_client() -> Client:
    """A client with rattler's authentication and this process's in-memory credentials."""
    secrets = _auth.remembered()
    middlewares: list = [RetryMiddleware(3)]
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


def _matches(prefix: str, host: str, path: str) -> bool:
    """Whether a request to ``host`` and ``path`` falls under the URL ``prefix``."""
    rest = prefix.split("://", 1)[-1]
    netloc, _, base = rest.partition("/")
    name = netloc.rsplit(":", 1)[0] if not netloc.endswith("]") else netloc
    name = name.strip("[]")
    return name == host.strip("[]") and (path.rstrip("/") + "/").startswith("/" + base)
