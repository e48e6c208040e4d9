"""``[tool.conda-lock]`` in a pyproject.toml as a ``Spec``, read as conda-lock reads it
(``conda_lock/src_parser/pyproject_toml.py``).

The project's own dependencies come from ``[project]`` (PEP 621, plus PDM's
``[tool.pdm.dev-dependencies]``), else Poetry's or flit's table (by the build backend, as
conda-lock chooses), unless ``skip-non-conda-lock``. Each one is a conda package named by
its PyPI name (conda-lock's ``default-non-conda-source = "conda"``), or a PyPI requirement
with ``default-non-conda-source = "pip"``, ``source = "pypi"`` (in Poetry's table or in
``[tool.conda-lock.dependencies]``) or a git/URL dependency. ``[tool.conda-lock.dependencies]``
entries are conda match specs; ``channels`` (``nodefaults`` dropped: conda-lock overrides
the channels), ``platforms`` and ``pip-repositories`` are taken as they are.

Categories: ``main``, ``dev`` (``dev-dependencies``, the ``dev``/``test`` extras, PDM's dev
groups), then one per extra or Poetry group. ``conda-lock install`` installs main and dev:
so does Amber; the others are named in a warning.

conda-lock renames PyPI names to conda ones through grayskull's mapping, downloaded from
GitHub; Amber downloads nothing while reading a spec and takes the canonical PyPI name (what
conda-lock takes for a name its mapping lacks): a name that differs on the channel is the
solver's error, naming it; write the conda name in ``[tool.conda-lock.dependencies]``.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from amber._input import shorten
from amber.channels import CondaConfig
from amber.errors import SpecError, SpecWarning
from amber.spec.model import Spec, canonical_conda_spec, canonical_pypi_requirement, from_file
from amber.spec.poetry import flit_dependencies, poetry_dependencies
from amber.spec.pyproject import _entry_line, _key_line, _toml_load

__all__ = ["read_conda_lock_pyproject", "INSTALLED"]

INSTALLED = ("main", "dev")  # the categories `conda-lock install` installs by default
_DEV_EXTRAS = ("dev", "test")  # PEP 621 / flit extras conda-lock files under `dev`
_KEYS = (
    "allow-pypi-requests", "channels", "default-non-conda-source", "dependencies",
    "pip-repositories", "platforms", "skip-non-conda-lock",
)  # fmt: skip


@dataclass(frozen=True)
class _Dependency:
    """One dependency of the project: a PEP 508 requirement, its category, where it is."""

    requirement: str
    category: str
    line: int | None
    pypi: bool = False  # sent to PyPI by its own table (source = "pypi", git, url)


def read_conda_lock_pyproject(
    path: Path, python: str | None = None, channel_config: CondaConfig | None = None
) -> Spec:
    """The spec conda-lock reads from ``path`` (categories main and dev)."""
    text, data = _toml_load(path)
    try:
        return _read(path, text, data, python, channel_config)
    except (AttributeError, TypeError, KeyError) as exc:  # a table of the wrong type
        raise SpecError(
            f"[tool.conda-lock]: a table or value of an unexpected type ({shorten(exc)})", path
        ) from None


def _read(
    path: Path,
    text: str,
    data: dict[str, Any],
    python: str | None,
    channel_config: CondaConfig | None,
) -> Spec:
    tool: dict[str, Any] = data.get("tool") or {}
    own: dict[str, Any] = tool["conda-lock"]

    def fail(message: str, key: str, table: str = "tool.conda-lock") -> SpecError:
        return SpecError(message, path, _key_line(text, key, table) or _entry_line(text, key))

    for key in own:
        if key not in _KEYS:
            warnings.warn(
                SpecWarning(
                    f"[tool.conda-lock] {key!r} is not a key conda-lock reads here: ignored",
                    path,
                    _key_line(text, key, "tool.conda-lock"),
                ),
                stacklevel=3,
            )
    source = own.get("default-non-conda-source", "conda")
    if source not in ("conda", "pip"):
        raise fail(
            f'default-non-conda-source = {shorten(source)!r}: conda-lock takes "conda" or "pip"',
            "default-non-conda-source",
        )
    project = [] if own.get("skip-non-conda-lock") else _project(path, text, data, fail)
    conda: list[str] = []
    pypi: list[str] = []
    force_pypi: set[str] = set()
    for name, value in (own.get("dependencies") or {}).items():
        if isinstance(value, str):
            conda.append(_checked_conda(f"{name} {value}".strip(), path, text, name))
        elif isinstance(value, Mapping) and value.get("source") == "pypi":
            force_pypi.add(str(canonicalize_name(name.split("::")[-1])))
        else:
            raise fail(
                f"[tool.conda-lock.dependencies] {name} = {shorten(value)!r}: conda-lock takes "
                'a version string (a conda match spec) or { source = "pypi" }',
                name,
                "tool.conda-lock.dependencies",
            )
    left_out: dict[str, list[str]] = {}
    for dep in project:
        requirement = Requirement(dep.requirement)
        name = str(canonicalize_name(requirement.name))
        if dep.category not in INSTALLED:
            left_out.setdefault(dep.category, []).append(name)
            continue
        if dep.pypi or source == "pip" or name in force_pypi:
            if name == "python":
                conda.append(_conda_of(requirement, dep, path))
            else:
                pypi.append(_checked_pypi(dep, path))
        else:
            conda.append(_conda_of(requirement, dep, path))
    if left_out:
        listed = "; ".join(f"{c}: {', '.join(sorted(n))}" for c, n in sorted(left_out.items()))
        warnings.warn(
            SpecWarning(
                f"categories other than {' and '.join(INSTALLED)} are left out, as "
                f"`conda-lock install` leaves them out ({listed})",
                path,
            ),
            stacklevel=3,
        )
    if python is not None:  # --python wins over the file's python dependency
        conda = [c for c in conda if c.split()[0].split("::")[-1] != "python"]
    index_url, extra = _indexes(own, pypi, fail)
    channels = [
        c for c in _strings(own.get("channels") or [], "channels", fail) if c != "nodefaults"
    ]
    name = (data.get("project") or {}).get("name") or (tool.get("poetry") or {}).get("name")
    return from_file(
        path,
        name if isinstance(name, str) else None,
        conda=conda,
        pypi=pypi,
        channels=channels,
        python=python,
        platforms=_strings(own.get("platforms") or [], "platforms", fail),
        index_url=index_url,
        extra_index_urls=extra,
        files=[path.resolve()],
        channel_config=channel_config,
    )


def _strings(value: object, key: str, fail: Callable[..., SpecError]) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise fail(f"'{key}' in [tool.conda-lock] must be a list of strings", key)
    return value


def _indexes(
    own: Mapping[str, Any], pypi: list[str], fail: Callable[..., SpecError]
) -> tuple[str | None, list[str]]:
    """conda-lock's ``pip-repositories`` are searched besides PyPI; with
    ``allow-pypi-requests = false``, instead of it."""
    repositories = _strings(own.get("pip-repositories") or [], "pip-repositories", fail)
    if own.get("allow-pypi-requests", True) is not False:
        return None, repositories
    if not repositories:
        if pypi:
            names = ", ".join(sorted(str(canonicalize_name(Requirement(r).name)) for r in pypi))
            raise fail(
                f"allow-pypi-requests = false and no pip-repositories, yet PyPI packages are "
                f"asked for ({names}): conda-lock would find them nowhere",
                "allow-pypi-requests",
            )
        return None, []
    return repositories[0], repositories[1:]


def _checked_conda(spec: str, path: Path, text: str, key: str) -> str:
    try:
        return canonical_conda_spec(spec)
    except SpecError as exc:
        raise SpecError(
            f"[tool.conda-lock.dependencies] {exc}",
            path,
            _key_line(text, key, "tool.conda-lock.dependencies"),
        ) from None


def _checked_pypi(dep: _Dependency, path: Path) -> str:
    try:
        return canonical_pypi_requirement(dep.requirement)
    except SpecError as exc:
        raise SpecError(str(exc), path, dep.line) from None


def _conda_of(requirement: Requirement, dep: _Dependency, path: Path) -> str:
    """A project dependency as conda-lock's conda dependency: the canonical PyPI name and
    the version range (conda reads PEP 440's operators; ``===`` is ``==``)."""
    name = str(canonicalize_name(requirement.name))
    where = f"{dep.requirement!r} ({dep.category})"
    if requirement.marker is not None:
        raise SpecError(
            f"{where} has the environment marker '{requirement.marker}': conda-lock evaluates "
            "it per platform, and Amber's conda packages are the same for every platform (send "
            'it to PyPI with { source = "pypi" } in [tool.conda-lock.dependencies], or drop '
            "the marker)",
            path,
            dep.line,
        )
    if requirement.url:
        raise SpecError(
            f"{where} is a direct reference ({shorten(requirement.url)}), which is no conda "
            'package: send it to PyPI with { source = "pypi" } in [tool.conda-lock.dependencies]',
            path,
            dep.line,
        )
    version = ",".join(sorted(str(s).replace("===", "==") for s in requirement.specifier))
    try:
        return canonical_conda_spec(f"{name} {version}".strip())
    except SpecError as exc:
        raise SpecError(f"{where} as a conda package: {exc}", path, dep.line) from None


def _project(
    path: Path, text: str, data: dict[str, Any], fail: Callable[..., SpecError]
) -> list[_Dependency]:
    """The project's dependencies with their conda-lock categories, from the table
    conda-lock picks: ``[project]`` (and PDM's), else Poetry's or flit's by build backend."""
    project = data.get("project") or {}
    tool = data.get("tool") or {}
    if "dependencies" in (project.get("dynamic") or []):
        raise SpecError(
            "[project].dependencies is dynamic: conda-lock ignores it (with a warning) and "
            "Amber cannot read it: list them in [tool.conda-lock.dependencies], or set "
            "skip-non-conda-lock = true",
            path,
            _key_line(text, "dynamic", "project"),
        )
    if "dependencies" in project:
        out = _pep621(project, "project", "dependencies", "optional-dependencies", path, text)
        pdm = (tool.get("pdm") or {}).get("dev-dependencies") or {}
        for group, requirements in pdm.items():
            line = _key_line(text, group, "tool.pdm.dev-dependencies")
            out += [_Dependency(r, "dev", _entry_line(text, r) or line) for r in requirements]
        return out
    backend = str((data.get("build-system") or {}).get("build-backend") or "")
    flit = (tool.get("flit") or {}).get("metadata")
    if backend.startswith("flit") or ("poetry" not in tool and isinstance(flit, dict)):
        if not isinstance(flit, dict):
            return []
        flit_dependencies(flit, path, _key_line(text, "metadata", "tool.flit"))  # its checks
        return _pep621(flit, "tool.flit.metadata", "requires", "requires-extra", path, text)
    poetry = tool.get("poetry")
    return _poetry(poetry, path, text) if isinstance(poetry, dict) else []


def _pep621(
    table: Mapping[str, Any], where: str, main: str, optional: str, path: Path, text: str
) -> list[_Dependency]:
    sections = [(main, table.get(main) or [], "main")]
    for extra, requirements in (table.get(optional) or {}).items():
        sections.append((extra, requirements, "dev" if extra in _DEV_EXTRAS else extra))
    out = []
    for key, requirements, category in sections:
        if not isinstance(requirements, list) or not all(isinstance(r, str) for r in requirements):
            raise SpecError(
                f"'{key}' in [{where}] must be a list of strings", path, _key_line(text, key, where)
            )
        for requirement in requirements:
            line = _entry_line(text, requirement)
            try:
                Requirement(requirement)
            except InvalidRequirement as exc:
                raise SpecError(
                    f"invalid requirement {shorten(requirement)!r}: {shorten(exc)}", path, line
                ) from None
            out.append(_Dependency(requirement, category, line))
    return out


def _lines_in(text: str, table: str) -> Callable[[str, str], int | None]:
    """``line_of`` for Poetry's reader, given one entry of ``table`` at a time."""

    def line_of(key: str, _table: str) -> int | None:
        return _key_line(text, key, table)

    return line_of


def _poetry(poetry: Mapping[str, Any], path: Path, text: str) -> list[_Dependency]:
    """Poetry's tables as conda-lock files them: ``dependencies`` main (an entry in
    ``[tool.poetry.extras]`` goes to that extra's category, ``optional`` or not),
    ``dev-dependencies`` dev, each group its own category. Each entry is read by
    Amber's Poetry reader (poetry-core's parser)."""
    extras = {
        str(dep): str(extra)
        for extra, deps in (poetry.get("extras") or {}).items()
        for dep in deps or []
    }
    sections = [("tool.poetry.dependencies", poetry.get("dependencies") or {}, "main")]
    sections.append(("tool.poetry.dev-dependencies", poetry.get("dev-dependencies") or {}, "dev"))
    for group, body in (poetry.get("group") or {}).items():
        table = f"tool.poetry.group.{group}.dependencies"
        sections.append((table, (body or {}).get("dependencies") or {}, str(group)))
    out = []
    for table, deps, default in sections:
        for name, constraint in deps.items():
            line = _key_line(text, name, table)
            category = extras.get(name, default) if default == "main" else default
            single = (
                {k: v for k, v in constraint.items() if k != "optional"}
                if isinstance(constraint, Mapping)
                else constraint
            )
            read = poetry_dependencies(
                {"dependencies": {name: single}, "source": poetry.get("source", [])},
                path,
                _lines_in(text, table),
            )
            if name == "python":
                if read.python:
                    out.append(_Dependency(f"python {read.python}", category, line))
                continue
            # conda-lock sends git, path and URL dependencies, and `source = "pypi"`, to pip.
            pypi = isinstance(constraint, Mapping) and (
                constraint.get("source") == "pypi"
                or any(k in constraint for k in ("git", "url", "path"))
            )
            out += [_Dependency(r, category, line, pypi=bool(pypi)) for r in read.pypi]
    return out
