"""Env names and tags: ``team/project/env[:tag]``, the one place that parses and validates
them, and the one place that turns them into storage keys.

A name is one or more segments joined by ``/`` (Metaflow's ``team/project/env_name``,
Docker's ``path-component ['/' path-component]*``); the tag after ``:`` defaults to
``latest``. Docker's characters, with what Amber accepted before kept valid:

- a name segment: letters (either case: Amber always took uppercase), digits, ``.``, ``_``,
  ``-``, starting with a letter or a digit (so never ``.`` or ``..``, nor a hidden file);
- no empty segment (no leading, trailing or doubled ``/``), no backslash, at most 255
  characters in all (Docker's ``NameTotalLengthMax``);
- a segment after the first never ends in ``.json``: its directory would collide with the
  tag object of the name above it (``tags/team/v1.json`` is ``team:v1``);
- a tag: Docker's ``[\\w][\\w.-]{0,127}`` (letters, digits, ``_``, ``.``, ``-``, at most
  128 characters, not starting with ``.`` or ``-``).

Every accepted ``name:tag`` maps to ``tags/<name>/<tag>.json`` inside the tag directory
(``tag_key``), and back (``from_tag_key``): the remote store's layout and its listing.
"""

from __future__ import annotations

import re

from amber._input import shorten
from amber.errors import InvalidNameError
from amber.settings import DEFAULT_MUTABLE_TAGS

__all__ = [
    "NAME",
    "DEFAULT_MUTABLE",
    "MAX_NAME",
    "MAX_TAG",
    "TAGS_DIR",
    "parse_tag",
    "parse_name",
    "parse_prefix",
    "split_ref",
    "valid_tag",
    "name_problem",
    "tag_problem",
    "tag_key",
    "from_tag_key",
    "under",
]

NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")  # one segment of a name (and a run id)
_TAG = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._-]*")
MAX_NAME = 255  # Docker's NameTotalLengthMax
MAX_TAG = 128  # Docker's tag grammar: [\w][\w.-]{0,127}
TAGS_DIR = "tags"
DEFAULT_MUTABLE = DEFAULT_MUTABLE_TAGS
_SEGMENT_RULE = "letters, digits, '.', '_', '-', starting with a letter or a digit"
_FORM = "use NAME[:TAG], NAME being segments joined by '/' (team/project/env:v1)"


def name_problem(name: str) -> str | None:
    """Why ``name`` is not a valid env name, or None when it is one."""
    if not name:
        return "the name is empty"
    if "\\" in name:
        return "a name has no backslash (segments are joined by '/')"
    if name.startswith("/"):
        return "a name does not start with '/' (it is relative: team/project/env)"
    if len(name) > MAX_NAME:
        return f"a name has at most {MAX_NAME} characters (this one has {len(name):,})"
    segments = name.split("/")
    for i, segment in enumerate(segments):
        if not segment:
            return "a name has no empty segment (no trailing or doubled '/')"
        if segment in (".", ".."):
            return f"{segment!r} is not a name segment (a name never leaves its directory)"
        if not NAME.fullmatch(segment):
            return f"the segment {shorten(segment)!r}: use {_SEGMENT_RULE}"
        if i > 0 and segment.endswith(".json"):
            return (
                f"the segment {shorten(segment)!r} ends in '.json', which is how the tags of "
                f"{'/'.join(segments[:i])!r} are stored"
            )
    return None


def tag_problem(tag: str) -> str | None:
    """Why ``tag`` is not a valid tag (the part after ``:``), or None when it is one."""
    if not tag:
        return "the tag is empty"
    if len(tag) > MAX_TAG:
        return f"a tag has at most {MAX_TAG} characters (this one has {len(tag):,})"
    if not _TAG.fullmatch(tag):
        return (
            f"the tag {shorten(tag)!r}: use letters, digits, '.', '_', '-', starting with a "
            "letter, a digit or '_'"
        )
    return None


def valid_tag(name: str, tag: str) -> bool:
    """Whether NAME and TAG are both valid (see the module's rules)."""
    return name_problem(name) is None and tag_problem(tag) is None


def split_ref(ref: str) -> tuple[str, str] | None:
    """``NAME[:TAG]`` -> (NAME, TAG), TAG defaulting to ``latest``; None when not valid."""
    name, _, tag = ref.partition(":")
    tag = tag or "latest"
    return (name, tag) if valid_tag(name, tag) else None


def parse_tag(ref: str) -> tuple[str, str]:
    """``NAME[:TAG]`` -> (NAME, TAG); TAG defaults to ``latest``. ``InvalidNameError``
    names the rule broken."""
    name, _, tag = ref.partition(":")
    problem = name_problem(name) or tag_problem(tag or "latest")
    if problem is not None:
        raise InvalidNameError(
            f"invalid tag {shorten(ref)!r}: {problem}; {_FORM}", ref=ref, rule=problem
        )
    return name, tag or "latest"


def parse_name(name: str) -> str:
    """An env NAME (the part of a tag before ``:``); ``InvalidNameError`` if not a valid one."""
    problem = name_problem(name)
    if problem is not None:
        raise InvalidNameError(
            f"invalid name {shorten(name)!r}: {problem}; {_FORM}", ref=name, rule=problem
        )
    return name


def parse_prefix(pattern: str) -> str:
    """A listing filter: ``team/`` (every name under it) or a NAME (that name's tags)."""
    parse_name(pattern[:-1] if pattern.endswith("/") else pattern)
    return pattern


def under(name: str, pattern: str | None) -> bool:
    """Whether ``name`` passes the filter ``pattern`` (``team/``: under it; else equal)."""
    if pattern is None:
        return True
    return name.startswith(pattern) if pattern.endswith("/") else name == pattern


def tag_key(name: str, tag: str) -> str:
    """The storage key of ``name:tag``: ``tags/<name>/<tag>.json``, always inside ``tags/``."""
    parse_tag(f"{name}:{tag}")
    return f"{TAGS_DIR}/{name}/{tag}.json"


def from_tag_key(key: str) -> tuple[str, str] | None:
    """(name, tag) of a storage key ``tag_key`` made, or None for anything else."""
    prefix = TAGS_DIR + "/"
    if not key.startswith(prefix) or not key.endswith(".json"):
        return None
    name, _, tag = key[len(prefix) : -len(".json")].rpartition("/")
    return (name, tag) if valid_tag(name, tag) else None
