"""Strict YAML: what conda and Amber files may hold, nothing more.

PyYAML's safe loader takes a duplicate key silently (the last wins), lets a mapping key
be a list, and ``compose`` keeps unknown ``!tags``. The loaders here refuse all three,
so the user learns of a second ``dependencies:`` instead of losing the first.

PyYAML is imported on first read (about 10 ms): writing a lock (``dump``) and reading a
requirements file need none of it. A malformed text raises ``Invalid`` (what is wrong,
on which line), so that callers need not import PyYAML to catch it.
"""

from __future__ import annotations

import functools
import re
from typing import TYPE_CHECKING, Any

from amber._input import shorten
from amber.errors import MalformedYaml

if TYPE_CHECKING:
    import yaml

__all__ = ["Invalid", "load", "compose", "problem", "dump"]

_STANDARD_TAG = "tag:yaml.org,2002:"

Invalid = MalformedYaml  # what load and compose raise


@functools.cache
def _yaml() -> Any:
    """PyYAML, imported on first use."""
    import yaml  # noqa: PLC0415 - see the top

    return yaml


def _base() -> Any:
    yaml = _yaml()
    return getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _check(node: yaml.Node) -> None:
    """Refuse complex or duplicate keys and unknown tags anywhere under ``node``."""
    yaml = _yaml()
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
    """The node tree of ``text``, checked; ``Invalid`` when malformed."""
    yaml = _yaml()
    try:
        node = yaml.compose(text, Loader=_base())
        if node is not None:
            _check(node)
    except yaml.YAMLError as exc:
        raise Invalid(*problem(exc, text)) from None
    return node


def load(text: str) -> Any:
    """The data of ``text``, checked like ``compose``; ``Invalid`` when malformed."""
    yaml = _yaml()
    try:
        loader = _base()(text)
        try:
            node = loader.get_single_node()
            if node is None:
                return None
            _check(node)
            try:
                return loader.construct_document(node)
            except (ValueError, OverflowError) as exc:  # a timestamp-like scalar, no date
                raise yaml.constructor.ConstructorError(
                    None, None, f"cannot read a value: {shorten(exc)}", node.start_mark
                ) from None
        finally:
            loader.dispose()
    except yaml.YAMLError as exc:
        raise Invalid(*problem(exc, text)) from None


def problem(exc: yaml.YAMLError, text: str = "") -> tuple[str, int | None]:
    """What is wrong (one short line) and on which line (1-based), for any YAML error
    (``text``: what was parsed, to place an unreadable character)."""
    yaml = _yaml()
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


# -- writing ------------------------------------------------------------------------------

# Printable ASCII on one line, short enough that no emitter folds it or takes it for a
# complex key: what a lock holds. Anything else goes to PyYAML whole.
_SIMPLE = re.compile(r"[\x20-\x7e]{0,100}\Z")
_LONG_SIMPLE = re.compile(r"[\x20-\x7e]{0,1000}\Z")
# Surely plain (most of a lock: names, URLs, match specs): a first letter that starts no
# boolean or null (y n t f o), no "#", and ":" or " " only inside, each followed by
# something else. The rest is decided by _plain.
_EASY = re.compile(r'[A-EG-MP-SU-XZa-eg-mp-su-xz_/][!"$-9;-~]*(?:[ :][!"$-9;-~]+)*\Z')


def dump(data: Any) -> str:
    """``yaml.dump(data, Dumper=CSafeDumper, sort_keys=False, default_flow_style=False,
    width=4096)``, byte for byte, for mappings with text keys, lists, text, ints, booleans
    and None (a lock's content) written here, about five times faster; PyYAML's own for
    anything else."""
    if data and isinstance(data, dict | list):
        lines: list[str] = []
        try:
            if isinstance(data, dict):
                _mapping(data, 0, lines)
            else:
                _sequence(data, 0, lines)
        except ValueError:  # something left to PyYAML (which says so if it cannot either)
            pass
        else:
            lines.append("")
            return "\n".join(lines)
    yaml = _yaml()
    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    return yaml.dump(data, Dumper=dumper, sort_keys=False, default_flow_style=False, width=4096)


def _mapping(data: dict[str, Any], indent: int, lines: list[str]) -> None:
    pad = " " * indent
    for key, value in data.items():
        if type(key) is not str or not _SIMPLE.match(key):
            raise ValueError(key)
        head = f"{pad}{_scalar(key)}:"
        if value and isinstance(value, dict):
            lines.append(head)
            _mapping(value, indent + 2, lines)
        elif value and isinstance(value, list):
            lines.append(head)
            _sequence(value, indent, lines)  # PyYAML's sequences in mappings are indentless
        else:
            lines.append(f"{head} {_flow(value)}")


def _sequence(data: list[Any], indent: int, lines: list[str]) -> None:
    pad = " " * indent
    for item in data:
        if item and isinstance(item, dict | list):
            first = len(lines)
            if isinstance(item, dict):
                _mapping(item, indent + 2, lines)
            else:
                _sequence(item, indent + 2, lines)
            lines[first] = f"{pad}- {lines[first][indent + 2 :]}"
        else:
            lines.append(f"{pad}- {_flow(item)}")


def _flow(value: Any) -> str:
    """A scalar, or an empty collection (which PyYAML writes in flow style)."""
    if value is None:
        return "null"
    if value is True or value is False:
        return "true" if value else "false"
    kind = type(value)
    if kind is int:
        return str(value)
    if kind is str and _LONG_SIMPLE.match(value):
        return _scalar(value)
    if isinstance(value, list | dict) and not value:
        return "[]" if isinstance(value, list) else "{}"
    raise ValueError(value)


@functools.lru_cache(maxsize=8192)
def _scalar(text: str) -> str:
    """``text`` plain where the emitter writes it plain, else single-quoted (remembered: a
    lock repeats its versions, subdirs, channels and names)."""
    if _EASY.match(text) or _plain(text):
        return text
    return "'" + text.replace("'", "''") + "'"


def _plain(text: str) -> bool:
    """libyaml's (and PyYAML's) analysis of a one-line ASCII scalar in block context: no
    indicator where it would start something else, no space at either end, and read back
    as text, not as a number, a boolean, null or a date."""
    if not text or text[0] == " " or text[-1] == " " or text.startswith(("---", "...")):
        return False
    first = text[0]
    if first in "#,[]{}&*!|>'\"%@`":
        return False
    if first in "?:-" and (len(text) == 1 or text[1] == " "):
        return False
    if ": " in text or text.endswith(":") or " #" in text:
        return False
    return not any(pattern.match(text) for pattern in _implicit().get(first, ()))


@functools.cache
def _implicit() -> dict[str, list[re.Pattern[str]]]:
    """PyYAML's implicit resolvers (``yaml/resolver.py``, YAML 1.1: bool, float, int,
    merge, null, timestamp, value) by the first character they apply to, as its
    ``Resolver.resolve`` picks them; copied so that writing a lock needs no PyYAML import
    (``tests/lock/test_text_form.py`` holds ``dump`` to PyYAML's output)."""
    rules = [
        (r"""^(?:yes|Yes|YES|no|No|NO
            |true|True|TRUE|false|False|FALSE
            |on|On|ON|off|Off|OFF)$""", "yYnNtTfFoO"),
        (r"""^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?
            |\.[0-9][0-9_]*(?:[eE][-+][0-9]+)?
            |[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*
            |[-+]?\.(?:inf|Inf|INF)
            |\.(?:nan|NaN|NAN))$""", "-+0123456789."),
        (r"""^(?:[-+]?0b[0-1_]+
            |[-+]?0[0-7_]+
            |[-+]?(?:0|[1-9][0-9_]*)
            |[-+]?0x[0-9a-fA-F_]+
            |[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+)$""", "-+0123456789"),
        (r"^(?:<<)$", "<"),
        (r"""^(?: ~
            |null|Null|NULL
            | )$""", "~nN"),
        (r"""^(?:[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]
            |[0-9][0-9][0-9][0-9] -[0-9][0-9]? -[0-9][0-9]?
             (?:[Tt]|[ \t]+)[0-9][0-9]?
             :[0-9][0-9] :[0-9][0-9] (?:\.[0-9]*)?
             (?:[ \t]*(?:Z|[-+][0-9][0-9]?(?::[0-9][0-9])?))?)$""", "0123456789"),
        (r"^(?:=)$", "="),
    ]  # fmt: skip
    table: dict[str, list[re.Pattern[str]]] = {}
    for pattern, firsts in rules:
        compiled = re.compile(pattern, re.X)
        for first in firsts:
            table.setdefault(first, []).append(compiled)
    return table
