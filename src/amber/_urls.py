"""URL helpers shared by every step: secrets never leave memory."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

__all__ = ["redact", "channel_url", "is_url"]

_CONDA_TOKEN = re.compile(r"/t/[^/]+")


def is_url(text: str) -> bool:
    return "://" in text


def redact(url: str) -> str:
    """``url`` without user, password or conda ``/t/<token>`` segment."""
    if not is_url(url):
        return url
    parts = urlsplit(url)
    netloc = parts.hostname or ""
    if parts.port:
        netloc = f"{netloc}:{parts.port}"
    path = _CONDA_TOKEN.sub("", parts.path)
    return urlunsplit((parts.scheme, netloc, path, parts.query, parts.fragment))


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
