"""pyproject.toml: ``[project].dependencies`` plus Amber's ``[tool.amber]`` table as a ``Spec``."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from amber._input import MAX_ENTRIES, read_input, shorten
from amber.channels import CondaConfig
from amber.errors import SpecError
from amber.spec.model import (
    Spec,
    canonical_conda_spec,
    canonical_pypi_requirement,
    checked_channel,
    from_file,
)
from amber.spec.poetry import Dependencies, flit_dependencies, poetry_dependencies

__all__ = ["read_pyproject"]

_TOOL_KEYS = (
    "as-of", "channels", "conda", "extra-index-urls", "index-url", "platforms", "pypi",
    "python", "system-requirements",
)  # fmt: skip


def _toml_load(path: Path) -> tuple[str, dict[str, object]]:
    """The text and data of a TOML file; ``SpecError`` with file:line when malformed."""
    text = read_input(path, lambda message: SpecError(message, path))
    try:
        return text, tomllib.loads(text)
    except RecursionError:  # tomllib recurses once per level of nested arrays or tables
        raise SpecError("malformed TOML: arrays or tables nested too deeply", path) from None
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        where = re.search(r"\s*\(at line (\d+), column \d+\)$", message)
        line = int(where.group(1)) if where else None
        message = message[: where.start()] if where else message
        raise SpecError(f"malformed TOML: {shorten(message)}", path, line) from None


def _key_line(text: str, key: str, table: str) -> int | None:
    """Where ``key`` is set under ``[table]`` (a cheap text search, for error messages)."""

    def dotted(name: str) -> str:
        return r"\s*\.\s*".join(re.escape(part) for part in name.split("."))

    k = re.escape(key)
    quoted = rf"(?:{k}|\"{k}\"|'{k}')"
    header = re.compile(rf"^\s*\[\s*{dotted(table)}\s*\]") if table else None
    prefix = dotted(table) + r"\s*\.\s*" if table else ""
    subtable = re.compile(rf"^\s*\[\[?\s*{prefix}{quoted}\s*\]")
    assignment = re.compile(rf"^\s*{quoted}\s*[=.]")
    inside = header is None
    for number, line in enumerate(text.splitlines(), start=1):
        if subtable.match(line) or (inside and assignment.match(line)):
            return number
        if line.lstrip().startswith("["):
            inside = bool(header and header.match(line))
    return None


def _entry_line(text: str, entry: str) -> int | None:
    """The line of the first string literal holding ``entry`` (for error messages)."""
    for quote in ('"', "'"):
        at = text.find(f"{quote}{entry}{quote}")
        if at >= 0:
            return text.count("\n", 0, at) + 1
    return None


def read_pyproject(
    path: Path, python: str | None = None, channel_config: CondaConfig | None = None
) -> Spec:
    """``[project].dependencies`` plus Amber's own ``[tool.amber]`` table; its channels
    resolved with ``channel_config`` (default: conda's built-in settings)."""
    text, data = _toml_load(path)

    def table(value: object, where: str) -> dict[str, object]:
        if not isinstance(value, dict):
            raise SpecError(f"'{where}' must be a table", path, _key_line(text, where, ""))
        return value

    def strings(value: object, key: str, where: str) -> list[str]:
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise SpecError(
                f"'{key}' in [{where}] must be a list of strings", path, _key_line(text, key, where)
            )
        if len(value) > MAX_ENTRIES:
            raise SpecError(
                f"'{key}' in [{where}] lists {len(value):,} entries: at most {MAX_ENTRIES:,}",
                path,
                _key_line(text, key, where),
            )
        return value

    def string(value: object, key: str) -> str:
        if not isinstance(value, str):
            raise SpecError(
                f"'{key}' in [tool.amber] must be a string "
                f'(quote it: {key} = "{shorten(value, 40)}")',
                path,
                _key_line(text, key, "tool.amber"),
            )
        return value

    project = table(data.get("project", {}), "project")
    tool = table(table(data.get("tool", {}), "tool").get("amber", {}), "tool.amber")
    for key in tool:
        if key not in _TOOL_KEYS:
            raise SpecError(
                f"unknown key {shorten(key)!r} in [tool.amber] "
                f"(expected one of: {', '.join(_TOOL_KEYS)})",
                path,
                _key_line(text, key, "tool.amber"),
            )
    dynamic = strings(project.get("dynamic", []), "dynamic", "project")
    tools = table(data.get("tool", {}), "tool")
    other = None if "dependencies" in project else _other_tool(tools, path, text)
    if other is not None:
        project = {**project, "dependencies": list(other.pypi)}
        dynamic = [d for d in dynamic if d != "dependencies"]
        project.setdefault("requires-python", other.python)
    elif not project and "amber" not in tools and not _others_read(tools):
        raise SpecError(
            "no dependencies: expected [project].dependencies, [tool.poetry.dependencies], "
            "[tool.flit.metadata].requires or [tool.amber] (tables here: "
            f"{', '.join(sorted(data)) or 'none'})",
            path,
        )
    if "dependencies" in dynamic and "pypi" not in tool:
        raise SpecError(
            "[project].dependencies is dynamic, so Amber cannot read it: "
            "list the requirements in [tool.amber].pypi",
            path,
            _key_line(text, "dynamic", "project"),
        )

    pypi = [
        *strings(project.get("dependencies", []), "dependencies", "project"),
        *strings(tool.get("pypi", []), "pypi", "tool.amber"),
    ]
    for requirement in pypi:
        try:
            canonical_pypi_requirement(requirement)
        except SpecError as exc:
            raise SpecError(str(exc), path, _entry_line(text, requirement)) from None
    conda = strings(tool.get("conda", []), "conda", "tool.amber")
    for match_spec in conda:
        try:
            canonical_conda_spec(match_spec)
        except SpecError as exc:
            raise SpecError(str(exc), path, _entry_line(text, match_spec)) from None

    if python is None and "python" in tool:
        python = string(tool["python"], "python")
    if python is None:
        python = _exact_python(project.get("requires-python"))
    system = tool.get("system-requirements", {})
    if not isinstance(system, dict):
        raise SpecError(
            "'system-requirements' in [tool.amber] must be a table",
            path,
            _key_line(text, "system-requirements", "tool.amber"),
        )
    index_url = tool.get("index-url")
    uv_default, uv_extra = _uv_indexes(table(tools.get("uv", {}), "tool.uv"), path, text)
    if other is not None:
        uv_default = uv_default or other.index_url
        uv_extra = [*uv_extra, *other.extra_index_urls]
    name = project.get("name")
    return from_file(
        path,
        name if isinstance(name, str) else None,
        conda=conda,
        pypi=pypi,
        channels=[
            checked_channel(c, path.parent)
            for c in strings(tool.get("channels", []), "channels", "tool.amber")
        ],
        python=python,
        platforms=strings(tool.get("platforms", []), "platforms", "tool.amber"),
        system_requirements=system,
        as_of=tool.get("as-of"),
        index_url=uv_default if index_url is None else string(index_url, "index-url"),
        extra_index_urls=[
            *strings(tool.get("extra-index-urls", []), "extra-index-urls", "tool.amber"),
            *uv_extra,
        ],
        files=[path.resolve()],
        channel_config=channel_config,
    )


def _others_read(tools: dict[str, object]) -> bool:
    """Tables other readers of pyproject.toml take (conda-lock's, pixi's): not an error here."""
    return "conda-lock" in tools or "pixi" in tools


def _other_tool(tools: dict[str, object], path: Path, text: str) -> Dependencies | None:
    """The dependencies of Poetry's or old flit's table, in a file without
    ``[project].dependencies``; None when it has neither (or conda-lock reads it: its own
    reader decides what Poetry's dependencies mean there)."""
    if "conda-lock" in tools:
        return None

    def line_of(key: str, where: str) -> int | None:
        return _key_line(text, key, where)

    poetry = tools.get("poetry")
    if isinstance(poetry, dict) and any(
        k in poetry for k in ("dependencies", "group", "dev-dependencies")
    ):
        return poetry_dependencies(poetry, path, line_of)
    flit = tools.get("flit")
    metadata = flit.get("metadata") if isinstance(flit, dict) else None
    if isinstance(metadata, dict):
        return flit_dependencies(metadata, path, line_of("metadata", "tool.flit"))
    return None


def _uv_indexes(uv: dict[str, object], path: Path, text: str) -> tuple[str | None, list[str]]:
    """(default index, other indexes) of ``[tool.uv]`` as uv reads them: ``[[tool.uv.index]]``
    (``default = true`` marks the default, the others come before ``extra-index-url``),
    ``index-url`` and ``extra-index-url``. An ``explicit`` index serves only the packages
    ``[tool.uv.sources]`` pins to it, which Amber cannot express: refused by name."""

    def bad(message: str, key: str) -> SpecError:
        return SpecError(f"[tool.uv] {message}", path, _key_line(text, key, "tool.uv"))

    default: str | None = None
    extra: list[str] = []
    indexes = uv.get("index", [])
    if not isinstance(indexes, list) or not all(isinstance(i, dict) for i in indexes):
        raise bad("'index' must be an array of tables ([[tool.uv.index]])", "index")
    for entry in indexes:
        url, label = entry.get("url"), entry.get("name", entry.get("url"))
        if not isinstance(url, str) or "://" not in url:
            raise bad(f"index {shorten(label)!r} needs a url", "index")
        if entry.get("explicit"):
            raise bad(
                f"index {shorten(label)!r} is explicit: it serves only the packages "
                "[tool.uv.sources] pins to it, and Amber has no per-package index (drop "
                "`explicit` to search it for every package, or pin those packages by URL)",
                "index",
            )
        if entry.get("default") and default is None:
            default = url
        else:
            extra.append(url)
    index_url = uv.get("index-url")
    if index_url is not None and not isinstance(index_url, str):
        raise bad("'index-url' must be a string", "index-url")
    more = uv.get("extra-index-url", [])
    if not isinstance(more, list) or not all(isinstance(u, str) for u in more):
        raise bad("'extra-index-url' must be a list of strings", "extra-index-url")
    return default or index_url, [*extra, *more]


def _exact_python(requires: object) -> str | None:
    """``requires-python`` is a range the project supports, not a pin: only ``==X.Y`` counts."""
    match = re.fullmatch(r"\s*==\s*(\d+\.\d+(?:\.\d+)?)(?:\.\*)?\s*", str(requires or ""))
    return match.group(1) if match else None
