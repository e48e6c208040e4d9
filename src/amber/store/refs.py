"""Env names and tags: ``NAME[:TAG]``, the one place that parses and validates them."""

from __future__ import annotations

import re

from amber._input import shorten
from amber.errors import AmberError
from amber.settings import DEFAULT_MUTABLE_TAGS

__all__ = ["NAME", "DEFAULT_MUTABLE", "parse_tag", "parse_name", "split_ref", "valid_tag"]

NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")  # a tag's NAME and TAG parts
DEFAULT_MUTABLE = DEFAULT_MUTABLE_TAGS


def valid_tag(name: str, tag: str) -> bool:
    """Whether NAME and TAG are both valid parts (letters, digits, '.', '_', '-')."""
    return bool(NAME.fullmatch(name) and NAME.fullmatch(tag))


def split_ref(ref: str) -> tuple[str, str] | None:
    """``NAME[:TAG]`` -> (NAME, TAG), TAG defaulting to ``latest``; None when not valid."""
    name, _, tag = ref.partition(":")
    tag = tag or "latest"
    return (name, tag) if valid_tag(name, tag) else None


def parse_tag(ref: str) -> tuple[str, str]:
    """``NAME[:TAG]`` -> (NAME, TAG); TAG defaults to ``latest``."""
    parsed = split_ref(ref)
    if parsed is None:
        raise AmberError(
            f"invalid tag {shorten(ref)!r}: use NAME or NAME:TAG (letters, digits, '.', '_', '-')"
        )
    return parsed


def parse_name(name: str) -> str:
    """An env NAME (the part of a tag before ``:``); ``AmberError`` if not a valid one."""
    if not NAME.fullmatch(name):
        raise AmberError(
            f"invalid name {shorten(name)!r}: use letters, digits, '.', '_', '-' "
            "(starting with a letter or digit)"
        )
    return name
