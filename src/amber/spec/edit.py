"""Adding a requirement to a spec file with the fewest changes: comments and layout stay.

Each file kind is edited as text at the places its parser points to (yaml node
marks, requirement lines, TOML value offsets), never re-dumped. The result is
checked by reading it back as a spec; on any failure the file keeps its bytes.
"""

from __future__ import annotations

import json
import os
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from packaging.utils import canonicalize_name

from amber._fs import write_atomic
from amber._input import shorten
from amber._urls import redact_text
from amber.errors import SpecError
from amber.spec import _kind, canonical_conda_spec, canonical_pypi_requirement, read_spec
from amber.spec.model import _conda_name

__all__ = ["add_to_spec_file"]


def add_to_spec_file(path: Path, requirement: str, *, pypi: bool) -> None:
    """Add ``requirement`` (a PyPI requirement or a conda match spec) to the spec file at
    ``path``, or replace the entry of the same package; ``SpecError`` leaves it unchanged."""
    path = Path(path)
    kind = _kind(path)
    if kind not in ("environment", "requirements", "pyproject"):
        raise SpecError(
            "can only add packages to environment.yml, requirements.txt or pyproject.toml", path
        )
    if kind == "requirements" and not pypi:
        raise SpecError(
            f"cannot add conda package '{requirement.strip()}': requirements.txt holds PyPI "
            "packages only (add it to an environment.yml, or to [tool.amber].conda in "
            "pyproject.toml)",
            path,
        )
    entry = _Entry.parse(requirement, pypi=pypi)
    read_spec(path)  # a file that is already broken is not ours to edit
    target = path.resolve()  # write through a symlink, not over it
    original = target.read_bytes().decode("utf-8")
    edit = {
        "environment": _edit_environment,
        "requirements": _edit_requirements,
        "pyproject": _edit_pyproject,
    }[kind]
    edited = edit(original, entry, path)
    if edited == original:
        return
    mode = target.stat().st_mode & 0o7777
    _write(target, edited, mode)
    try:
        read_spec(path)
    except BaseException as exc:
        _write(target, original, mode)
        if not isinstance(exc, SpecError):
            raise
        raise SpecError(
            f"{path}: adding '{entry.text}' would make the file invalid, so it is left as it "
            f"was ({exc})"
        ) from None


def _write(path: Path, text: str, mode: int) -> None:
    write_atomic(path, text)
    os.chmod(path, mode)  # the temp file behind write_atomic is private (0600)


@dataclass(frozen=True)
class _Entry:
    """The requirement to add, as typed (stripped), and the package name it is about."""

    text: str
    name: str
    pypi: bool

    @classmethod
    def parse(cls, text: str, *, pypi: bool) -> _Entry:
        text = text.strip()
        try:
            if pypi:
                canonical_pypi_requirement(text)
                name = _pypi_name(text)
            else:
                name = _conda_name(canonical_conda_spec(text))
        except SpecError as exc:
            raise SpecError(f"{exc} (nothing was added)") from None
        if name is None:  # an unnamed URL or path: no entry to find again or replace
            said = f"{shorten(text)!r} names no package: write NAME @ URL (nothing was added)"
            raise SpecError(redact_text(said))
        return cls(text=text, name=name, pypi=pypi)

    def matches(self, text: str) -> bool:
        """True when the existing entry ``text`` names the same package."""
        if self.pypi:
            return _pypi_name(text) == self.name
        try:
            return _conda_name(canonical_conda_spec(text)) == self.name
        except SpecError:
            return False


def _pypi_name(text: str) -> str | None:
    """The normalised name of a requirement line, ``None`` for options and unparsable text."""
    text = text.strip()
    if not text or text.startswith("-"):
        return None
    # Imported here: PEP 508 parsing is for PyPI requirements, and `amber lock` of a conda
    # spec does without it (about 20 ms of imports; docs/ARCHITECTURE.md, the hot paths).
    from packaging.requirements import InvalidRequirement, Requirement

    try:
        return str(canonicalize_name(Requirement(text.partition(" --")[0]).name))
    except InvalidRequirement:
        return None


def _newline(text: str) -> str:
    return "\r\n" if "\r\n" in text else "\n"


def _line_start(text: str, index: int) -> int:
    return text.rfind("\n", 0, index) + 1


def _next_line(text: str, index: int, nl: str) -> tuple[int, str]:
    """Where the line after the one holding ``index`` starts, and what must come first
    there (a line break when the file ends without one)."""
    end = text.find("\n", index)
    return (len(text), nl) if end < 0 else (end + 1, "")


def _splice(text: str, edits: list[tuple[int, int, str]]) -> str:
    """Replace each (start, end) span with its text; spans must not overlap."""
    for start, end, new in sorted(edits, reverse=True):
        text = text[:start] + new + text[end:]
    return text


# -- environment.yml --------------------------------------------------------------


def _yaml_scalar(text: str, *, flow: bool) -> str:
    """``text`` as a YAML scalar: plain when it reads back as itself, else double-quoted."""
    probe = f"[{text}]" if flow else f"- {text}"
    try:
        if yaml.safe_load(probe) == [text]:
            return text
    except (yaml.YAMLError, ValueError):  # ValueError: a date-like scalar that is no date
        pass
    return json.dumps(text, ensure_ascii=False)  # a JSON string is a YAML double-quoted one


def _dash_prefix(text: str, node: Any) -> str | None:
    """What precedes a block sequence item on its line (``"  - "``), if only that does."""
    prefix = text[_line_start(text, node.start_mark.index) : node.start_mark.index]
    return prefix if re.fullmatch(r"[ ]*-[ ]+", prefix) else None


def _flow_append(text: str, seq: Any, item: str) -> tuple[int, int, str]:
    """The edit adding ``item`` at the end of a flow sequence (``[a, b]``)."""
    close = seq.end_mark.index - 1
    if not seq.value:
        return (close, close, item)
    last_end = seq.value[-1].end_mark.index
    if re.match(r"\s*,", text[last_end:close]):  # a trailing comma already
        return (close, close, f" {item}" if text[close - 1] not in " \n" else item)
    return (last_end, last_end, f", {item}")


def _edit_environment(text: str, entry: _Entry, path: Path) -> str:
    nl = _newline(text)
    root = yaml.compose(text, Loader=yaml.SafeLoader)
    assert isinstance(root, yaml.MappingNode)  # read_spec has checked that it is a mapping
    deps = next((v for k, v in root.value if k.value == "dependencies"), None)
    pip_items: list[Any] = []  # the `pip:` mappings, in order
    for item in deps.value if isinstance(deps, yaml.SequenceNode) else ():
        if isinstance(item, yaml.MappingNode):
            pip_items += [v for k, v in item.value if k.value == "pip"]

    # Replace the entries of the same package where they are.
    if entry.pypi:
        pip_lists = [p for p in pip_items if isinstance(p, yaml.SequenceNode)]
        candidates = [i for p in pip_lists for i in p.value]
        in_flow = {id(i) for p in pip_lists if p.flow_style for i in p.value}
    else:
        candidates = list(deps.value) if isinstance(deps, yaml.SequenceNode) else []
        in_flow = {id(i) for i in candidates} if deps is not None and deps.flow_style else set()
    replaced = [
        (
            i.start_mark.index,
            i.end_mark.index,
            _yaml_scalar(entry.text, flow=id(i) in in_flow),
        )
        for i in candidates
        if isinstance(i, yaml.ScalarNode) and entry.matches(i.value)
    ]
    if replaced:
        return _splice(text, replaced)

    if deps is None:
        tail = "" if text.endswith("\n") or not text else nl
        return text + tail + "dependencies:" + nl + _new_list("  ", entry, nl)

    if deps.flow_style:
        if not entry.pypi:
            return _splice(text, [_flow_append(text, deps, _yaml_scalar(entry.text, flow=True))])
        flow_pips = [p for p in pip_items if isinstance(p, yaml.SequenceNode) and p.flow_style]
        if flow_pips:
            item = _yaml_scalar(entry.text, flow=True)
            return _splice(text, [_flow_append(text, flow_pips[-1], item)])
        if pip_items:
            raise _by_hand(path, entry)
        item = "{pip: [" + _yaml_scalar(entry.text, flow=True) + "]}"
        return _splice(text, [_flow_append(text, deps, item)])

    scalars = [i for i in deps.value if isinstance(i, yaml.ScalarNode)]
    line = _yaml_scalar(entry.text, flow=False)
    default_prefix = " " * deps.start_mark.column + "- "
    if not entry.pypi:
        if scalars:
            anchor = scalars[-1]
            at, first = _next_line(text, anchor.end_mark.index, nl)
        else:  # only a pip section: go before it
            anchor = deps.value[0]
            at, first = _line_start(text, anchor.start_mark.index), ""
        prefix = _dash_prefix(text, anchor) or default_prefix
        return _splice(text, [(at, at, f"{first}{prefix}{line}{nl}")])

    if not pip_items:
        anchor = deps.value[-1]
        prefix = _dash_prefix(text, anchor) or default_prefix
        at, first = _next_line(text, anchor.end_mark.index, nl)
        sub = " " * (len(prefix) + 2)
        return _splice(text, [(at, at, f"{first}{prefix}pip:{nl}{sub}- {line}{nl}")])
    pip = pip_items[-1]
    if isinstance(pip, yaml.SequenceNode) and pip.flow_style:
        return _splice(text, [_flow_append(text, pip, _yaml_scalar(entry.text, flow=True))])
    if isinstance(pip, yaml.SequenceNode):
        anchor = pip.value[-1]
        prefix = _dash_prefix(text, anchor) or " " * pip.start_mark.column + "- "
        at, first = _next_line(text, anchor.end_mark.index, nl)
        return _splice(text, [(at, at, f"{first}{prefix}{line}{nl}")])
    if isinstance(pip, yaml.ScalarNode) and pip.value in ("", "~", "null"):  # `- pip:` alone
        pip_key = next(
            k for item in deps.value if isinstance(item, yaml.MappingNode)
            for k, v in item.value if v is pip
        )  # fmt: skip
        indent = " " * (pip_key.start_mark.column + 2)
        at, first = _next_line(text, pip_key.end_mark.index, nl)
        drop = (pip.start_mark.index, pip.end_mark.index, "")
        return _splice(text, [drop, (at, at, f"{first}{indent}- {line}{nl}")])
    raise _by_hand(path, entry)


def _new_list(indent: str, entry: _Entry, nl: str) -> str:
    """The lines of a new `dependencies:` list holding just ``entry``."""
    line = _yaml_scalar(entry.text, flow=False)
    if entry.pypi:
        return f"{indent}- pip:{nl}{indent}    - {line}{nl}"
    return f"{indent}- {line}{nl}"


def _by_hand(path: Path, entry: _Entry) -> SpecError:
    return SpecError(
        f"cannot add '{entry.text}' to this layout automatically: add it by hand", path
    )


# -- requirements.txt --------------------------------------------------------------


def _edit_requirements(text: str, entry: _Entry, path: Path) -> str:
    nl = _newline(text)
    lines = text.splitlines(keepends=True)
    edits: list[tuple[int, int, str]] = []
    offset, group_start, group_text = 0, 0, ""
    starts = []
    for raw in lines:
        starts.append(offset)
        offset += len(raw)
    for number, raw in enumerate(lines):
        code = re.sub(r"(^|\s)#.*$", "", raw.rstrip("\r\n")).rstrip()
        if not group_text:
            group_start = number
        if code.endswith("\\"):
            group_text += code[:-1] + " "
            continue
        group_text += code
        logical, group_text = group_text.strip(), ""
        if not entry.matches(logical):
            continue
        # Keep the comment of a one-line entry; drop `--hash` options (they pinned the old file).
        body = raw.rstrip("\r\n")
        comment = body[len(code) :] if group_start == number else ""
        edits.append((starts[group_start], starts[number] + len(body), entry.text + comment))
    if edits:
        return _splice(text, edits)
    tail = "" if text.endswith("\n") or not text else nl
    return text + tail + entry.text + nl


# -- pyproject.toml -----------------------------------------------------------------


@dataclass(frozen=True)
class _TomlArray:
    """An array value: where its brackets are and each item's span (and text, for strings)."""

    open: int
    close: int
    items: tuple[tuple[int, int, str | None], ...]


@dataclass(frozen=True)
class _TomlKeyValue:
    path: tuple[str, ...]  # table path + dotted key
    line: int  # where the statement's line starts
    end: int  # where its value ends
    array: _TomlArray | None


@dataclass(frozen=True)
class _TomlHeader:
    path: tuple[str, ...]
    line: int
    end: int
    is_array: bool  # [[array of tables]]


class _TomlScanner:
    """Statement positions of a valid TOML document (tomllib has checked it first)."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.headers: list[_TomlHeader] = []
        self.values: list[_TomlKeyValue] = []
        self._scan()

    def _skip(self, i: int, *, newlines: bool) -> int:
        text = self.text
        while i < len(text):
            c = text[i]
            if c in " \t" or (newlines and c in "\r\n"):
                i += 1
            elif c == "#":
                end = text.find("\n", i)
                i = len(text) if end < 0 else end
            else:
                break
        return i

    def _scan(self) -> None:
        text, i = self.text, 0
        table: tuple[str, ...] = ()
        while True:
            i = self._skip(i, newlines=True)
            if i >= len(text):
                return
            line = _line_start(text, i)
            if text[i] == "[":
                is_array = text.startswith("[[", i)
                table, i = self._key(i + (2 if is_array else 1))
                i = self._skip(i, newlines=False) + (2 if is_array else 1)
                self.headers.append(_TomlHeader(table, line, i, is_array))
                continue
            key, i = self._key(i)
            i = self._skip(i, newlines=False) + 1  # "="
            i = self._skip(i, newlines=False)
            array = self._array(i) if text[i] == "[" else None
            i = array.close + 1 if array else self._value(i)[0]
            self.values.append(_TomlKeyValue((*table, *key), line, i, array))

    def _key(self, i: int) -> tuple[tuple[str, ...], int]:
        parts = []
        while True:
            i = self._skip(i, newlines=False)
            if self.text[i] in "\"'":
                end = self._string_end(i)
                parts.append(_toml_string(self.text[i:end]))
                i = end
            else:
                match = re.compile(r"[A-Za-z0-9_-]+").match(self.text, i)
                assert match is not None
                parts.append(match.group())
                i = match.end()
            i = self._skip(i, newlines=False)
            if self.text[i] != ".":
                return tuple(parts), i
            i += 1

    def _string_end(self, i: int) -> int:
        text = self.text
        quote = text[i]
        if text.startswith(quote * 3, i):
            j = i + 3
            while not text.startswith(quote * 3, j):
                j += 2 if quote == '"' and text[j] == "\\" else 1
            end = j + 3
            while end < j + 5 and text.startswith(quote, end):  # `""""a"""""`: quotes in it
                end += 1
            return end
        j = i + 1
        while text[j] != quote:
            j += 2 if quote == '"' and text[j] == "\\" else 1
        return j + 1

    def _value(self, i: int) -> tuple[int, str | None]:
        """End of the value at ``i``, and its text when it is a string."""
        text = self.text
        if text[i] in "\"'":
            end = self._string_end(i)
            return end, _toml_string(text[i:end])
        if text[i] == "[":
            return self._array(i).close + 1, None
        if text[i] == "{":
            j = i + 1
            while True:
                j = self._skip(j, newlines=True)
                if text[j] == "}":
                    return j + 1, None
                if text[j] == ",":
                    j += 1
                    continue
                _, j = self._key(j)
                j = self._skip(j, newlines=False) + 1
                j = self._value(self._skip(j, newlines=False))[0]
        match = re.compile(r"[^,\]}#\r\n]*").match(text, i)
        assert match is not None
        return i + len(match.group().rstrip()), None

    def _array(self, i: int) -> _TomlArray:
        items: list[tuple[int, int, str | None]] = []
        j = i + 1
        while True:
            j = self._skip(j, newlines=True)
            if self.text[j] == "]":
                return _TomlArray(i, j, tuple(items))
            if self.text[j] == ",":
                j += 1
                continue
            end, value = self._value(j)
            items.append((j, end, value))
            j = end


def _toml_string(literal: str) -> str:
    return str(tomllib.loads(f"x = {literal}")["x"])


def _toml_literal(text: str, like: str | None = None) -> str:
    """``text`` as a TOML string, single-quoted when ``like`` (an existing item) is."""
    if like and like.startswith("'") and "'" not in text and "\n" not in text:
        return f"'{text}'"
    return json.dumps(text, ensure_ascii=False)  # JSON escapes are valid in TOML basic strings


def _array_append(text: str, key: _TomlKeyValue, array: _TomlArray, item: str, nl: str) -> str:
    inner = text[array.open + 1 : array.close]
    key_indent = re.match(r"[ \t]*", text[key.line :])
    assert key_indent is not None
    if "\n" not in inner:  # one line: ["a", "b"]
        if not array.items:
            return _splice(text, [(array.close, array.close, item)])
        last_end = array.items[-1][1]
        if re.match(r"\s*,", text[last_end : array.close]):
            space = "" if text[array.close - 1] == " " else " "
            return _splice(text, [(array.close, array.close, space + item)])
        return _splice(text, [(last_end, last_end, f", {item}")])
    if not array.items:
        indent = key_indent.group() + "    "
        return _splice(text, [(array.open + 1, array.open + 1, f"{nl}{indent}{item},")])
    start, end, _ = array.items[-1]
    prefix = text[_line_start(text, start) : start]
    indent = prefix if re.fullmatch(r"[ \t]*", prefix) else key_indent.group() + "    "
    comma = re.match(r"\s*,", text[end : array.close])
    after = end + comma.end() if comma else end
    if "\n" not in text[after : array.close]:  # `"b"]` closes on the last item's line
        return _splice(text, [(after, after, f"{'' if comma else ','}{nl}{indent}{item}")])
    eol = text.find("\n", after)
    eol -= text[eol - 1] == "\r"
    if comma:
        return _splice(text, [(eol, eol, f"{nl}{indent}{item},")])
    return text[:end] + "," + text[end:eol] + f"{nl}{indent}{item}" + text[eol:]


def _edit_pyproject(text: str, entry: _Entry, path: Path) -> str:
    nl = _newline(text)
    data = tomllib.loads(text)
    scan = _TomlScanner(text)
    arrays = {v.path: v for v in scan.values if v.array is not None}
    if entry.pypi:
        places = [("project", "dependencies"), ("tool", "amber", "pypi")]
        project = data.get("project")
        dynamic = project.get("dynamic", []) if isinstance(project, dict) else []
        # Without a [project] (or with dynamic dependencies) the list is Amber's own.
        target = places[0] if project is not None and "dependencies" not in dynamic else places[1]
    else:
        places = [("tool", "amber", "conda")]
        target = places[0]

    replaced = [
        (start, end, _toml_literal(entry.text, text[start:end]))
        for place in places
        if place in arrays
        for start, end, value in arrays[place].array.items  # type: ignore[union-attr]
        if value is not None and entry.matches(value)
    ]
    if replaced:
        return _check_toml(_splice(text, replaced), path, entry)

    table, key = target[:-1], target[-1]
    if target in arrays:
        found = arrays[target]
        assert found.array is not None
        like = text[slice(*found.array.items[-1][:2])] if found.array.items else None
        edited = _array_append(text, found, found.array, _toml_literal(entry.text, like), nl)
        return _check_toml(edited, path, entry)
    if _lookup(data, target) is not None:
        raise _by_hand(path, entry)  # set where the scanner does not look (an inline table)
    line = f"{key} = [{_toml_literal(entry.text)}]{nl}"
    header = next((h for h in scan.headers if h.path == table and not h.is_array), None)
    if header is None:
        tail = "" if text.endswith("\n") or not text else nl
        gap = nl if text.strip() else ""
        edited = text + tail + gap + f"[{'.'.join(table)}]{nl}" + line
        return _check_toml(edited, path, entry)
    following = [h.line for h in scan.headers if h.line > header.line]
    region_end = min(following, default=len(text))
    inside = [v for v in scan.values if header.line < v.line < region_end]
    anchor = max((v.end for v in inside), default=header.end)
    at, first = _next_line(text, anchor, nl)
    return _check_toml(_splice(text, [(at, at, first + line)]), path, entry)


def _lookup(data: dict[str, Any], path: tuple[str, ...]) -> object:
    for part in path:
        if not isinstance(data, dict) or part not in data:
            return None
        data = data[part]
    return data


def _check_toml(text: str, path: Path, entry: _Entry) -> str:
    try:
        tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        raise _by_hand(path, entry) from None
    return text
