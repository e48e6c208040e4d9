"""User intent: what an environment should contain, and its ``req_id``.

The ``Spec`` value lives in ``spec.model``; each file kind has its reader
(``spec.requirements``, ``spec.environment_yml``, ``spec.pyproject``) and
``read_spec`` picks one by the file's name. ``spec.edit`` edits those files.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from amber._input import regular_stat
from amber._platform import host_platform
from amber.channels import CondaConfig
from amber.errors import SpecError
from amber.settings import conda_overrides, uv_indexes
from amber.spec.model import (
    PLATFORMS,
    PYPI_DEFAULT_INDEX,
    SCHEMA,
    SYSTEM_REQUIREMENTS,
    Spec,
    canonical_conda_spec,
    canonical_pypi_requirement,
)

__all__ = [
    "Spec",
    "read_spec",
    "host_platform",
    "canonical_conda_spec",
    "canonical_pypi_requirement",
    "is_spec_file",
    "SCHEMA",
    "PLATFORMS",
    "PYPI_DEFAULT_INDEX",
    "SYSTEM_REQUIREMENTS",
]


def is_spec_file(path: Path) -> bool:
    """True for the file kinds ``read_spec`` understands (lock files are not specs)."""
    return _kind(path) in ("environment", "requirements", "pyproject")


def _is_pixi(path: Path) -> bool:
    """pixi.toml, or a pyproject.toml with a ``[tool.pixi]`` table (a cheap look first)."""
    return path.name.lower() == "pixi.toml" or _has_tool_table(path, rb"pixi\b")


def _has_tool_table(path: Path, name: bytes) -> bool:
    """Whether a TOML file has a ``[tool.NAME...]`` table (a cheap look at the text)."""
    try:
        with open(path, "rb") as f:
            head = f.read(1 << 20)
    except OSError:
        return False  # the reader says why
    pattern = rb'^\s*\[\s*tool\s*\.\s*["\']?' + name
    return re.search(pattern, head, re.MULTILINE) is not None


def _kind(path: Path) -> str:
    name = path.name.lower()
    if name.endswith((".yml", ".yaml")):
        return "environment"
    if name.endswith((".txt", ".in")) or name.startswith("requirements"):
        return "requirements"
    if name.endswith(".lock"):
        return "lock"
    if name.endswith(".toml"):
        return "pyproject"
    return "unknown"


def _from_environ(spec: Spec) -> Spec:
    """What the environment adds to a spec file, recorded in it (so in its ``req_id``):
    conda's ``CONDA_OVERRIDE_*`` and uv's index variables (``UV_DEFAULT_INDEX``...)."""
    return spec.with_overrides(conda_overrides()).with_default_indexes(*uv_indexes())


def read_spec(
    path: Path | str,
    *,
    python: str | None = None,
    channel_config: CondaConfig | None = None,
    environment: str | None = None,
) -> Spec:
    """Read environment.yml, requirements.txt, pyproject.toml or pixi.toml into a ``Spec``;
    ``SpecError`` on bad input. Channels are resolved with ``channel_config`` (the session's
    ``conda`` settings; default: conda's built-in ones); ``environment`` is the one of a pixi
    manifest (default: ``default``)."""
    path = Path(path)
    if not os.path.isfile(path):
        if os.path.lexists(path):  # a FIFO, a device, a directory, a dangling link or a loop
            regular_stat(path, lambda message: SpecError(message, path))
        raise SpecError("no such file", path)
    # A reader (yaml, tomllib, packaging's parsers) loads with the first file of its kind:
    # `amber.lock` needs `Spec` but none of them, and most commands read no spec file.
    kind = _kind(path)
    if kind == "pyproject" and _is_pixi(path):
        from amber.spec.pixi import read_pixi  # noqa: PLC0415 - above

        spec = read_pixi(path, python, channel_config, environment)
        return spec.with_overrides(conda_overrides())
    if environment is not None:
        raise SpecError(
            "--environment chooses an environment of a pixi.lock or a pixi manifest "
            "(pixi.toml, [tool.pixi] in pyproject.toml); this file has one",
            path,
        )
    if kind == "environment":
        from amber.spec.environment_yml import read_environment_yml  # noqa: PLC0415 - above

        return _from_environ(
            read_environment_yml(path, python=python, channel_config=channel_config)
        )
    if kind == "requirements":
        from amber.spec.requirements import read_requirements  # noqa: PLC0415 - above

        return _from_environ(read_requirements(path, python=python))
    if kind == "pyproject" and _has_tool_table(path, rb"conda-lock[\"'\s.\]]"):
        from amber.spec.conda_lock import read_conda_lock_pyproject  # noqa: PLC0415 - above

        return _from_environ(read_conda_lock_pyproject(path, python, channel_config))
    if kind == "pyproject":
        from amber.spec.pyproject import read_pyproject  # noqa: PLC0415 - above

        return _from_environ(read_pyproject(path, python, channel_config))
    raise SpecError(
        "unknown spec format: expected environment.yml (.yml/.yaml), "
        "requirements.txt (.txt), pyproject.toml or an amber lock (.lock)",
        path,
    )
