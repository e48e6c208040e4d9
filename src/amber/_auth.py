"""Credentials for the channels, indexes and packages Amber downloads, kept in memory only.

Two sources, as rattler and pixi read them:

- what a user wrote into a URL (``https://user:pw@host/chan``, ``/t/<token>/``,
  ``?token=``): ``remember`` takes it out of the URL, keeps it in this process's memory
  under the URL without it, and returns that URL, the only form that goes further
  (into locks, stores, caches, messages);
- rattler's authentication storage: ``$RATTLER_AUTH_FILE`` (else
  ``~/.rattler/credentials.json``) and ``$NETRC`` (else ``~/.netrc``), read only when a
  download needs them.

``request`` gives the URL and headers to fetch a clean URL with (standard library
only: ``store.fetch`` uses it); ``amber._conda_client`` gives rattler the same.
"""

from __future__ import annotations

import base64
import functools
import json
import netrc
import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit, urlunsplit

from amber._urls import CONDA_TOKEN, SECRET_PARAM, redact

__all__ = [
    "Secret", "remember", "remembered", "stored", "request", "basic_header", "with_credentials",
    "requirement_with_credentials",
    "in_query",
]  # fmt: skip


@dataclass(frozen=True)
class Secret:
    """What authenticates requests under one URL prefix."""

    username: str | None = None
    password: str | None = None
    token: str | None = None  # conda's /t/<token>/ path segment
    token_after: str = ""  # the path before it (``/api`` in ``https://host/api/t/<token>/``)
    query: tuple[tuple[str, str], ...] = ()
    bearer: str | None = None


_MEMORY: dict[str, Secret] = {}


def remember(url: str) -> str:
    """``url`` without its credentials, which are kept in memory for requests under it."""
    clean = redact(url)
    if clean == url or "://" not in url:
        return url
    try:
        parts = urlsplit(url)
        username, password = parts.username, parts.password
    except ValueError:
        return clean
    token = CONDA_TOKEN.search(parts.path)
    query = tuple(
        (k, v)
        for k, v in parse_qsl(parts.query, keep_blank_values=True)
        if SECRET_PARAM.fullmatch(k)
    )
    secret = Secret(
        username=_unquote(username),
        password=_unquote(password),
        token=token.group(0)[3:] if token else None,
        token_after=parts.path[: token.start()] if token else "",
        query=query,
    )
    if secret != Secret():
        _MEMORY[_prefix(clean)] = secret
    return clean


def remembered() -> dict[str, Secret]:
    """The in-memory credentials, by the clean URL prefix they apply to."""
    return dict(_MEMORY)


def _unquote(text: str | None) -> str | None:
    return unquote(text) if text is not None else None


def _prefix(url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, parts.path.rstrip("/") + "/", "", ""))


def _in_memory(url: str) -> Secret | None:
    key = _prefix(url)
    best = max((p for p in _MEMORY if key.startswith(p)), key=len, default=None)
    return _MEMORY[best] if best is not None else None


@functools.lru_cache(maxsize=64)
def stored(host: str) -> Secret | None:
    """The credentials rattler's storage keeps for ``host``: ``$RATTLER_AUTH_FILE`` (else
    ``~/.rattler/credentials.json``, with ``*.domain`` wildcards), then netrc."""
    auth_file = os.environ.get("RATTLER_AUTH_FILE") or str(
        Path.home() / ".rattler" / "credentials.json"
    )
    try:
        with open(auth_file, encoding="utf-8") as f:
            entries = json.loads(f.read(1 << 20))
    except (OSError, ValueError):
        entries = {}
    if isinstance(entries, dict):
        keys = [host] + [
            "*." + ".".join(host.split(".")[i:]) for i in range(1, host.count(".") + 1)
        ]
        for key in keys:
            entry = entries.get(key)
            if isinstance(entry, dict):
                found = _from_rattler(entry)
                if found is not None:
                    return found
    try:
        machine = netrc.netrc(os.environ.get("NETRC") or None).authenticators(host)
    except (OSError, netrc.NetrcParseError):
        machine = None
    if machine is not None:
        return Secret(username=machine[0], password=machine[2])
    return None


def _from_rattler(entry: dict[str, object]) -> Secret | None:
    basic = entry.get("BasicHTTP")
    if isinstance(basic, dict):
        return Secret(
            username=str(basic.get("username", "")), password=str(basic.get("password", ""))
        )
    if isinstance(entry.get("BearerToken"), str):
        return Secret(bearer=str(entry["BearerToken"]))
    if isinstance(entry.get("CondaToken"), str):
        return Secret(token=str(entry["CondaToken"]))
    return None


def basic_header(secret: Secret) -> str | None:
    """The ``Authorization`` header ``secret`` calls for, if any."""
    if secret.bearer is not None:
        return f"Bearer {secret.bearer}"
    if secret.username is None and secret.password is None:
        return None
    pair = f"{secret.username or ''}:{secret.password or ''}".encode()
    return "Basic " + base64.b64encode(pair).decode()


def request(url: str) -> tuple[str, dict[str, str]]:
    """The URL to request and the headers to send for the clean ``url``: in-memory
    credentials first, then rattler's storage and netrc (by host)."""
    if not url.startswith(("http://", "https://")):
        return url, {}
    secret = _secret_for(url)
    if secret is None:
        return url, {}
    parts = urlsplit(url)
    path = parts.path
    if secret.token and path.startswith(secret.token_after):
        cut = len(secret.token_after)
        path = f"{path[:cut]}/t/{secret.token}{path[cut:]}"
    query = parts.query
    if secret.query:
        query = "&".join(q for q in (query, urlencode(secret.query)) if q)
    header = basic_header(secret)
    real = urlunsplit((parts.scheme, parts.netloc, path, query, parts.fragment))
    return real, ({"Authorization": header} if header else {})


def _secret_for(url: str) -> Secret | None:
    secret = _in_memory(url)
    if secret is None:
        try:
            secret = stored(urlsplit(url).hostname or "")
        except ValueError:
            return None
    return secret


def with_credentials(url: str) -> str:
    """The clean ``url`` with its credentials put back, for a tool that takes them only in
    the URL (uv): handed to it in memory or in a private temporary file, never kept."""
    if not url.startswith(("http://", "https://")):
        return url
    secret = _secret_for(url)
    if secret is None or secret.bearer is not None:
        return url
    real, _headers = request(url)
    if secret.username is None and secret.password is None:
        return real
    parts = urlsplit(real)
    userinfo = quote(secret.username or "", safe="")
    if secret.password is not None:
        userinfo += ":" + quote(secret.password, safe="")
    return urlunsplit((parts.scheme, f"{userinfo}@{parts.netloc}", *parts[2:]))


def requirement_with_credentials(requirement: str) -> str:
    """A PEP 508 line whose ``@ URL`` (or an unnamed one's URL) gets its credentials back
    (``with_credentials``)."""
    name, at, rest = requirement.partition(" @ ")
    if not at:
        if "://" not in requirement.split(" ", 1)[0]:
            return requirement
        url, space, tail = requirement.partition(" ")
        if url.startswith("git+"):
            repo, revision = git_repository(url)
            return f"git+{with_credentials(repo)}{revision}{space}{tail}"
        return f"{with_credentials(url)}{space}{tail}"
    url, space, tail = rest.partition(" ")
    if url.startswith("git+"):
        repo, revision = git_repository(url)
        return f"{name} @ git+{with_credentials(repo)}{revision}{space}{tail}"
    return f"{name} @ {with_credentials(url)}{space}{tail}"


def git_repository(url: str) -> tuple[str, str]:
    """``git+URL[@REV][#FRAGMENT]`` split into the repository's URL (no ``git+``) and the
    rest (``@REV#FRAGMENT``): credentials belong to the repository, whatever the revision."""
    bare, hash_, fragment = url.removeprefix("git+").partition("#")
    scheme, sep, after = bare.partition("://")
    netloc, slash, path = after.partition("/")
    repo, at, revision = path.rpartition("@") if "@" in path else (path, "", "")
    return f"{scheme}{sep}{netloc}{slash}{repo}", f"{at}{revision}{hash_}{fragment}"


def in_query(url: str) -> bool:
    """Whether a request for ``url`` carries a credential in its query string (``?token=``),
    which tools that cache by URL (uv) would keep: Amber downloads those itself."""
    secret = _in_memory(url) if url.startswith(("http://", "https://")) else None
    return secret is not None and bool(secret.query)
