"""A pyproject.toml without ``[project]``: Poetry's ``[tool.poetry]`` and flit's old
``[tool.flit.metadata]`` dependencies, read as their own tools read them.

Poetry's constraints (``^2.13``, ``~5.1``, ``1.2.*``, tables with ``python``/``markers``/
``extras``/``git``/``url``) become PEP 508 requirements through poetry-core, Poetry's own
parser. What ``poetry install`` installs is taken: the main dependencies and every group
that is not ``optional`` (the old ``dev-dependencies`` too); optional dependencies only come
with an extra, as in Poetry. A dependency Amber cannot lock (a local ``path``, a
``source`` index of its own) is refused by name.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from poetry.core.factory import Factory

from amber._input import shorten
from amber.errors import SpecError

__all__ = ["Dependencies", "poetry_dependencies", "flit_dependencies"]

# Keys of a Poetry dependency table that point at something other than an index release.
_LOCAL = ("path", "develop")


@dataclass(frozen=True)
class Dependencies:
    """What a build tool's table asks for: PEP 508 requirements and the Python range."""

    pypi: tuple[str, ...]
    python: str | None  # the Python constraint as PEP 440 (">=3.10,<4.0"), if any
    index_url: str | None = None
    extra_index_urls: tuple[str, ...] = ()


def poetry_dependencies(
    poetry: Mapping[str, object], path: Path, line_of: Callable[[str, str], int | None]
) -> Dependencies:
    """``[tool.poetry]``: its dependencies and non-optional groups as Poetry installs them;
    ``line_of(key, table)`` finds a key's line for messages."""

    def bad(message: str, key: str, table: str) -> SpecError:
        return SpecError(message, path, line_of(key, table))

    tables: list[tuple[str, object]] = [("tool.poetry.dependencies", poetry.get("dependencies"))]
    tables.append(("tool.poetry.dev-dependencies", poetry.get("dev-dependencies")))
    groups = poetry.get("group", {})
    if not isinstance(groups, dict):
        raise bad("'group' in [tool.poetry] must be a table", "group", "tool.poetry")
    for name, group in sorted(groups.items()):
        if not isinstance(group, dict):
            raise bad(f"[tool.poetry.group.{name}] must be a table", name, "tool.poetry.group")
        if not group.get("optional", False):
            tables.append((f"tool.poetry.group.{name}.dependencies", group.get("dependencies")))
    index_url, extra, explicit = _sources(poetry, path, line_of)

    pypi: list[str] = []
    python = None
    for table, deps in tables:
        if deps is None:
            continue
        if not isinstance(deps, dict):
            raise bad(f"[{table}] must be a table", table.rsplit(".", 1)[-1], "")
        for name, constraint in deps.items():
            where = f"[{table}] {name}"
            if name == "python":
                python = _python(constraint, where, path, line_of(name, table))
                continue
            line = line_of(name, table)

            def fail(message: str, line: int | None = line) -> SpecError:
                return SpecError(message, path, line)

            for one in constraint if isinstance(constraint, list) else [constraint]:
                requirement = _requirement(name, one, where, explicit, fail)
                if requirement is not None:
                    pypi.append(requirement)
    return Dependencies(tuple(pypi), python, index_url, tuple(extra))


def _requirement(
    name: str,
    constraint: object,
    where: str,
    explicit: set[str],
    fail: Callable[[str], SpecError],
) -> str | None:
    """One Poetry dependency as PEP 508 (None: optional, installed only with an extra)."""
    if isinstance(constraint, dict):
        local = [key for key in _LOCAL if key in constraint]
        if local:
            raise fail(
                f"{where} is the local {local[0]} {shorten(constraint[local[0]])!r}: Amber locks "
                "files by their sha256, and a source tree has none (publish it to an index, "
                "or depend on it by git commit)"
            )
        git = constraint.get("git")
        refs = [k for k in ("rev", "tag", "branch") if k in constraint]
        if isinstance(git, str) and not refs and "@" in git.split("://", 1)[-1].split("/", 1)[-1]:
            # poetry-core drops a ref written into the URL and clones the default branch.
            raise fail(
                f"{where}: the git URL {shorten(git)!r} carries a ref after '@', which Poetry "
                "ignores (it takes the default branch): write it as rev/tag/branch = ..."
            )
        source = constraint.get("source")
        if source is not None and str(source).lower() != "pypi":
            raise fail(
                f"{where} comes from the Poetry source {shorten(source)!r} alone, and Amber "
                "has no per-package index (make the source primary or supplemental instead)"
                if str(source) in explicit
                else f"{where} names the source {shorten(source)!r}, which [[tool.poetry.source]] "
                "does not define"
            )
        if constraint.get("optional", False):
            return None
    elif not isinstance(constraint, str):
        raise fail(f"{where}: expected a version string or a table, not {shorten(constraint)!r}")
    try:
        return Factory.create_dependency(name, constraint).to_pep_508()
    except Exception as exc:  # noqa: BLE001 - poetry-core raises several kinds for bad input
        raise fail(f"{where}: Poetry cannot read {shorten(constraint)!r}: {shorten(exc)}") from None


def _python(constraint: object, where: str, path: Path, line: int | None) -> str:
    if not isinstance(constraint, str):
        raise SpecError(f"{where} must be a version string", path, line)
    try:
        text = str(Factory.create_dependency("python", constraint).constraint)
    except Exception as exc:  # noqa: BLE001 - as above
        raise SpecError(
            f"{where}: Poetry cannot read {constraint!r}: {shorten(exc)}", path, line
        ) from None
    return f"=={text}" if text[:1].isdigit() else text  # Poetry's bare "3.11" is ==3.11


def _sources(
    poetry: Mapping[str, object], path: Path, line_of: Callable[[str, str], int | None]
) -> tuple[str | None, list[str], set[str]]:
    """(default index, other indexes, explicit sources) of ``[[tool.poetry.source]]``: a
    ``primary`` source (the old ``default``) replaces PyPI as Poetry does, ``supplemental``
    and further primary ones are searched too, ``explicit`` ones serve only the packages
    that name them."""
    sources = poetry.get("source", [])
    if not isinstance(sources, list) or not all(isinstance(s, dict) for s in sources):
        raise SpecError(
            "'source' in [tool.poetry] must be an array of tables ([[tool.poetry.source]])",
            path,
            line_of("source", "tool.poetry"),
        )
    index_url = None
    extra: list[str] = []
    explicit: set[str] = set()
    for source in sources:
        name, url = str(source.get("name", "")), source.get("url")
        priority = str(source.get("priority", "default" if source.get("default") else "primary"))
        if priority == "explicit":
            explicit.add(name)
            continue
        if not isinstance(url, str) or "://" not in url:
            raise SpecError(
                f"[[tool.poetry.source]] {shorten(name)!r} needs a url",
                path,
                line_of("source", "tool.poetry"),
            )
        if priority in ("default", "primary") and index_url is None:
            index_url = url
        else:
            extra.append(url)
    return index_url, extra, explicit


def flit_dependencies(metadata: Mapping[str, object], path: Path, line: int | None) -> Dependencies:
    """flit's old ``[tool.flit.metadata]``: ``requires`` (``requires-extra`` only with an
    extra, as pip installs it)."""
    requires = metadata.get("requires", [])
    if not isinstance(requires, list) or not all(isinstance(r, str) for r in requires):
        raise SpecError("'requires' in [tool.flit.metadata] must be a list of strings", path, line)
    python = metadata.get("requires-python")
    return Dependencies(tuple(requires), python if isinstance(python, str) else None)
