"""URL helpers shared by every step: secrets never leave memory."""

from __future__ import annotations

import functools
import re
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

__all__ = ["redact", "channel_url", "is_url", "CONDA_TOKEN", "SECRET_PARAM", "redact_text"]

# conda's token segment: /t/<token>/ (anaconda.org, quetz). ``/t/${VAR}/`` names where the
# token comes from, not the token: it stays (expanded only for a request, ``amber.channels``).
CONDA_TOKEN = re.compile(r"/t/(?!\$\{?[A-Za-z_][A-Za-z0-9_]*\}?(?:/|$))[^/]+(?=/|$)")
# Query parameters that carry a credential (``?token=``, signed-URL signatures...).
SECRET_PARAM = re.compile(
    r"(.*[-_.])?(token|access[-_]?token|auth|password|passwd|secret|key|api[-_]?key|sig|"
    r"signature|credential|security[-_]token)",
    re.IGNORECASE,
)


def is_url(text: str) -> bool:
    return "://" in text


# A URL with nothing to take out or normalise: a lower-case host without port or user, a
# path of plain characters and no /t/ segment, no query, no fragment (most package URLs).
_PLAIN = re.compile(r"(?:https?|file)://[a-z0-9.-]*(?:/(?!t/)[A-Za-z0-9._~+=,-]+)*/?\Z")


@functools.lru_cache(maxsize=4096)
def redact(url: str) -> str:
    """``url`` without user, password, conda ``/t/<token>`` segment (a ``/t/${VAR}/`` stays:
    it names a variable, holds no secret) or query parameters that carry a credential
    (``?token=``); IPv6 hosts keep their brackets."""
    if not is_url(url):
        return url
    if _PLAIN.match(url):
        return url  # what _redacted gives back unchanged (tests/test_urls.py)
    return _redacted(url)


def _redacted(url: str) -> str:
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:  # a malformed host or port: keep nothing that could be a secret
        return url.split("://", 1)[0] + "://<malformed>"
    host = parts.hostname or ""
    netloc = f"[{host}]" if ":" in host else host
    if parts.scheme in ("ssh", "git+ssh") and parts.username and parts.password is None:
        netloc = f"{parts.username}@{netloc}"  # ssh's user (git@) is who, not a secret
    if port:
        netloc = f"{netloc}:{port}"
    # A conda token segment belongs to channel URLs; a git repository may well live under
    # /t/ (a user or group named t): VCS URLs keep their path (their secrets are userinfo).
    vcs = parts.scheme.startswith(("git+", "hg+", "svn+", "bzr+")) or parts.scheme in ("git", "ssh")
    path = parts.path if vcs else CONDA_TOKEN.sub("", parts.path, count=1)
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        query = urlencode([(k, v) for k, v in pairs if not SECRET_PARAM.fullmatch(k)])
    return urlunsplit((parts.scheme, netloc, path, query, parts.fragment))


def channel_url(channel: str, base: Path | None = None) -> str:
    """A channel as written by a user, made absolute: a name, a URL or a local path."""
    channel = channel.strip()
    if is_url(channel):
        return channel.rstrip("/")
    if channel.startswith(("/", "./", "../", "~")) or channel in (".", ".."):
        path = Path(channel).expanduser()
        if not path.is_absolute() and base is not None:
            path = base / path
        return path.resolve().as_uri()
    return channel


# A scheme starts where no scheme character precedes it: the same matches, but linear
# time on a long run of letters without "://" (a 2 MB line took hours, quadratically).
_URL_IN_TEXT = re.compile(r"(?<![A-Za-z0-9+.-])[A-Za-z][A-Za-z0-9+.-]*://[^\s'\"()<>]+")


def redact_text(text: str) -> str:
    """``text`` (a message, another tool's output) with every URL in it redacted."""
    if "://" not in text:
        return text
    return _URL_IN_TEXT.sub(lambda m: redact(m.group(0)), text)
