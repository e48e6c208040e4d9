"""Env names and tags: ``NAME[:TAG]``, and which tags may move."""

from __future__ import annotations

import os
import re

from amber.errors import AmberError

__all__ = ["NAME", "DEFAULT_MUTABLE", "parse_tag", "mutable_tags"]

NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")  # a tag's NAME and TAG parts
DEFAULT_MUTABLE = ("latest", "stable", "candidate")


def parse_tag(ref: str) -> tuple[str, str]:
    """``NAME[:TAG]`` -> (NAME, TAG); TAG defaults to ``latest``."""
    name, _, tag = ref.partition(":")
    tag = tag or "latest"
    if not NAME.fullmatch(name) or not NAME.fullmatch(tag):
        raise AmberError(
            f"invalid tag {ref!r}: use NAME or NAME:TAG (letters, digits, '.', '_', '-')"
        )
    return name, tag


def mutable_tags() -> tuple[str, ...]:
    """Tags that may move: ``$AMBER_MUTABLE_TAGS`` (comma-separated) or the defaults."""
    text = os.environ.get("AMBER_MUTABLE_TAGS")
    if text is None:
        return DEFAULT_MUTABLE
    return tuple(t.strip() for t in text.split(",") if t.strip())
