"""Strict YAML: what conda and Amber files may hold, nothing more.

PyYAML's safe loader takes a duplicate key silently (the last wins), lets a mapping key
be a list, and ``compose`` keeps unknown ``!tags``. The loaders here refuse all three,
so the user learns of a second ``dependencies:`` instead of losing the first.
"""

from __future__ import annotations

from typing import Any

import yaml

from amber._input import shorten

__all__ = ["load", "compose", "problem"]

_BASE = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_STANDARD_TAG = "tag:yaml.org,2002:"


def _check(node: yaml.Node) -> None:
    """Refuse complex or duplicate keys and unknown tags anywhere under ``node``."""
    stack = [node]
    while stack:
        current = stack.pop()
        if not (current.tag or "").startswith(_STANDARD_TAG):
            raise yaml.constructor.ConstructorError(
                None, None, f"unknown tag {shorten(current.tag)!r}", current.start_mark
            )
        if isinstance(current, yaml.MappingNode):
            seen: set[str] = set()
            for key, value in current.value:
                if not isinstance(key, yaml.ScalarNode):
                    raise yaml.constructor.ConstructorError(
                        None, None, "a mapping key must be a plain value", key.start_mark
                    )
                if key.value in seen and key.value != "<<":
                    raise yaml.constructor.ConstructorError(
                        None, None, f"duplicate key {shorten(key.value)!r}", key.start_mark
                    )
                seen.add(key.value)
                stack += [key, value]
        elif isinstance(current, yaml.SequenceNode):
            stack += current.value


def compose(text: str) -> yaml.Node | None:
    """The node tree of ``text``, checked; ``yaml.YAMLError`` when malformed."""
    node = yaml.compose(text, Loader=_BASE)
    if node is not None:
        _check(node)
    return node


def load(text: str) -> Any:
    """The data of ``text``, checked like ``compose``; ``yaml.YAMLError`` when malformed."""
    loader = _BASE(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        _check(node)
        try:
            return loader.construct_document(node)
        except (ValueError, OverflowError) as exc:  # a timestamp-like scalar that is no date
            raise yaml.constructor.ConstructorError(
                None, None, f"cannot read a value: {shorten(exc)}", node.start_mark
            ) from None
    finally:
        loader.dispose()


def problem(exc: yaml.YAMLError, text: str = "") -> tuple[str, int | None]:
    """What is wrong (one short line) and on which line (1-based), for any YAML error
    (``text``: what was parsed, to place an unreadable character)."""
    if isinstance(exc, yaml.MarkedYAMLError):
        mark = exc.problem_mark or exc.context_mark
        what = exc.problem or exc.context or "malformed"
        return shorten(what), (mark.line + 1 if mark else None)
    if isinstance(exc, yaml.reader.ReaderError):
        what = (
            f"unacceptable character #x{exc.character:04x}"
            if isinstance(exc.character, int)
            else "unacceptable character"
        )
        line = text.count("\n", 0, exc.position) + 1 if text else None
        return f"{what}: control characters are not allowed", line
    return shorten(exc), None
